"""The built-in agent's loop against what small real models do (issue 13): absolute paths
into the host checkout, a write repeated after it succeeded, tool calls written as text,
code in text instead of an edit. Real git worktrees, the real tool loop, scripted turns."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from overmind_jupyter.agents.builtin.commands import CommandRunner
from overmind_jupyter.agents.builtin.files import LocalFiles
from overmind_jupyter.agents.builtin.loop import NUDGE, REPEATED, calls_in_text, run_loop
from overmind_jupyter.agents.builtin.tools import Toolbox, host_checkout
from overmind_jupyter.agents.confine import Workspace
from overmind_jupyter.agents.guards import LoopGuard, LoopLimits
from overmind_jupyter.agents.policy import DEFAULT_POLICY
from overmind_jupyter.llm.contract import Message
from overmind_jupyter.llm.scripted import ScriptedModel

pytestmark = pytest.mark.timeout(60)
GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    """A host checkout with ``pkg/__init__.py`` and a linked worktree of it under
    ``.overmind/worktrees/bb`` (the layout of task worktrees)."""
    host = tmp_path / "repo"
    (host / "pkg").mkdir(parents=True)
    (host / "pkg" / "__init__.py").write_text("FORMATS = ['jira']\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=host, check=True)
    subprocess.run([*GIT, "add", "."], cwd=host, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=host, check=True)
    tree = host / ".overmind" / "worktrees" / "bb"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "overmind/bb", str(tree)], cwd=host,
                   check=True)
    return tree


class Reporter:
    """Collects what the loop reports."""

    def __init__(self) -> None:
        self.tools: list[tuple[str, bool, str]] = []

    async def text(self, delta: str) -> None: ...
    async def discard_text(self, reason: str) -> None: ...
    async def tool_start(self, call) -> None: ...
    async def usage(self, usage, cost) -> None: ...

    async def tool_end(self, call, result) -> None:
        self.tools.append((call.name, result.ok, result.text))


async def _ask(*args, **kwargs) -> str:
    return "deny"


def play(tree: Path, turns: list[dict], prompt: str = "add bbcode"):
    model = ScriptedModel.from_data({"turns": turns})
    toolbox = Toolbox(tree, LocalFiles(Workspace(tree)), CommandRunner(DEFAULT_POLICY, _ask))
    reporter = Reporter()
    messages = [Message("system", "s"), Message("user", prompt)]
    outcome = asyncio.run(run_loop(model, messages, toolbox, reporter,
                                   LoopGuard(LoopLimits()), lambda: False))
    return outcome, reporter, messages, model


def write(path: str, content: str) -> dict:
    return {"tool_calls": [{"name": "write_file", "arguments": {"path": path,
                                                                "content": content}}]}


def test_the_worktree_knows_its_host_checkout(worktree):
    assert host_checkout(worktree) == worktree.parent.parent.parent
    assert host_checkout(worktree.parent.parent.parent) is None  # a main checkout


def test_an_absolute_path_into_the_host_checkout_lands_in_the_worktree(worktree):
    """Qwen 1.5B wrote to ``<repo>/pkg/__init__.py`` (the host's absolute path) and was
    refused three times; now the path means the same file in its own worktree."""
    host = host_checkout(worktree)
    outcome, reporter, _, _ = play(worktree, [
        write(f"{host}/pkg/__init__.py", "FORMATS = ['jira', 'bbcode']\n"),
        {"expect": "wrote", "text": "Added bbcode."}])
    assert reporter.tools[0][:2] == ("write_file", True)
    assert (worktree / "pkg" / "__init__.py").read_text() == "FORMATS = ['jira', 'bbcode']\n"
    assert (host / "pkg" / "__init__.py").read_text() == "FORMATS = ['jira']\n"
    assert outcome.changed == ["pkg/__init__.py"]


def test_a_refused_path_says_which_relative_path_to_use(worktree, tmp_path):
    _, reporter, _, _ = play(worktree, [
        write(str(tmp_path / "elsewhere" / "__init__.py"), "x"),
        {"expect": "relative", "text": "ok"}])
    _, ok, text = reporter.tools[0]
    assert not ok and "outside the workspace" in text
    assert "relative to the workspace root" in text and "'pkg/__init__.py'" in text
    assert not (tmp_path / "elsewhere").exists()


def test_a_write_repeated_after_it_succeeded_ends_the_turn(worktree):
    """Both Qwen sizes call write_file again after it succeeded instead of answering: the
    repeat is not run, the prompt ends cleanly (no loop-guard question)."""
    same = write("hello.py", "print('hi')\n")
    outcome, reporter, messages, model = play(worktree, [same, same, same, same])
    assert outcome.stop_reason == "end_turn" and outcome.guard is None
    assert [t[0] for t in reporter.tools] == ["write_file"]
    assert messages[-1].role == "tool" and messages[-1].content == REPEATED
    assert model.remaining == 2  # the loop stopped at the first repeat


def test_a_tool_call_written_as_text_is_run(worktree):
    fenced = ('I will add it.\n```json\n{"name": "write_file", "arguments": '
              '{"path": "pkg/bbcode.py", "content": "X = 1\\n"}}\n```')
    outcome, _, _, _ = play(worktree, [{"text": fenced},
                                              {"expect": "wrote", "text": "Done."}])
    assert (worktree / "pkg" / "bbcode.py").read_text() == "X = 1\n"
    assert outcome.changed == ["pkg/bbcode.py"]
    assert calls_in_text('```json\n{"name": "rm_rf", "arguments": {}}\n```') == []


def test_code_in_text_gets_one_nudge_then_ends(worktree):
    code = "Here is the change:\n```python\nFORMATS = ['jira', 'bbcode']\n```"
    outcome, _, messages, model = play(worktree, [{"text": code}, {"expect": "nothing in the "
                                                                   "workspace", "text": code}])
    assert [m.content for m in messages if m.role == "user"][-1] == NUDGE
    assert outcome.stop_reason == "end_turn" and model.remaining == 0
    assert json.dumps(outcome.changed) == "[]"
