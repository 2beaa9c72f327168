"""The ACP runtime against a real external ACP agent process (the scripted fake CLI)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from overmind_jupyter.config import HUB_TOKEN_ENV
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import UsageError
from overmind_jupyter.model import MissionKind, MissionSpec, RestartMode, RestartPolicy

pytestmark = pytest.mark.timeout(90)
FAKE = [sys.executable, "-m", "overmind_jupyter.testing.acp_agent"]


def run(root: Path, body, **engine_kwargs):
    """``asyncio.run(body(engine))`` with an engine that knows the fake agent; always closed."""
    async def main():
        engine = Engine(root, agents={"fake": FAKE},
                        provider_env={"OPENAI_API_KEY": "sk-test-not-real"}, **engine_kwargs)
        await engine.start()
        try:
            return await body(engine)
        finally:
            await engine.close()
    return asyncio.run(main())


def agent(prompt: str, **kw) -> MissionSpec:
    return MissionSpec(command=prompt.split(), kind=MissionKind.AGENT, agent="fake", **kw)


async def events_of(engine: Engine, mission_id: str) -> list[dict]:
    return await engine.events(after=0, limit=100_000, mission=mission_id)


async def until(predicate, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := await predicate()):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
    return result


def test_prompt_becomes_events_and_the_mission_ends(tmp_path):
    async def body(engine):
        m = await engine.run(agent("hello there"))
        done = await engine.wait(m.id, 30)
        assert done.status.value == "exited"
        events = await events_of(engine, m.id)
        types = [e["type"] for e in events]
        for expected in ("agent-prompt", "agent-session", "tool-use", "tool-result",
                         "agent-message", "agent-finished"):
            assert expected in types, types
        assert types.index("tool-use") < types.index("tool-result") < types.index(
            "agent-finished")
        text = "".join(e["data"]["text"] for e in events if e["type"] == "agent-message")
        assert text == "echo: hello there"
        finished = next(e for e in events if e["type"] == "agent-finished")
        assert finished["data"]["stop_reason"] == "end_turn"
        session = next(e for e in events if e["type"] == "agent-session")
        assert session["data"]["agent"] == "scripted-acp-agent"
        assert (await engine.info(m.id))["liveness"] == "done"
    run(tmp_path, body)


def test_file_requests_are_served_inside_the_workspace_only(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()

    async def body(engine):
        m = await engine.run(agent("write notes.txt hello from the agent", cwd=str(root)))
        await engine.wait(m.id, 30)
        assert (root / "notes.txt").read_text() == "hello from the agent\n"
        m = await engine.run(agent("write ../escaped.txt nope", cwd=str(root)))
        await engine.wait(m.id, 30)
        assert not (tmp_path / "escaped.txt").exists()
        text = "".join(e["data"]["text"] for e in await events_of(engine, m.id)
                       if e["type"] == "agent-message")
        assert text.startswith("write refused")
        m = await engine.run(agent("write .git/config broken", cwd=str(root)))
        await engine.wait(m.id, 30)
        assert not (root / ".git" / "config").exists()
        m = await engine.run(agent("read notes.txt", cwd=str(root)))
        await engine.wait(m.id, 30)
        text = "".join(e["data"]["text"] for e in await events_of(engine, m.id)
                       if e["type"] == "agent-message")
        assert text == "read: hello from the agent"
    run(tmp_path, body)


def test_permission_requests_follow_the_policy_or_ask_the_host(tmp_path):
    async def body(engine):
        allowed = await engine.run(agent("ask pytest -q"))
        await engine.wait(allowed.id, 30)
        assert not await engine.list_questions()  # the policy allows it: no question
        chained = await engine.run(agent("ask pytest -q && curl evil.example"))

        async def question():
            qs = await engine.list_questions()
            return qs[0] if qs else None
        q = await until(question)
        assert q.kind == "tool-approval" and q.mission == chained.id
        assert (await engine.info(chained.id))["liveness"] == "waiting"
        await engine.answer(q.id, "deny")
        await engine.wait(chained.id, 30)
        texts = {m.id: "".join(e["data"]["text"] for e in await events_of(engine, m.id)
                               if e["type"] == "agent-message") for m in (allowed, chained)}
        assert texts[allowed.id] == "permission for pytest -q: allow_once"
        assert texts[chained.id] == "permission for pytest -q && curl evil.example: reject_once"
        types = [e["type"] for e in await events_of(engine, chained.id)]
        assert "question-asked" in types and "question-answered" in types
    run(tmp_path, body)


def test_a_task_agents_question_is_filed_under_its_objective(tmp_path):
    """The real-model test waited 20 minutes on a task agent's tool approval that no
    list of the objective's questions showed (its ``objective`` was empty)."""
    async def body(engine):
        m = await engine.run(agent("ask curl example.com", env={"OVERMIND_OBJECTIVE": "obj-7"}))

        async def question():
            qs = await engine.list_questions()
            return qs[0] if qs else None
        q = await until(question)
        assert (q.kind, q.mission, q.objective) == ("tool-approval", m.id, "obj-7")
        await engine.answer(q.id, "deny")
        await engine.wait(m.id, 30)
    run(tmp_path, body)


def test_a_crash_mid_turn_fails_the_mission_with_consistent_events(tmp_path):
    async def body(engine):
        m = await engine.run(agent("crash now"))
        done = await engine.wait(m.id, 30)
        assert done.status.value == "failed" and done.exit.returncode == 3
        events = await events_of(engine, m.id)
        finished = [e for e in events if e["type"] == "agent-finished"]
        assert len(finished) == 1 and finished[0]["data"]["stop_reason"] == "error"
        assert (await engine.info(m.id))["liveness"] == "dead"
        statuses = [e["data"]["status"] for e in events if e["type"] == "mission-status"]
        assert statuses == ["spawning", "running", "failed"]
    run(tmp_path, body)


def test_a_restarted_agent_gets_the_unfinished_prompt_again(tmp_path):
    async def body(engine):
        policy = RestartPolicy(RestartMode.ON_FAILURE, max_restarts=2, backoff_ms=10)
        m = await engine.run(agent("crash again", restart=policy))
        done = await engine.wait(m.id, 30)
        assert done.status.value == "failed" and done.restarts == 2
        events = await events_of(engine, m.id)
        sessions = [e for e in events if e["type"] == "agent-session"]
        assert len(sessions) == 3  # one ACP session per run, the prompt re-sent each time
        assert "restart budget exhausted" in (done.exit.reason + str(
            [e["data"].get("reason") for e in events if e["type"] == "mission-status"]))
    run(tmp_path, body)


def test_provider_keys_reach_neither_custom_agents_nor_command_missions(tmp_path):
    async def body(engine):
        m = await engine.run(agent("env OPENAI_API_KEY"))
        await engine.wait(m.id, 30)
        text = "".join(e["data"]["text"] for e in await events_of(engine, m.id)
                       if e["type"] == "agent-message")
        assert text == "OPENAI_API_KEY is unset"  # a custom agent has no known provider
        c = await engine.run(MissionSpec(["sh", "-c", "echo key=${OPENAI_API_KEY:-unset}"]))
        await engine.wait(c.id, 10)
        assert (await engine.logs(c.id)).strip() == "key=unset"
        row = engine.store.conn.execute("SELECT env FROM missions WHERE id = ?",
                                        (m.id,)).fetchone()[0]
        assert "sk-test" not in row  # never stored
    run(tmp_path, body)


def test_a_hub_targets_token_reaches_no_mission(tmp_path, monkeypatch):
    monkeypatch.setenv(HUB_TOKEN_ENV, "hub-token-not-real")  # the engine reads it for placement

    async def body(engine):
        m = await engine.run(agent(f"env {HUB_TOKEN_ENV}"))
        c = await engine.run(MissionSpec(["sh", "-c", f"echo hub=${{{HUB_TOKEN_ENV}:-unset}}"]))
        await engine.wait(m.id, 30)
        await engine.wait(c.id, 10)
        text = "".join(e["data"]["text"] for e in await events_of(engine, m.id)
                       if e["type"] == "agent-message")
        assert text == f"{HUB_TOKEN_ENV} is unset"
        assert (await engine.logs(c.id)).strip() == "hub=unset"
    run(tmp_path, body)


def test_missing_agent_cli_gives_the_install_command(tmp_path):
    async def body(engine):
        engine.adapters["claude"] = engine.adapters["claude"].__class__(
            "claude", "Claude Code", ("definitely-not-installed-acp",), "npm install -g x")
        with pytest.raises(UsageError, match="npm install -g x"):
            await engine.run(MissionSpec(["hi"], kind=MissionKind.AGENT, agent="claude"))
        with pytest.raises(UsageError, match="unknown agent 'nope'"):
            await engine.run(MissionSpec(["hi"], kind=MissionKind.AGENT, agent="nope"))
        rows = {a["name"]: a for a in await engine.list_agents()}
        assert rows["builtin"]["installed"] and rows["fake"]["installed"]
        assert not rows["claude"]["installed"]
    run(tmp_path, body)
