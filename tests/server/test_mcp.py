"""Overmind's tools over MCP on a real Jupyter server: the MCP SDK's own client with a
mission credential, the scripted ACP agent calling a tool with the credential it got in
``session/new``, and the refusals (no credential, a guest's, another objective's)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from tornado.httpclient import AsyncHTTPClient

from overmind_jupyter.agents import mcp_access
from overmind_jupyter.model import MissionKind, MissionSpec

pytestmark = pytest.mark.timeout(120)
FAKE = [sys.executable, "-m", "overmind_jupyter.testing.acp_agent"]
TOOLS = mcp_access.TOOLS  # served exactly: agents' permission requests are matched on it


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"overmind_jupyter": True}},
            "Overmind": {"agents": {"fake": FAKE}}}


@pytest.fixture
def mcp_url(http_server_client, jp_http_port, jp_base_url) -> str:
    # http_server_client: pytest-jupyter only serves HTTP when a client fixture asks
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}overmind/mcp"


async def sleeper(engine, name: str, objective: str, role: str = "worker"):
    """A live mission of ``objective`` (a command: the credential does not care)."""
    env = {"OVERMIND_OBJECTIVE": objective, "OVERMIND_ROLE": role}
    return await engine.run(MissionSpec(["sleep", "60"], name=name, env=env))


async def call(url: str, token: str, tool: str, **arguments: Any) -> tuple[bool, str]:
    """(is_error, text) of one tool call with the MCP SDK's client."""
    headers = {"Authorization": f"Bearer {token}"}
    async with create_mcp_http_client(headers=headers) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool(tool, arguments)
    return bool(result.is_error), " ".join(getattr(c, "text", "") for c in result.content)


async def tool_names(url: str, token: str) -> set[str]:
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http, \
            streamable_http_client(url, http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        return {t.name for t in (await session.list_tools()).tools}


async def raw_status(url: str, authorization: str | None) -> int:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    headers = {"Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await AsyncHTTPClient().fetch(url, method="POST", body=body, headers=headers,
                                             raise_error=False)
    return response.code


async def test_a_mission_credential_uses_the_tools_within_its_objective(engine, mcp_url,
                                                                        reaper):
    alpha = await sleeper(engine, "alpha", "obj-1")
    beta = await sleeper(engine, "beta", "obj-2")
    boss = await sleeper(engine, "boss", "obj-1", role="manager")
    alpha_token, beta_token = engine.mcp.issue(alpha), engine.mcp.issue(beta)
    boss_token = engine.mcp.issue(boss)
    try:
        assert await tool_names(mcp_url, alpha_token) == TOOLS

        assert await call(mcp_url, alpha_token, "report_progress", text="halfway",
                          percent=50) == (False, "recorded")
        assert (await call(mcp_url, alpha_token, "send_message", to="host",
                           text="need a hand"))[0] is False
        engine.mailbox.send("host", "alpha", "here you go")
        error, text = await call(mcp_url, alpha_token, "read_messages")
        assert not error and "here you go" in text

        asking = asyncio.ensure_future(call(mcp_url, alpha_token, "ask_user",
                                            question="tabs or spaces?"))
        while not (questions := await engine.list_questions()):
            await asyncio.sleep(0.02)
        (question,) = questions
        assert question.mission == alpha.id and "tabs or spaces?" in question.text
        await engine.answer(question.id, "spaces")
        assert await asyncio.wait_for(asking, 30) == (False, "spaces")

        # another objective's credential reaches nothing of obj-1
        error, text = await call(mcp_url, beta_token, "send_message", to="alpha", text="hi")
        assert error and "works on your objective" in text
        error, text = await call(mcp_url, alpha_token, "cancel_task", mission="beta")
        assert error and "only a manager" in text
        error, text = await call(mcp_url, boss_token, "cancel_task", mission="beta")
        assert error and "not part of your objective" in text
        assert engine.store.get_mission(beta.id).status.value == "running"
        assert await call(mcp_url, boss_token, "cancel_task", mission="alpha") == (
            False, "alpha stopped")

        engine.store.flush()
        events = await engine.events(limit=100_000, mission=alpha.id)
        (progress,) = [e for e in events if e["type"] == "agent-progress"]
        assert progress["data"] == {"text": "halfway", "percent": 50.0}
        assert progress["objective"] == "obj-1"
        messages = [e["data"] for e in events if e["type"] == "message"]
        assert messages[0]["sender"] == "alpha" and messages[0]["recipient"] == "host"
        assert alpha_token not in json.dumps(await engine.events(limit=100_000))
    finally:
        for m in (alpha, beta, boss):
            await engine.stop(m.id, force=True)
    # a mission that ended has no credential any more
    assert await raw_status(mcp_url, f"Bearer {alpha_token}") == 401


async def test_no_credential_a_guest_or_a_jupyter_token_get_401(engine, mcp_url, jp_serverapp,
                                                                 overmind_token):
    engine.party.open("ann")
    rec, secret = engine.party.create_invite(3600, "collaborator")
    _, guest = engine.party.join(f"{rec.data.name}.{secret}", "bob")
    jupyter_token = jp_serverapp.identity_provider.token
    assert await raw_status(mcp_url, None) == 401
    assert await raw_status(mcp_url, "Bearer not-a-credential") == 401
    assert await raw_status(mcp_url, f"Bearer {guest}") == 401
    assert await raw_status(mcp_url, f"Bearer {overmind_token}") == 401
    assert await raw_status(mcp_url, f"token {jupyter_token}") == 401


async def test_the_scripted_acp_agent_calls_a_tool_with_its_session_credential(
        engine, mcp_url, reaper):
    m = await engine.run(MissionSpec(
        ["mcp", "report_progress", '{"text": "tests pass", "percent": 90}'],
        kind=MissionKind.AGENT, agent="fake", env={"OVERMIND_OBJECTIVE": "obj-9"}))
    ended = await engine.wait(m.id, 60)
    assert ended.status.value == "exited"
    engine.store.flush()
    events = await engine.events(limit=100_000, mission=m.id)
    said = "".join(e["data"]["text"] for e in events if e["type"] == "agent-message")
    assert said == "mcp report_progress: recorded"
    (progress,) = [e for e in events if e["type"] == "agent-progress"]
    assert progress["data"]["text"] == "tests pass" and progress["objective"] == "obj-9"


async def test_a_manager_spawns_a_worker_for_its_objective_only(engine, mcp_url, reaper):
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        proc = await asyncio.create_subprocess_exec(
            "git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args,
            cwd=engine.root)
        assert await proc.wait() == 0
    boss = await sleeper(engine, "boss", "obj-1", role="manager")
    worker = await sleeper(engine, "worker", "obj-1")
    boss_token, worker_token = engine.mcp.issue(boss), engine.mcp.issue(worker)
    try:
        error, text = await call(mcp_url, worker_token, "spawn_task", name="x", prompt="hi")
        assert error and "only a manager" in text
        error, text = await call(mcp_url, boss_token, "spawn_task", name="helper",
                                 prompt="hello there", agent="fake")
        assert not error, text
        spawned = engine.resolve(json.loads(text)["id"])
        assert spawned.parent_id == boss.id and spawned.env["OVERMIND_OBJECTIVE"] == "obj-1"
        assert "/.overmind/worktrees/" in spawned.cwd  # its own worktree
        assert (await engine.wait(spawned.id, 60)).status.value == "exited"
        error, text = await call(mcp_url, boss_token, "mark_objective_done", summary="all done")
        assert error and "obj-1" in text  # no such objective here: refused, nothing changed
    finally:
        for m in (boss, worker):
            await engine.stop(m.id, force=True)


async def test_the_builtin_agent_asks_the_host_and_reports_progress_over_mcp(
        engine, mcp_url, reaper, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": [
        {"tool_calls": [{"name": "ask_user", "arguments": {"question": "which colour?"}}]},
        {"expect": "blue", "tool_calls": [{"name": "report_progress", "arguments": {
            "text": "painting", "percent": 50}}]},
        {"expect": "recorded", "text": "Painted it blue."}]}))
    m = await engine.run(MissionSpec(["paint", "the", "shed"], kind=MissionKind.AGENT,
                                     env={"OVERMIND_MODEL": f"scripted:{script}"}))
    while not (questions := await engine.list_questions()):
        await asyncio.sleep(0.02)
    (question,) = questions
    assert question.kind == "clarification" and "which colour?" in question.text
    await engine.answer(question.id, "blue")
    ended = await engine.wait(m.id, 60)
    assert ended.status.value == "exited"
    engine.store.flush()
    events = await engine.events(limit=100_000, mission=m.id)
    said = "".join(e["data"]["text"] for e in events if e["type"] == "agent-message")
    assert said.startswith("Painted it blue.")
    (progress,) = [e["data"] for e in events if e["type"] == "agent-progress"]
    assert progress == {"text": "painting", "percent": 50.0}


@pytest.mark.parametrize("title,tool", [
    ("mcp__overmind__ask_user", "ask_user"), ("ask_user (overmind MCP Server)", "ask_user"),
    ("overmind__report_progress", "report_progress"), ("mcp__other__ask_user", None),
    ("mcp__overmind__rm_rf", None), ("ask_user", None), ("Bash", None), (None, None)])
def test_only_overmind_tools_are_its_own(title, tool):
    assert mcp_access.own_tool(title) == tool
