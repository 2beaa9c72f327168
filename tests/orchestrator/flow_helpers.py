"""Helpers of the objective flow tests: a small git project and scripted plan pieces."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

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
