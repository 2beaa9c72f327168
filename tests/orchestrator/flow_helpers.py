"""Helpers of the objective flow tests: a small git project and scripted plan pieces."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overmind_jupyter.engine import Engine
from overmind_jupyter.testing.repos import make_repo

if TYPE_CHECKING:
    from jupyter_process import JupyterProcess

from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def project(root: Path) -> Path:
    """A repository without a test suite: merges skip verification (fast)."""
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "-c", "user.name=host", "-c", "user.email=h@example.com", "commit", "-qm", "init")
    return root


def plan(name: str) -> dict[str, Any]:
    return respond({"tasks": [{"name": name, "description": f"{name}: change add()",
                               "scope": ["calc.py"]}]})


def edit(new: str) -> list[dict[str, Any]]:
    return [tool("edit_file", path="calc.py", old_text="    return a + b\n", new_text=new),
            say("Changed add().")]


SCOPE = respond({"files": [{"path": "calc.py"}], "complexity": "low", "rationale": "calc"})

LOG_EDIT = "    print('adding')\n    return a + b\n"


def log_task_scripts(directory: Path, turns: list[dict[str, Any]] | None = None) -> Path:
    """Scripts of a one-task objective ("log": by default it adds a print to ``add``)."""
    return write_role_scripts(
        directory, story=respond({"groups": [{"title": "Log", "prompt_ids": ["p1"],
                                              "summary": "log"}], "story": "calc"}),
        scope=SCOPE, planner=plan("log"), evaluator=respond({"done": True, "feedback": "ok"}),
        tasks={"log": turns or edit(LOG_EDIT)})


async def until_question(engine: Engine, kind: str, timeout: float = 60,
                         skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The first open question of ``kind`` whose id is not in ``skip`` (polled)."""
    async def poll() -> dict[str, Any]:
        while True:
            found = [q.to_dict() for q in await engine.list_questions()
                     if q.kind == kind and q.id not in skip]
            if found:
                return found[0]
            await asyncio.sleep(0.05)
    return await asyncio.wait_for(poll(), timeout)


async def until_planned(engine: Engine, objective_id: str, timeout: float = 60) -> None:
    """Wait for the ``plan-ready`` event of ``objective_id``: its story, scope and planner
    turns are played (scripted turns go to whichever objective asks first)."""
    planned = asyncio.Event()

    def seen(batch: list[dict[str, Any]]) -> None:
        if any(e["type"] == "plan-ready" and e["objective"] == objective_id for e in batch):
            planned.set()
    engine.subscribe(seen)  # before reading what was committed: nothing falls in between
    try:
        if not any(e["type"] == "plan-ready"
                   for e in await engine.events(objective=objective_id, limit=10_000)):
            await asyncio.wait_for(planned.wait(), timeout)
    finally:
        engine.unsubscribe(seen)


def log_task_host(base: Path) -> JupyterProcess:
    """A started Jupyter server with Overmind on a fresh git project whose scripted model
    plans the one-task "log" objective (``log_task_scripts``): a party host."""
    from jupyter_process import JupyterProcess
    repo = make_repo(base / "project", {"calc.py": "def add(a, b):\n    return a + b\n"})
    model = f"scripted:{log_task_scripts(base / 'scripts')}"
    return JupyterProcess(repo, base / "home-a", env={"OVERMIND_MODEL": model}).start()


@contextlib.contextmanager
def host_and_guest(base: Path, start_guest: Callable[[Path, Path], JupyterProcess],
                   start_host: Callable[[Path], JupyterProcess] = log_task_host
                   ) -> Iterator[tuple[JupyterProcess, JupyterProcess]]:
    """Server A (``start_host(base)``, by default ``log_task_host``) and server B
    (``start_guest(root, home)``), reaped afterwards: no process of either may survive."""
    (base / "b").mkdir(exist_ok=True)
    started: list[JupyterProcess] = []
    try:
        started.append(start_host(base))
        started.append(start_guest(base / "b", base / "home-b"))
        yield started[0], started[1]
    finally:
        left = [pid for server in started for pid in server.reap()]
        assert left == [], f"processes survived: {left}"
