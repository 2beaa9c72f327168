"""Fault injection (issue 15): the Jupyter server is SIGKILLed at each step of an
objective, restarted, and the objective still ends with nothing lost and nothing stuck.

The objective has two tasks whose edits conflict (the referee settles it) and the project
has a test suite (the merge runs a verification command). At each step, a scripted model
turn (or the project's test) blocks and creates a marker file; the test waits for the
marker, SIGKILLs the server, rewrites the scripts without the block, restarts the server
and checks, within a bound: 0 orphan processes, 0 stuck records (an ``interrupted``
question is answered ``retry``), 0 lost commits, worktrees and branches consistent with
the records, and an event sequence without gaps. Real git, real processes.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_process import JupyterProcess, wait_until

from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts
from overmind_jupyter.workspace.sandbox import WRITE_ENV

pytestmark = pytest.mark.timeout(240)
STEPS = ("grouping", "scoping", "planning", "task-alpha", "task-beta", "change-opened",
         "merging", "verifying")
SETTLE_S = 90.0  # bound: every record settled this long after the restart
HANG = {"delay_s": 3600.0}
ORIGINAL = "    return a + b\n"
RESOLVED = "def add(a, b):\n    return (a + b)  # alpha and beta\n"
BLOCKING_TEST = '''import pathlib, time

ARM, MARK = pathlib.Path({arm!r}), pathlib.Path({mark!r})


def test_add():
    if ARM.exists() and not MARK.exists():  # the first verification blocks: kill -9 time
        MARK.touch()
        while True:
            time.sleep(0.1)
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def project(root: Path, arm: Path, mark: Path) -> Path:
    root.mkdir()
    (root / "calc.py").write_text(f"def add(a, b):\n{ORIGINAL}")
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(BLOCKING_TEST.format(arm=str(arm),
                                                                      mark=str(mark)))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "-c", "user.name=host", "-c", "user.email=h@example.com", "commit", "-qm", "init")
    return root


def signal_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """``arm`` (the blocking test's switch), ``mark`` (a step was reached) and their folder,
    which the sandboxed agents and verification command may write (``WRITE_ENV``): their
    private ``/tmp`` would hide ``tmp_path``."""
    signals = tmp_path / "signals"
    signals.mkdir()
    return signals / "arm", signals / "mark", signals


def scripts(directory: Path, block: str | None, mark: Path) -> Path:
    """The objective's scripts; the turn of step ``block`` hangs after touching ``mark``."""
    def turn(step: str, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, **HANG, "reached": str(mark)} if step == block else body

    def edit(word: str) -> list[dict[str, Any]]:
        first = tool("edit_file", path="calc.py", old_text=ORIGINAL,
                     new_text=f"    return (a + b)  # {word}\n")
        return [turn(f"task-{word}", first), say(f"{word} done")]

    tasks = [{"name": n, "description": f"{n}: comment add()", "scope": ["calc.py"]}
             for n in ("alpha", "beta")]
    return write_role_scripts(
        directory,
        story=turn("grouping", respond({"groups": [{"title": "Comment", "prompt_ids": ["p1"],
                                                     "summary": "comment"}],
                                        "story": "calc"})),
        scope=turn("scoping", respond({"files": [{"path": "calc.py"}], "complexity": "low",
                                       "rationale": "calc"})),
        planner=turn("planning", respond({"tasks": tasks})),
        evaluator=turn("change-opened", respond({"done": True, "feedback": "ok"})),
        referee=turn("merging", respond({"resolution": RESOLVED, "confidence": 0.95,
                                         "explanation": "both comments"})),
        tasks={"alpha": edit("alpha"), "beta": edit("beta")})


@pytest.fixture
def servers() -> Iterator[list[JupyterProcess]]:
    started: list[JupyterProcess] = []
    yield started
    left = [pid for server in reversed(started) for pid in server.reap()]
    assert left == [], f"processes survived: {left}"


def events(server: JupyterProcess) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while batch := server.api("GET", f"events?after={found[-1]['seq'] if found else 0}"
                                     "&limit=1000")["events"]:
        found.extend(batch)
    return found


def submit(server: JupyterProcess) -> None:
    """POST the prompt from a thread: it answers once grouped (never, when grouping
    blocks until the server is killed)."""
    def post() -> None:
        with contextlib.suppress(OSError):  # the connection dies with the killed server
            server.request("POST", "overmind/api/prompts", {"text": "comment add()"},
                           {"X-Overmind-Token": server.token}, timeout=120)
    threading.Thread(target=post, daemon=True).start()


def wait_for_step(step: str, mark: Path) -> None:
    """Until the blocked turn (or test) has started. Beta runs after alpha (they share
    a file): at "task-beta", alpha's committed work must survive."""
    wait_until(mark.exists, 90, f"the {step} step")


def branch_commits(repo: Path) -> set[str]:
    """Every commit on an Overmind task branch (``overmind/*``)."""
    tips = git(repo, "for-each-ref", "--format=%(objectname)", "refs/heads/overmind").split()
    return set(git(repo, "rev-list", *tips, "--not", "main").split()) if tips else set()


def settle(server: JupyterProcess) -> dict[str, Any]:
    """Answer ``retry`` to every ``interrupted`` question until the objective has ended."""
    def ended() -> dict[str, Any] | None:
        for q in server.api("GET", "questions")["questions"]:
            if q["kind"] == "interrupted":
                server.api("POST", f"questions/{q['id']}/answer", {"text": "retry"})
        objectives = server.api("GET", "objectives")["objectives"]
        return objectives[0] if objectives and objectives[0]["state"] in (
            "done", "failed", "cancelled") else None
    return wait_until(ended, SETTLE_S, "the objective to end after the restart", 0.2)


@pytest.mark.parametrize("step", STEPS)
def test_kill_9_at_each_step_loses_nothing_and_leaves_nothing_stuck(
        step: str, tmp_path: Path, servers: list[JupyterProcess]) -> None:
    arm, mark, signals = signal_files(tmp_path)
    repo = project(tmp_path / "repo", arm, mark)
    script_dir = scripts(tmp_path / "scripts", step, mark)
    if step == "verifying":
        arm.touch()
    env = {"OVERMIND_MODEL": f"scripted:{script_dir}", WRITE_ENV: str(signals),
           "OVERMIND_AUTO_MERGE": "1"}
    first = JupyterProcess(repo, tmp_path / "home", env).start()
    servers.append(first)
    first.api("POST", "party", {"name": "host"})  # the prompt is a durable party record
    submit(first)
    wait_for_step(step, mark)
    before = events(first)
    first.kill9()
    committed = branch_commits(repo)

    scripts(script_dir, None, mark)  # the model answers at once this time
    arm.unlink(missing_ok=True)
    restarted = time.monotonic()
    second = JupyterProcess(repo, tmp_path / "home", env).start()
    second.tracked.update({p: t for p, t in first.tracked.items() if p != first.pid})
    servers.append(second)
    final = settle(second)  # at "grouping", the approved prompt is grouped again
    settled_s = time.monotonic() - restarted

    # 0 orphan processes: what the killed server ran is gone
    wait_until(lambda: not [p for p in first.survivors() if p != first.pid], 10,
               "the killed server's processes to be stopped")
    # 0 stuck records
    detail = second.api("GET", f"objectives/{final['id']}")
    assert final["state"] == "done", (final.get("error"), final.get("outcome"))
    assert all(t["state"] in ("done", "failed", "cancelled") for t in detail["tasks"])
    assert [c["state"] for c in detail["changes"]] in (["merged"], ["merged", "merged"])
    assert second.api("GET", "questions")["questions"] == []
    wait_until(lambda: [p["state"] for p in second.api("GET", "party")["hosting"]["prompts"]]
               == ["done"], 10, "the prompt to be done")
    # 0 lost commits: every commit on a task branch at the kill is on main now
    main = set(git(repo, "rev-list", "main").split())
    assert committed <= main, committed - main
    assert "alpha and beta" in git(repo, "show", "main:calc.py") or step == "task-beta"
    # worktrees and branches consistent: nothing left of a merged change or a dead merge
    assert git(repo, "for-each-ref", "refs/heads/overmind") == ""
    listed = [line.split(" ", 1)[1] for line in git(repo, "worktree", "list", "--porcelain")
              .splitlines() if line.startswith("worktree ")]
    spares = repo / ".overmind" / "spares"
    assert [p for p in listed if Path(p) != repo and Path(p).parent != spares] == []
    assert not list((repo / ".overmind" / "scratch").glob("merge-*"))
    # the event sequence has no gap across the kill
    after = events(second)
    assert [e["seq"] for e in after] == list(range(1, len(after) + 1))
    assert after[:len(before)] == before
    reconciled = [e["data"] for e in after if e["type"] == "objectives-reconciled"]
    assert len(reconciled) == (0 if step == "grouping" else 1)
    assert len(second.api("GET", "objectives")["objectives"]) == 1
    if step.startswith("task-"):  # the agent, re-adopted without its ACP pipe, stopped
        assert [e for e in after[len(before):] if e["type"] == "mission-orphan"]
        word = step.removeprefix("task-")
        assert any(f"task {word}: interrupted" in t for t in reconciled[0]["tasks"])
    if step in ("merging", "verifying"):  # the dead merge's scratch worktree is gone
        assert reconciled[0]["resumed"] == [final["id"]]
        assert any(o.startswith("removed ") for o in reconciled[0]["orphans"])
    if step == "verifying":  # and so is its verification command
        assert any(o.startswith("stopped pid ") for o in reconciled[0]["orphans"])
    print(f"{step}: settled {settled_s:.1f} s after the restart; "
          f"reconcile {reconciled[0]['duration_ms'] if reconciled else 0} ms; "
          f"{final.get('outcome')}")


def test_cancel_after_a_kill_releases_the_worktree_an_interrupted_task_kept(
        tmp_path: Path, servers: list[JupyterProcess]) -> None:
    arm, mark, signals = signal_files(tmp_path)
    repo = project(tmp_path / "repo", arm, mark)
    script_dir = scripts(tmp_path / "scripts", None, mark)
    write_role_scripts(script_dir, tasks={"alpha": [  # edits, then blocks: edits uncommitted
        tool("write_file", path="notes.txt", content="half done\n"),
        {**say("thinking"), **HANG, "reached": str(mark)}]})
    env = {"OVERMIND_MODEL": f"scripted:{script_dir}", WRITE_ENV: str(signals),
           "OVERMIND_AUTO_MERGE": "1"}
    first = JupyterProcess(repo, tmp_path / "home", env).start()
    servers.append(first)
    submit(first)
    wait_for_step("task-alpha", mark)
    first.kill9()
    second = JupyterProcess(repo, tmp_path / "home", env).start()
    second.tracked.update({p: t for p, t in first.tracked.items() if p != first.pid})
    servers.append(second)
    [question] = second.api("GET", "questions")["questions"]
    kept = repo / ".overmind" / "worktrees" / "alpha"
    assert question["kind"] == "interrupted" and "Uncommitted edits are kept" in \
        question["text"] and (kept / "notes.txt").read_text() == "half done\n"
    objective = second.api("GET", "objectives")["objectives"][0]
    cancelled = second.api("POST", f"objectives/{objective['id']}/cancel")
    assert cancelled["state"] == "cancelled"
    wait_until(lambda: not kept.exists(), 10, "the kept worktree to be released")
    assert git(repo, "for-each-ref", "refs/heads/overmind") == ""
    assert second.api("GET", "questions")["questions"] == []
    detail = second.api("GET", f"objectives/{objective['id']}")
    assert [t["state"] for t in detail["tasks"]] == ["failed", "cancelled"]
