"""``ScriptReplayServer`` through the real ``openai`` SDK and ``OpenAIModel``: requests are
routed to the role's script by the pipeline's own prompts, turn by turn, and a request
the script does not fit is refused (400) rather than answered with a made-up turn."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from overmind_jupyter.agents.builtin.agent import SYSTEM_PROMPT
from overmind_jupyter.llm.contract import (
    Message,
    ProviderError,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    Usage,
)
from overmind_jupyter.llm.openai_model import OpenAIModel
from overmind_jupyter.llm.retry import RetryPolicy
from overmind_jupyter.orchestrator import story
from overmind_jupyter.testing.script_replay import ScriptReplayServer
from overmind_jupyter.testing.scripts import respond, say, tool

pytestmark = pytest.mark.timeout(60)
KEY = "replay-key"
SEARCH = ToolSpec("search", "Search the code.", {"type": "object", "properties": {}})
TASK_PROMPT = 'You are one agent of a team, working on task "fmt" of the objective "x".'
SCRIPTS = {
    "story": [respond({"groups": [{"title": "One thing", "prompt_ids": ["p1"],
                                   "summary": "Do the one thing."}],
                       "story": "They did one thing."}, {"input_tokens": 50,
                                                         "output_tokens": 9})],
    "task-fmt": [tool("search", pattern="jira"),
                 {**say("Done: jira found."), "expect": "jira is on line 3"}],
}


@pytest.fixture
def server() -> Iterator[ScriptReplayServer]:
    with ScriptReplayServer(SCRIPTS, api_key=KEY) as replay:
        yield replay


def model(server: ScriptReplayServer) -> OpenAIModel:
    return OpenAIModel("gpt-4.1-mini", api_key=KEY, base_url=server.url,
                       policy=RetryPolicy(max_attempts=1))


def turn(server: ScriptReplayServer, messages: list[Message]) -> list:
    async def run() -> list:
        return [item async for item in model(server).stream(messages, [SEARCH])]
    return asyncio.run(run())


def agent_start() -> list[Message]:
    return [Message("system", SYSTEM_PROMPT), Message("user", TASK_PROMPT)]


def after_search(result: str) -> list[Message]:
    call = ToolCall("call_task-fmt_0_0", "search", {"pattern": "jira"})
    return [*agent_start(), Message("assistant", "", (call,)),
            Message("tool", result, tool_call_id=call.id, name="search")]


def test_the_story_role_gets_its_scripted_answer_with_the_wire_usage(
        server: ScriptReplayServer) -> None:
    prompts = [story.PromptIn("p1", "alice", "do the one thing")]
    result = asyncio.run(story.group(model(server), prompts, ""))
    assert [g.title for g in result.groups] == ["One thing"]
    assert result.spent.usage.input_tokens == 50 and result.spent.usage.output_tokens == 9
    assert [(s.script, s.turn, s.tokens) for s in server.served] == [("story", 0, 59)]


def test_an_agent_conversation_replays_its_task_script_turn_by_turn(
        server: ScriptReplayServer) -> None:
    first = turn(server, agent_start())
    (call,) = [i.call for i in first if isinstance(i, ToolCallReady)]
    assert (call.name, call.arguments) == ("search", {"pattern": "jira"})
    assert turn(server, agent_start()) == first  # a retried request gets the same turn
    last = turn(server, after_search("tabulate/__init__.py: jira is on line 3"))
    assert "".join(i.text for i in last if isinstance(i, TextDelta)) == "Done: jira found."
    assert any(isinstance(i, Usage) and i.output_tokens for i in last)
    assert [(s.script, s.turn) for s in server.served] == \
        [("task-fmt", 0), ("task-fmt", 0), ("task-fmt", 1)]
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {KEY}"}


def test_a_turn_whose_expectation_fails_is_refused(server: ScriptReplayServer) -> None:
    with pytest.raises(ProviderError) as caught:
        turn(server, after_search("no match"))
    assert caught.value.status == 400 and "jira is on line 3" in str(caught.value)
    assert len(server.problems) == 1 and "task-fmt turn 2" in server.problems[0]


def test_an_unknown_conversation_or_a_played_out_script_is_refused(
        server: ScriptReplayServer) -> None:
    with pytest.raises(ProviderError, match="no script recognises"):
        turn(server, [Message("system", "You are someone else."), Message("user", "hi")])
    done = after_search("jira is on line 3")
    played_out = [*done, Message("assistant", "Done."), Message("user", "again")]
    with pytest.raises(ProviderError, match="has 2 turn"):
        turn(server, played_out)
    assert not server.served and len(server.problems) == 2


def test_a_call_of_a_tool_not_offered_is_refused(server: ScriptReplayServer) -> None:
    async def run() -> None:
        async for _ in model(server).stream(agent_start(), []):
            pass
    with pytest.raises(ProviderError, match="search, not among the offered tools"):
        asyncio.run(run())
