"""Real agent adapters call Overmind's MCP tools (issue 14): Claude Code
(``@agentclientprotocol/claude-agent-acp``) on a real Jupyter server, its model the
loopback Anthropic Messages API server, gets the MCP endpoint and its mission's credential
in ``session/new`` and calls ``ask_user`` and ``report_progress`` like any other tool:
the question reaches the host, the answer reaches the model as the tool's result. Claude
Code's permission request for Overmind's own tools is allowed without asking the host.

The adapter comes from ``make agents`` (part of ``make test``).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from overmind_jupyter.model import MissionKind, MissionSpec
from overmind_jupyter.testing.anthropic_server import AnthropicWireServer
from overmind_jupyter.testing.model_script import CLAUDE_TOOLS, ScriptedModel, anthropic_exchange

pytestmark = pytest.mark.timeout(180)
ADAPTER = Path(os.environ.get("OVERMIND_AGENTS_PREFIX",
                              Path.home() / ".cache" / "overmind-agents"),
               "node_modules", ".bin", "claude-agent-acp")


@pytest.fixture
def anthropic() -> Iterator[AnthropicWireServer]:
    """The loopback Anthropic API, its URL and key in the server's environment (taken by
    the extension for ``claude`` missions). Claude Code's HOME is the sandbox's private
    copy of the server's (``workspace/sandbox.py``)."""
    if not ADAPTER.exists():
        pytest.fail(f"{ADAPTER} is not installed: run `make agents`")
    server = AnthropicWireServer(responder=ScriptedModel(CLAUDE_TOOLS, anthropic_exchange))
    server.start()
    os.environ.update({"ANTHROPIC_API_KEY": "sk-ant-loopback",
                       "ANTHROPIC_BASE_URL": server.base_url,
                       "IS_SANDBOX": "1", "DISABLE_AUTOUPDATER": "1",
                       "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                       # Claude Code defers MCP tools behind its ToolSearch tool by default
                       # (a real model searches first); the scripted model calls them
                       # directly, so they are listed up front, as this setting does
                       "ENABLE_TOOL_SEARCH": "false"})
    yield server
    server.stop()


@pytest.fixture
def jp_server_config(anthropic) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"overmind_jupyter": True}},
            # pytest-jupyter gives the server a fresh HOME: the adapters' real ~/.cache
            # is an extra path the sandbox lets agents read (an admin setting)
            "Overmind": {"agents": {"claude": [str(ADAPTER)]},
                         "sandbox_read_paths": [str(ADAPTER.parents[2])]}}


def script(tool: str, **arguments: Any) -> str:
    return f"SCRIPT: call {tool} {json.dumps(arguments)}"


async def finish(engine, mission_id: str, answers: dict[str, str], timeout: float = 120):
    """Wait for the mission to end, answering each question whose text contains a key of
    ``answers`` with its value; returns (mission, the questions asked)."""
    loop = asyncio.get_running_loop()
    deadline, asked = loop.time() + timeout, []
    while not (m := engine.store.get_mission(mission_id)).status.terminal:
        assert loop.time() < deadline, f"mission still {m.status.value}"
        for q in await engine.list_questions():
            reply = next((a for k, a in answers.items() if k in q.text), None)
            assert reply is not None, f"unexpected question: {q.text}"
            asked.append(q)
            await engine.answer(q.id, reply)
        await asyncio.sleep(0.05)
    return m, asked


async def log(engine, m) -> str:
    """The mission's log, for failure messages."""
    return await engine.logs(m.id, tail=80)


async def mission_events(engine, mission_id: str) -> list[dict]:
    engine.store.flush()
    return await engine.events(after=0, limit=100_000, mission=mission_id)


@pytest.fixture
def serving(http_server_client) -> None:
    """pytest-jupyter serves HTTP (the MCP endpoint) only when a client fixture asks."""


async def test_claude_code_asks_the_host_through_overmind_mcp(engine, serving, reaper,
                                                              tmp_path):
    m = await engine.run(MissionSpec([script("ask_user", question="which colour?")],
                                     kind=MissionKind.AGENT, agent="claude",
                                     cwd=str(tmp_path)))
    ended, asked = await finish(engine, m.id, {"which colour?": "blue"})
    assert [q.kind for q in asked] == ["clarification"], (ended.exit, await log(engine, m))
    assert ended.status.value == "exited", ended.exit
    events = await mission_events(engine, m.id)
    (decision,) = [e["data"] for e in events if e["type"] == "tool-decision"]
    assert decision["decision"] == "allow" and "own tool" in decision["reason"]
    (result,) = [e["data"] for e in events if e["type"] == "tool-result"]
    assert result["status"] == "completed" and json.loads(result["output"]) == {
        "result": "blue"}  # the host's answer, as the tool's result to the model


async def test_claude_code_reports_progress_through_overmind_mcp(engine, serving, reaper,
                                                                tmp_path):
    m = await engine.run(MissionSpec([script("report_progress", text="halfway", percent=50)],
                                     kind=MissionKind.AGENT, agent="claude",
                                     cwd=str(tmp_path)))
    ended, _ = await finish(engine, m.id, {})
    assert ended.status.value == "exited", ended.exit
    events = await mission_events(engine, m.id)
    assert [e["data"] for e in events if e["type"] == "agent-progress"] == [
        {"text": "halfway", "percent": 50.0}]
