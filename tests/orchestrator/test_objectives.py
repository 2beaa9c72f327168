"""End to end: a prompt becomes an objective whose parallel agents' changes land on the
host's branch through the merge queue, in a real git repository with real ACP agent
processes and scripted models."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from overmind_jupyter.engine import Engine
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(120)

CALC = "def add(a, b):\n    return a + b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def make_project(root: Path) -> Path:
    root.mkdir()
    (root / "calc.py").write_text(CALC)
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(TEST)
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "-c", "user.name=host", "-c", "user.email=host@example.com", "commit", "-qm",
        "initial")
    return root


def scripts(directory: Path, evaluator_done: bool = True) -> Path:
    return write_role_scripts(
        directory,
        story=respond({"groups": [{"title": "Multiplication", "prompt_ids": ["p1"],
                                   "summary": "add multiply() with tests and docs"}],
                       "story": "A tiny calculator library."}),
        scope=respond({"files": [{"path": "calc.py"}, {"path": "tests/test_calc.py"},
                                 {"path": "README.md", "new": True}],
                       "complexity": "low", "rationale": "one function, its test, docs"}),
        planner=respond({"tasks": [
            {"name": "multiply", "description": "Add multiply(a, b) to calc.py with a test",
             "scope": ["calc.py", "tests/test_calc.py"]},
            {"name": "docs", "description": "Write README.md documenting add and multiply",
             "scope": ["README.md"]}]}),
        evaluator=respond({"done": evaluator_done, "feedback": "both tasks did their part"}),
        tasks={
            "multiply": [
                tool("edit_file", path="calc.py", old_text="    return a + b\n",
                     new_text="    return a + b\n\n\ndef multiply(a, b):\n    return a * b\n"),
                tool("write_file", path="tests/test_multiply.py",
                     content="from calc import multiply\n\n\ndef test_multiply():\n"
                             "    assert multiply(3, 4) == 12\n"),
                say("Added multiply() and its test.")],
            "docs": [
                tool("write_file", path="README.md",
                     content="# calc\n\n`add(a, b)` and `multiply(a, b)`.\n"),
                say("Documented both functions.")]})


async def test_prompt_to_merged_changes(tmp_path: Path) -> None:
    repo = make_project(tmp_path / "project")
    (repo / "notes.txt").write_text("host's uncommitted work\n")  # must survive untouched
    model = f"scripted:{scripts(tmp_path / 'scripts')}"
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": model})
    await engine.start()
    try:
        result = await asyncio.wait_for(
            engine.prompt("Add a multiply function and document the library", wait=True,
                          auto_merge=True), 90)  # the prompt opts in: no review
        diffs = [await engine.diff(c["id"]) for c in result["changes"]]  # branches are gone
    finally:
        await engine.close()
    assert result["state"] == "done", result.get("error")
    assert {t["name"]: t["state"] for t in result["tasks"]} == {"multiply": "done",
                                                                  "docs": "done"}
    assert [c["state"] for c in result["changes"]] == ["merged", "merged"]
    assert (repo / "notes.txt").read_text() == "host's uncommitted work\n"
    assert sorted("+def multiply(a, b):" in d for d in diffs) == [False, True]
    assert sorted("+# calc" in d for d in diffs) == [False, True]
    log = git(repo, "log", "--format=%s|%P", "main").splitlines()
    merges = [line for line in log if len(line.split("|")[1].split()) == 2]
    assert len(merges) == 2 and all(m.startswith("Merge change") for m in merges)
    assert "def multiply" in (repo / "calc.py").read_text()  # the host's tree moved too
    assert "multiply(a, b)" in (repo / "README.md").read_text()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=repo, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout
    worktrees = [line for line in git(repo, "worktree", "list", "--porcelain").splitlines()
                 if line.startswith("worktree ")]
    assert worktrees == [f"worktree {repo}"]  # merged tasks' and spare worktrees are gone
