"""Helpers of the objective flow tests: a small git project and scripted plan pieces."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from overmind_jupyter.testing.scripts import respond, say, tool


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
