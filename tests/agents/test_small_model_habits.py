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
from overmind_jupyter.agents.builtin.loop import (
    NUDGE,
    REPEATED,
    REPEATED_TURN,
    calls_in_text,
    run_loop,
)
from overmind_jupyter.agents.builtin.tools import Toolbox, host_checkout
from overmind_jupyter.agents.confine import Workspace
from overmind_jupyter.agents.guards import LoopGuard, LoopLimits
from overmind_jupyter.agents.policy import DEFAULT_POLICY
from overmind_jupyter.llm.contract import Message, ToolCall
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


def test_a_turn_repeating_an_earlier_one_with_nothing_changed_ends_the_prompt(worktree):
    """Qwen 1.5B (2026-12-07, the real-model test) answered with the same batch of calls
    turn after turn for ten minutes: read, a failing edit, a rewrite of the same content,
    a failing command. With nothing changed since (the write is the turn's own), the
    second identical turn is not run and the prompt ends (no loop-guard question)."""
    cycle = {"tool_calls": [
        {"name": "read_file", "arguments": {"path": "pkg/__init__.py"}},
        {"name": "edit_file", "arguments": {"path": "pkg/__init__.py", "old_text": "nope",
                                            "new_text": "x"}},
        {"name": "write_file", "arguments": {"path": "pkg/fmt.py", "content": "X = 1\n"}},
        {"name": "run_command", "arguments": {"command": "git config user.name x"}}]}
    outcome, reporter, messages, model = play(worktree, [cycle, cycle, cycle, cycle])
    assert outcome.stop_reason == "end_turn" and outcome.guard is None
    assert [t[0] for t in reporter.tools].count("edit_file") == 1
    assert messages[-1].content == REPEATED_TURN and model.remaining == 2
    assert outcome.changed == ["pkg/fmt.py"]


def test_rewriting_a_file_with_its_own_content_is_no_change(worktree):
    toolbox = Toolbox(worktree, LocalFiles(Workspace(worktree)),
                      CommandRunner(DEFAULT_POLICY, _ask))
    result = asyncio.run(toolbox.write_file("pkg/__init__.py", "FORMATS = ['jira']\n"))
    assert result.ok and result.changed == () and "unchanged" in result.text
    result = asyncio.run(toolbox.write_file("pkg/new.py", "X = 1\n"))
    assert result.ok and result.changed == ("pkg/new.py",)


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


def test_a_big_file_is_read_a_page_at_a_time(worktree):
    """tabulate/__init__.py is ~25,000 tokens: read whole, it overflowed the 8,192-token
    slot of the local model (HTTP 400) and the agent stalled. It comes in pages."""
    body = "".join(f"line {n}\n" for n in range(1, 451))
    (worktree / "big.py").write_text(body)
    _, _, messages, _ = play(worktree, [
        {"tool_calls": [{"name": "read_file", "arguments": {"path": "big.py"}}]},
        {"expect": "start_line=201", "tool_calls": [{"name": "read_file", "arguments": {
            "path": "big.py", "start_line": 401}}]},
        {"expect": "lines 401-450 of 450", "text": "Read it."}])
    first, second = [m.content for m in messages if m.role == "tool"]
    assert first.startswith("line 1\n") and "line 200\n" in first and "line 201" not in first
    assert "[lines 1-200 of 450 in big.py; read on with start_line=201" in first
    assert second.startswith("line 401\n") and second.count("\n") == 50


def test_a_request_too_long_for_the_context_is_retried_with_older_results_cut():
    """llama-server refuses a prompt longer than its slot with a 400; the loop cuts the
    older tool results to stubs and asks again (through the real openai SDK)."""
    from overmind_jupyter.agents.builtin.loop import compact
    from overmind_jupyter.llm.registry import resolve_model
    from overmind_jupyter.testing.openai_server import Fail, OpenAIWireServer, Turn
    big = "x" * 5_000
    messages = [Message("system", "s"), Message("user", "go"),
                *[m for k in range(4) for m in (
                    Message("assistant", "", (ToolCall(f"c{k}", "read_file", {"path": "a"}),)),
                    Message("tool", big, tool_call_id=f"c{k}", name="read_file"))]]
    with OpenAIWireServer() as server:
        server.script(Fail(400, "request (26881 tokens) exceeds the available context size "
                                "(8192 tokens), try increasing it"), Turn(text="Done."))
        model = resolve_model(f"openai:m@{server.url}", env={})
        outcome = asyncio.run(run_loop(model, messages, _NoTools(), Reporter(),
                                       LoopGuard(LoopLimits()), lambda: False))
        sizes = [len(m["content"]) for m in server.requests[1].body["messages"]
                 if m["role"] == "tool"]
    assert outcome.stop_reason == "end_turn"
    assert sizes[:2] == [len(messages[3].content)] * 2 and sizes[2:] == [5_000, 5_000]
    assert sizes[0] < 500 and "characters dropped to fit the context" in messages[3].content
    assert compact(messages) is False  # nothing left to cut: the next overflow is an error


class _NoTools:
    """A toolbox offering the built-in specs and running nothing (no call is made)."""

    async def specs(self):
        from overmind_jupyter.agents.builtin.tools import SPECS
        return SPECS


def test_a_bare_file_name_means_the_one_file_with_that_name(worktree):
    """The real model edited ``__init__.py`` three times for ``pkg/__init__.py``."""
    _, reporter, _, _ = play(worktree, [
        {"tool_calls": [{"name": "edit_file", "arguments": {
            "path": "__init__.py", "old_text": "['jira']", "new_text": "['jira', 'bb']"}}]},
        {"expect": "edited", "text": "ok"}])
    assert reporter.tools[0][:2] == ("edit_file", True)
    assert (worktree / "pkg" / "__init__.py").read_text() == "FORMATS = ['jira', 'bb']\n"
    assert not (worktree / "__init__.py").exists()


def test_a_new_file_named_like_another_is_created_where_asked(worktree):
    _, reporter, _, _ = play(worktree, [write("__init__.py", "X = 1\n"),
                                        {"expect": "wrote", "text": "ok"}])
    assert (worktree / "__init__.py").read_text() == "X = 1\n"
    assert (worktree / "pkg" / "__init__.py").read_text() == "FORMATS = ['jira']\n"
    assert reporter.tools[0][:2] == ("write_file", True)


def test_a_write_that_would_drop_most_of_a_big_file_is_refused(worktree):
    """Qwen 1.5B (2026-12-07, the real-model agent test) replaced the 2,000-line
    tabulate/__init__.py with 30 characters after a failed edit."""
    big = "".join(f"LINE_{i} = {i}\n" for i in range(100))
    (worktree / "pkg" / "big.py").write_text(big)
    toolbox = Toolbox(worktree, LocalFiles(Workspace(worktree)),
                      CommandRunner(DEFAULT_POLICY, _ask))
    result = asyncio.run(toolbox.write_file("pkg/big.py", "FORMATS = ['bbcode']\n"))
    assert not result.ok and "from 100 lines to 1" in result.text and "edit_file" in result.text
    assert (worktree / "pkg" / "big.py").read_text() == big
    whole = big + "".join(f"MORE_{i} = {i}\n" for i in range(5))
    assert asyncio.run(toolbox.write_file("pkg/big.py", whole)).ok  # the whole new file


def test_a_refused_whole_file_write_names_the_edit_that_appends_instead(worktree):
    """Qwen 1.5B (2026-12-07, bench/realmodel_bench.py infl-kebab): told only to "use
    edit_file", it sent the same 10-line write_file for the 426-line
    inflection/__init__.py three times and the guard stopped it. The refusal now carries
    the exact edit_file call that adds code at the end; following it works."""
    big = "".join(f"def f{i}():\n    return {i}\n" for i in range(30))
    (worktree / "pkg" / "big.py").write_text(big)
    toolbox = Toolbox(worktree, LocalFiles(Workspace(worktree)),
                      CommandRunner(DEFAULT_POLICY, _ask))
    new = "def kebabize(word):\n    return word.replace('_', '-')\n"
    refused = asyncio.run(toolbox.write_file("pkg/big.py", new))
    assert not refused.ok and "was refused" in refused.text
    call = json.loads(refused.text[refused.text.index("{"):refused.text.index("}") + 1])
    assert call["old_text"] == "def f29():\n    return 29\n"
    call["new_text"] = call["new_text"].replace("<your new code>\n", new)
    assert asyncio.run(toolbox.edit_file(**call)).ok
    assert (worktree / "pkg" / "big.py").read_text() == big + "\n" + new
