"""The ACP runtime against agents that behave on the wire as the real adapters do
(notes/real-agents.md; issue 14's defects 1-8), played by the scripted agent's ``--like``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from overmind_jupyter.agents import adapters
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import UsageError
from overmind_jupyter.model import MissionKind, MissionSpec, exit_status

pytestmark = pytest.mark.timeout(90)
FAKE = [sys.executable, "-m", "overmind_jupyter.testing.acp_agent"]
AGENTS = {"claude": [*FAKE, "--like", "claude"], "codex": [*FAKE, "--like", "codex"],
          "gemini": [*FAKE, "--like", "gemini"], "zed": [*FAKE, "--ignore-eof"],
          "plain": FAKE}
KEYS = {"ANTHROPIC_API_KEY": "sk-ant-test", "OPENAI_API_KEY": "sk-openai-test",
        "GEMINI_API_KEY": "gem-test"}


def run(root: Path, body, provider_env=None, base_env=None):
    async def main():
        engine = Engine(root, agents=AGENTS, base_env=base_env,
                        provider_env=dict(KEYS) if provider_env is None else provider_env)
        await engine.start()
        try:
            return await body(engine)
        finally:
            await engine.close()
    return asyncio.run(main())


def agent(name: str, prompt: str) -> MissionSpec:
    return MissionSpec(command=prompt.split(), kind=MissionKind.AGENT, agent=name)


async def said(engine: Engine, mission_id: str) -> str:
    events = await engine.events(after=0, limit=100_000, mission=mission_id)
    return "".join(e["data"]["text"] for e in events if e["type"] == "agent-message")


async def question(engine: Engine, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (qs := await engine.list_questions()):
        assert asyncio.get_running_loop().time() < deadline, "no question asked"
        await asyncio.sleep(0.05)
    return qs[0]


async def finished(engine: Engine, spec: MissionSpec):
    m = await engine.run(spec)
    done = await engine.wait(m.id, 30)
    assert done.status.terminal, f"{m.name} still {done.status.value}"
    return done


@pytest.mark.parametrize("answer,kind", [("allow", "allow_once"), ("always", "allow_always"),
                                         ("deny", "reject_once")])
def test_answers_pick_options_by_kind_not_position(tmp_path, answer, kind):
    """Claude and Gemini list allow_always first: "allow" must still be allow_once."""
    async def body(engine):
        m = await engine.run(agent("gemini", "ask make build"))
        q = await question(engine)
        assert list(q.options) == ["allow", "always", "deny"]
        await engine.answer(q.id, answer)
        await engine.wait(m.id, 30)
        assert await said(engine, m.id) == f"permission for make build: {kind}"
    run(tmp_path, body)


def test_policy_allowed_commands_answer_allow_once(tmp_path):
    async def body(engine):
        m = await finished(engine, agent("claude", "ask pytest -q"))
        assert not await engine.list_questions()
        assert await said(engine, m.id) == "permission for pytest -q: allow_once"
    run(tmp_path, body)


def test_claude_is_moved_out_of_its_auto_mode_so_it_asks(tmp_path):
    async def body(engine):
        m = await finished(engine, agent("claude", "mode"))
        assert await said(engine, m.id) == "mode: default"
    run(tmp_path, body)


def test_a_mission_ends_when_the_agent_ignores_stdin_eof(tmp_path):
    async def body(engine):
        m = await engine.run(agent("zed", "hello"))
        done = await engine.wait(m.id, 20)
        assert done.status.value == "exited", done.exit
        assert exit_status(done) == 0
        assert await said(engine, m.id) == "echo: hello"
        with pytest.raises(UsageError, match="ended"):
            await engine.send(m.id, "one more thing")
    run(tmp_path, body)


def test_send_after_the_last_prompt_is_refused_while_the_agent_winds_down(tmp_path):
    async def body(engine):
        m = await engine.run(agent("zed", "hello"))
        while "echo: hello" not in await said(engine, m.id):
            await asyncio.sleep(0.05)
        await engine.agents.work_done(m.id)
        with pytest.raises(UsageError, match="no longer takes prompts"):
            await engine.send(m.id, "are you there")
        await engine.wait(m.id, 20)
    run(tmp_path, body)


def test_codex_authenticates_with_the_advertised_method_whose_key_is_set(tmp_path):
    async def body(engine):
        m = await finished(engine, agent("codex", "hello"))
        assert m.status.value == "exited", m.exit
        assert await said(engine, m.id) == "echo: hello"
        events = await engine.events(after=0, limit=1000, mission=m.id)
        auth = [e["data"] for e in events if e["type"] == "agent-auth"]
        assert auth == [{"method": "api-key", "variables": ["OPENAI_API_KEY"]}]
    run(tmp_path, body)


@pytest.mark.parametrize("name,variable", [("codex", "OPENAI_API_KEY"),
                                           ("gemini", "GEMINI_API_KEY"),
                                           ("claude", "ANTHROPIC_API_KEY")])
def test_a_missing_key_becomes_a_question_naming_the_variable(tmp_path, name, variable):
    async def body(engine):
        m = await engine.run(agent(name, "hello"))
        q = await question(engine)
        assert q.kind == "agent-auth" and q.mission == m.id
        assert variable in q.text and list(q.options) == ["retry", "stop"]
        await engine.answer(q.id, "stop")
        done = await engine.wait(m.id, 30)
        assert done.status.value == "failed" and exit_status(done) != 0
        assert variable in await engine.logs(m.id)
    run(tmp_path, body, provider_env={})


def test_an_errored_turn_fails_the_mission_with_the_reason(tmp_path):
    async def body(engine):
        m = await finished(engine, agent("plain", "fail please"))
        assert m.status.value == "failed"
        assert exit_status(m) != 0
        assert "overloaded" in m.exit.reason
        assert "overloaded" in await engine.logs(m.id)
    run(tmp_path, body)


def test_the_policy_denies_codex_list_commands_without_asking(tmp_path):
    async def body(engine):
        m = await finished(engine, agent("codex", "ask git config user.email x@y"))
        assert not await engine.list_questions()
        assert await said(engine, m.id) == "permission for git config user.email x@y: reject_once"
        assert "policy refused `git config user.email x@y`" in await engine.logs(m.id)
        m = await finished(engine, agent("codex", "ask pytest -q"))
        assert await said(engine, m.id) == "permission for pytest -q: allow_once"
    run(tmp_path, body)


def test_gemini_commands_without_raw_input_are_judged_from_the_title(tmp_path):
    async def body(engine):
        m = await finished(engine, agent("gemini", "ask git config user.email x@y"))
        assert not await engine.list_questions()
        assert await said(engine, m.id) == "permission for git config user.email x@y: reject_once"
        m = await engine.run(agent("gemini", "ask pytest -q"))  # a title is never an allow
        q = await question(engine)
        await engine.answer(q.id, "deny")
        await engine.wait(m.id, 30)
        assert await said(engine, m.id) == "permission for pytest -q: reject_once"
    run(tmp_path, body)


def test_a_missing_file_is_acps_resource_not_found(tmp_path):
    async def body(engine):
        m = await finished(engine, agent("plain", "read nothing-here.txt"))
        assert (await said(engine, m.id)).startswith("read refused (-32002)")
    run(tmp_path, body)


@pytest.mark.parametrize("name,usage", [
    ("claude", {"input_tokens": 1000, "output_tokens": 200, "cached_tokens": 50,
                "cost_usd": 0.0125}),
    ("gemini", {"input_tokens": 900, "output_tokens": 90, "cached_tokens": 0,
                "cost_usd": None})])
def test_usage_and_cost_reach_agent_usage_events(tmp_path, name, usage):
    async def body(engine):
        m = await engine.run(agent(name, "hello"))
        await engine.send(m.id, "again")
        await engine.wait(m.id, 30)
        events = await engine.events(after=0, limit=1000, mission=m.id)
        got = [{k: e["data"][k] for k in usage} for e in events if e["type"] == "agent-usage"]
        assert got == [usage, usage]  # per prompt: the cumulative cost's difference
    run(tmp_path, body)


@pytest.mark.parametrize("name,present,absent", [
    ("claude", "ANTHROPIC_API_KEY", ("OPENAI_API_KEY", "GEMINI_API_KEY")),
    ("codex", "OPENAI_API_KEY", ("ANTHROPIC_API_KEY", "GEMINI_API_KEY")),
    ("gemini", "GEMINI_API_KEY", ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")),
    ("plain", None, ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY"))])
def test_each_providers_keys_reach_only_its_agents(tmp_path, name, present, absent):
    async def body(engine):
        for variable in (present, *absent):
            if variable is None:
                continue
            m = await finished(engine, agent(name, f"env {variable}"))
            expected = "set" if variable == present else "unset"
            assert await said(engine, m.id) == f"{variable} is {expected}"
    run(tmp_path, body)


def test_plain_commands_get_no_provider_keys_even_from_the_base_environment(tmp_path):
    async def body(engine):
        c = await finished(engine, MissionSpec(
            ["sh", "-c", "echo ${ANTHROPIC_API_KEY:-none} ${CODEX_API_KEY:-none}"]))
        assert (await engine.logs(c.id)).strip() == "none none"
    base = {"PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": "sk-ant", "CODEX_API_KEY": "cx"}
    run(tmp_path, body, base_env=base)


def test_builtin_gets_the_keys_of_its_models_provider_only():
    builtin = adapters.registry()["builtin"]
    env = {**KEYS, "OVERMIND_MODEL": "openai:gpt-4.1"}
    got = adapters.keys_for(builtin, [sys.executable, "-m", "x", "--model", "openai:gpt-4.1"],
                            env)
    assert got == {"OPENAI_API_KEY": "sk-openai-test", "OVERMIND_MODEL": "openai:gpt-4.1"}
    got = adapters.keys_for(builtin, ["x", "--model", "gemini:gemini-2.5-pro"], env)
    assert set(got) == {"GEMINI_API_KEY", "OVERMIND_MODEL"}
    assert set(adapters.keys_for(builtin, ["x", "--model", "scripted:/s"], env)) == {
        "OVERMIND_MODEL"}


def test_install_hints_name_the_maintained_packages_and_flags():
    rows = {r["name"]: r for r in adapters.rows(adapters.registry())}
    assert rows["claude"]["install"].endswith("@agentclientprotocol/claude-agent-acp")
    assert rows["codex"]["install"].endswith("@agentclientprotocol/codex-acp")
    assert rows["gemini"]["command"] == ["gemini", "--acp"]
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for row in rows.values():
        if row["name"] in ("claude", "codex", "gemini"):
            assert f"`{' '.join(row['command'])}`" in readme
            assert row["install"].split()[-1] in readme
    assert "zed-industries" not in readme and "--experimental-acp" not in readme
