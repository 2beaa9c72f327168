"""``make demo``: the main job end to end on a real project nobody on the team wrote.

1. fetches tabulate 0.9.0 from PyPI as a source distribution (cached, checksum-pinned)
   and makes it a git repository (``demo/project.py``);
2. starts Overmind for it: ``overmind start``, a headless Jupyter server with the
   extension (``demo/quickstart.py``);
3. executes ``notebooks/quickstart.ipynb`` headless (nbclient): a party hosted by alice,
   bob joining, two prompts, the story → scope → plan → parallel agents in worktrees →
   merge queue whose verification gate runs tabulate's own test suite;
4. prints a summary (``demo/summary.py``), writes the executed notebook (with its widget
   snapshots) to ``<work>/quickstart.ipynb``, runs ``overmind shutdown`` and checks that
   no process and no worktree is left behind.

With no API key the scripted model of ``demo/scenario.py`` answers, and the output says
so; with ``OVERMIND_MODEL``, ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` or
``GEMINI_API_KEY`` set, that real model does; with ``--model local`` the real local model
(``make local-model``: Qwen2.5-Coder 1.5B under llama-server on 127.0.0.1, started here
and stopped at the end) does. Exit status 0 when the objective is done with every change
merged and nothing is left behind, else 1.

Usage: ``python -m demo.main [--workdir DIR] [--model local]`` (default work directory
``~/.cache/overmind-demo/run``, outside any other project whose test configuration could
apply; a previous run's project there is shut down and replaced).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from overmind_jupyter import runtime_files
from overmind_jupyter.agents import adapters
from overmind_jupyter.client import Client
from overmind_jupyter.localmodel import install as local_install
from overmind_jupyter.localmodel.serve import LocalServer

from . import project, quickstart, summary

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE.parent / "notebooks" / "quickstart.ipynb"
CELL_TIMEOUT_S = 600
LOCAL_CELL_TIMEOUT_S = 2_400  # a 1.5B model on 2 cores: minutes per role, not seconds
IMPORT_SUBJECT = f"{project.TABULATE.name} {project.TABULATE.version} from its PyPI"
T = TypeVar("T")


def step(timings: dict[str, float], name: str, title: str, body: Callable[[], T]) -> T:
    """Print ``title``, run ``body``, record its wall time (s) under ``name``."""
    print(f"\n== {title}", flush=True)
    began = time.monotonic()
    try:
        return body()
    finally:
        timings[name] = time.monotonic() - began


def fresh(work: Path) -> None:
    """Remove what a previous run left in ``work``: its server, project and outputs.

    Raises:
        project.DemoError: ``<work>/tabulate`` exists but is not the demo's repository.
    """
    repo = work / project.TABULATE.name
    if repo.exists():
        first = project.git(repo, "log", "--format=%s", "--max-parents=0", "HEAD") \
            if (repo / ".git").is_dir() else ""
        if not first.startswith(IMPORT_SUBJECT):
            raise project.DemoError(f"{repo} is not a repository the demo made; move it "
                                    "away or pass another --workdir")
        quickstart.overmind(repo, "shutdown")
        shutil.rmtree(repo)
    shutil.rmtree(work / quickstart.SCRIPTS_DIR, ignore_errors=True)
    (work / NOTEBOOK.name).unlink(missing_ok=True)


def kernel_env(label: str) -> dict[str, str]:
    """The notebook kernel's environment: no provider keys (they stay with the server)
    and no server address (the notebook finds the project's)."""
    drop = (*adapters.PROVIDER_KEYS, *quickstart.SERVER_VARS)
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, quickstart.LABEL_ENV: label}


def run_notebook(work: Path, label: str, timeout_s: float = CELL_TIMEOUT_S) -> Path:
    """Execute the quickstart notebook with ``work`` as the kernel's directory; write the
    executed notebook (widget state included) to ``<work>/quickstart.ipynb``.

    Raises:
        CellExecutionError: a cell failed (the notebook is written anyway).
    """
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}},
                            store_widget_state=True,
                            # a local kernel on 127.0.0.1: its TCP warning is noise here
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    out = work / NOTEBOOK.name
    try:
        client.execute(env=kernel_env(label))
    finally:
        nbformat.write(nb, out)
    return out


async def _collect(repo: Path) -> list[dict[str, Any]]:
    info = runtime_files.find(repo)
    if info is None:
        return []
    return await summary.collect(Client(info["url"], info["token"]), repo)


def leftovers(work: Path, repo: Path, kept: frozenset[Path] = frozenset()) -> list[str]:
    """Processes whose working directory is inside ``work`` and worktrees of ``repo``
    other than the main one and ``kept`` (there should be none after ``overmind
    shutdown``)."""
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            cwd = Path(proc.cwd())
            if proc.pid != os.getpid() and cwd.is_relative_to(work) and \
                    proc.status() != psutil.STATUS_ZOMBIE:
                found.append(f"process {proc.pid} ({proc.info['name']}) in {cwd}")
        except psutil.Error:
            continue
    worktrees = [line.split(" ", 1)[1] for line in
                 project.git(repo, "worktree", "list", "--porcelain").splitlines()
                 if line.startswith("worktree ")]
    return found + [f"worktree {w}" for w in worktrees
                    if Path(w).resolve() not in {repo.resolve(), *kept}]


def kept_for_review(objectives: list[dict[str, Any]]) -> frozenset[Path]:
    """Worktrees Overmind keeps on purpose: those of changes nobody has decided yet
    (open, approved or conflicted; merging or closing one removes its worktree)."""
    return frozenset(Path(c["workspace"]).resolve() for o in objectives
                     for c in o.get("changes", [])
                     if c["state"] in ("open", "approved", "conflicted") and c.get("workspace"))


def shutdown(work: Path, repo: Path, kept: frozenset[Path] = frozenset()) -> list[str]:
    """``overmind shutdown`` for ``repo``; returns what is left behind (see ``leftovers``;
    the worktrees of undecided changes, ``kept``, are named but not left behind)."""
    done = quickstart.overmind(repo, "shutdown")
    print((done.stdout + done.stderr).strip())
    left = leftovers(work, repo, kept)
    print("left behind: " + ("; ".join(left) if left else "no process, no worktree"))
    if kept:
        print(f"kept for review: {len(kept)} worktree(s) of undecided changes (merging or "
              "closing a change removes its worktree; the next demo run starts afresh)")
    return left


def succeeded(objectives: list[dict[str, Any]]) -> bool:
    """Every objective done, with every task done and every change merged (and at least
    one objective and one change each)."""
    return bool(objectives) and all(
        o["state"] == "done" and o["changes"] and
        all(t["state"] == "done" for t in o["tasks"]) and
        all(c["state"] == "merged" for c in o["changes"]) for o in objectives)


def failures(cell_error: str | None, objectives: list[dict[str, Any]], left: list[str],
             real_model: bool = False) -> list[str]:
    """Why the demo failed (empty when it succeeded): a failed cell (``cell_error``: its
    ``ename: evalue``, e.g. the provider's "rejected the API key (401): check
    OPENAI_API_KEY"), each objective not done with its error, a task or change left
    unfinished, what was left behind. With a ``real_model`` an objective that waits on a
    question is an honest outcome, not a failure: the model's work is not guaranteed, the
    system's is (it ended in a state a user can act on; ``outcome`` says so)."""
    reasons = [] if cell_error is None else [f"a notebook cell failed: {cell_error}"]
    reasons += [f"objective {o['id']} {o['state']}: {o.get('error') or 'no error recorded'}"
                for o in objectives if o["state"] != "done" and
                not (real_model and summary.waits_on_a_question(o))]
    if not objectives:
        reasons.append("no objective was created")
    elif not reasons and not succeeded(objectives) and not real_model:
        reasons.append("not every task is done and every change merged")
    reasons += [f"left behind: {'; '.join(left)}"] if left else []
    return reasons


def execute(work: Path, repo: Path, label: str, timings: dict[str, float],
            timeout_s: float = CELL_TIMEOUT_S) -> tuple[str | None, list[dict[str, Any]]]:
    """Step 3 and 4: run the notebook, print the summary; return (the failed cell's
    ``ename: evalue`` or None, objectives)."""
    cell_error = None
    try:
        step(timings, "notebook", "3. notebooks/quickstart.ipynb, executed headless",
             lambda: run_notebook(work, label, timeout_s))
    except CellExecutionError as exc:
        cell_error = f"{exc.ename}: {exc.evalue}"
        print(f"a cell failed:\n{str(exc)[-3000:]}")
    print(f"executed notebook: {work / NOTEBOOK.name}")
    objectives = asyncio.run(_collect(repo))
    print(f"\n== 4. Summary ({label})\n{summary.render(objectives, timings)}")
    return cell_error, objectives


def main(argv: list[str] | None = None) -> int:
    """Run the four steps (module docstring); return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m demo.main",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=project.cache_dir() / "run")
    parser.add_argument("--model", choices=("local",), default=None,
                        help="local: the real local model (make local-model) answers")
    args = parser.parse_args(argv)
    try:
        with contextlib.ExitStack() as stack:
            timeout_s = CELL_TIMEOUT_S
            if args.model == "local":
                os.environ["OVERMIND_MODEL"] = stack.enter_context(local_model()).model_id
                timeout_s = LOCAL_CELL_TIMEOUT_S
            return run(args.workdir.resolve(), timeout_s, real_model=args.model == "local")
    except project.DemoError as exc:
        print(f"\ndemo failed: {exc.message}", file=sys.stderr)
        return 1


@contextlib.contextmanager
def local_model():
    """The real local model served on 127.0.0.1 for the demo's duration.

    Raises:
        project.DemoError: it is not set up (``make local-model``) or did not start.
    """
    ready = local_install.installed()
    if ready is None:
        raise project.DemoError("the local model is not set up: run `make local-model`")
    print(f"\n== 0. the real local model: {ready.spec.alias} under llama-server", flush=True)
    try:
        with LocalServer(ready, slots=2) as server:
            print(f"{server.endpoint} (log {server.log})", flush=True)
            yield server
    except local_install.LocalModelError as exc:
        raise project.DemoError(exc.message) from exc


def run(work: Path, timeout_s: float, real_model: bool = False) -> int:
    """The demo's four steps in ``work``; returns the exit status (``real_model``: see
    ``failures``)."""
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    fresh(work)
    repo = step(timings, "project", f"1. {project.TABULATE.requirement} from PyPI as a git "
                "repository", lambda: project.prepare(work / project.TABULATE.name))
    print(f"{repo} (sdist cached in {project.cache_dir()})")
    objectives: list[dict[str, Any]] = []
    try:
        info, label = step(timings, "server", "2. Overmind: a headless Jupyter server with "
                           "the extension", lambda: quickstart.start_server(repo, work))
        print(f"{info['url']} (pid {info['pid']}); model: {label}", flush=True)
        cell_error, objectives = execute(work, repo, label, timings, timeout_s)
    finally:  # whatever happened, no server or mission outlives the demo; no worktree
        print("\n== overmind shutdown")  # but those of changes awaiting a decision
        left = shutdown(work, repo, kept_for_review(objectives))
    failed = failures(cell_error, objectives, left, real_model)
    print("\ndemo failed: " + "\n  ".join(failed) if failed else
          "\n" + outcome(objectives, real_model))
    return 1 if failed else 0


def outcome(objectives: list[dict[str, Any]], real_model: bool) -> str:
    """The closing line of a demo that did not fail: succeeded, or — with a real model
    that did not land everything — what it came to and what the user can do next."""
    if succeeded(objectives):
        return "demo succeeded"
    waiting = [o for o in objectives if summary.waits_on_a_question(o)]
    landed = sum(c["state"] == "merged" for o in objectives for c in o["changes"])
    return (f"demo finished with {'a real' if real_model else 'the'} model: {landed} "
            f"change(s) landed; {len(waiting)} objective(s) wait on a question (see "
            "\"waiting on\" above) — the model's work fell short, the system ended in a "
            "state you can act on")


if __name__ == "__main__":
    sys.exit(main())
