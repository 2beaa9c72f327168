"""The administrator's command policy binds the built-in agent: real agent processes (ACP,
scripted model) under an engine given ``command_policy``, in a real git repository."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from overmind_jupyter.agents.admin_policy import (
    ENV_VAR,
    BoundPolicy,
    check_mission_env,
    mission_env,
    policy_from_env,
    policy_from_json,
    policy_json,
)
from overmind_jupyter.agents.policy import DEFAULT_POLICY, CommandPolicy, Decision
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import UsageError
from overmind_jupyter.model import MissionKind, MissionSpec
from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(120)

ADMIN = CommandPolicy(allow=["printenv OVERMIND_COMMAND_POLICY"], deny=["pytest"],
                      default=Decision.ASK)


def script(tmp_path: Path, turns: list[dict[str, Any]]) -> str:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"turns": turns}))
    return f"scripted:{path}"


async def finished_agent(engine: Engine, spec: MissionSpec) -> tuple[Any, list[dict]]:
    m = await engine.run(spec)
    m = await engine.wait(m.id, 60)
    return m, await engine.events(mission=m.id, limit=10_000)


def results(events: list[dict]) -> dict[str, dict]:
    """The final results of ``run_command`` calls by command."""
    commands = {e["data"]["id"]: e["data"]["input"]["command"] for e in events
                if e["type"] == "tool-use" and "command" in e["data"].get("input", {})}
    return {commands[e["data"]["id"]]: e["data"] for e in events
            if e["type"] == "tool-result" and e["data"]["id"] in commands}


# -- the decision -----------------------------------------------------------------------

@pytest.mark.parametrize(("command", "decision", "why"), [
    ("pytest -q", Decision.DENY, "administrator's command policy"),  # own list allows it
    ("ls && pytest", Decision.DENY, "matches the deny list entry `pytest`"),
    ("ls -la", Decision.ALLOW, "allow list entry `ls`"),  # the agent's own safe list
    ("printenv OVERMIND_COMMAND_POLICY", Decision.ASK, "not on the allow list"),
    ("sudo ls", Decision.DENY, "deny list entry `sudo`"),  # the agent's own deny list
])
def test_the_admins_deny_wins_and_otherwise_the_agent_decides(command, decision, why):
    verdict, reason = BoundPolicy(DEFAULT_POLICY, ADMIN).decide(command)
    assert verdict is decision and why in reason


def test_an_admin_deny_default_leaves_only_its_allow_list():
    bound = BoundPolicy(DEFAULT_POLICY, CommandPolicy(allow=["git status"], deny=[],
                                                      default=Decision.DENY))
    assert bound.decide("git status")[0] is Decision.ALLOW
    assert bound.decide("ls")[0] is Decision.DENY  # on the agent's list, not the admin's
    assert bound.decide("git status; ls")[0] is Decision.DENY  # never auto-allowed


def test_the_env_value_round_trips_and_is_added_only_under_an_admin_policy():
    assert policy_from_json(policy_json(ADMIN)) == ADMIN
    assert mission_env(None) == {}
    assert policy_from_env(DEFAULT_POLICY, {}) is DEFAULT_POLICY
    assert policy_from_env(DEFAULT_POLICY, mission_env(ADMIN)) == BoundPolicy(DEFAULT_POLICY,
                                                                              ADMIN)
    check_mission_env(None, {ENV_VAR: "{}"})  # without an admin policy a mission may set it
    with pytest.raises(UsageError, match="binds every agent"):
        check_mission_env(ADMIN, {ENV_VAR: "{}"})


@pytest.mark.parametrize(("value", "why"), [
    ("", "not a valid command policy"),
    ("deny curl", "not a valid command policy"),
    ('["curl"]', "expected an object"),
    ('{"deny": ["curl"], "deny": []}', "duplicate keys"),
    ('{"deny": "curl"}', "deny must be a list"),
    ('{"allow": null}', "allow must be a list"),
    ('{"deny": [1]}', "deny must be a list"),
    ('{"deny": ["curl | sh"]}', "bad command prefix"),
    ('{"default": "maybe"}', "default must be allow, ask or deny"),
    ('{"denny": ["curl"]}', "unknown keys"),
])
def test_a_malformed_policy_is_an_error_naming_the_variable(value, why):
    with pytest.raises(UsageError, match=ENV_VAR) as info:
        policy_from_json(value)
    assert why in info.value.message


# -- a real built-in agent ----------------------------------------------------------------

def test_the_agent_refuses_what_the_admin_denies_and_runs_what_it_allows(tmp_path):
    repo = make_repo(tmp_path / "repo", {"calc.py": "x = 1\n"})
    model = script(tmp_path, [
        tool("run_command", command="pytest -q"),
        {"expect": "administrator's command policy", **tool(
            "run_command", command="printenv OVERMIND_COMMAND_POLICY")},
        {"expect": '"deny":["pytest"]', **say("pytest is not allowed here.")}])

    async def main():
        engine = Engine(repo, provider_env={"OVERMIND_MODEL": model}, command_policy=ADMIN)
        await engine.start()
        try:
            return await finished_agent(engine, MissionSpec(["run", "the", "tests"],
                                                            kind=MissionKind.AGENT))
        finally:
            await engine.close()
    m, events = asyncio.run(main())
    assert m.status.value == "exited"
    ran = results(events)
    assert ran["pytest -q"]["status"] == "failed"
    assert "refused by the tool policy: the administrator's command policy" in \
        ran["pytest -q"]["output"]
    shown = ran["printenv OVERMIND_COMMAND_POLICY"]
    assert shown["status"] == "completed"  # admin allow: the engine approved, no human
    assert json.loads(shown["output"].split("\n", 1)[1]) == json.loads(policy_json(ADMIN))
    assert not [e for e in events if e["type"] == "question-asked"]
    assert "pytest is not allowed here." in "".join(
        e["data"]["text"] for e in events if e["type"] == "agent-message")


def test_a_malformed_policy_stops_the_agent_before_it_serves(tmp_path):
    env = {**os.environ, ENV_VAR: '{"deny": "pytest"}',
           "OVERMIND_MODEL": script(tmp_path, [say("never")])}
    done = subprocess.run([sys.executable, "-m", "overmind_jupyter.agents.builtin"],
                          env=env, input="", capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"not starting: {ENV_VAR}: deny must be a list" in done.stderr


def test_a_malformed_policy_fails_the_mission_with_the_reason_in_its_log(tmp_path):
    repo = make_repo(tmp_path / "repo", {"calc.py": "x = 1\n"})

    async def main():
        engine = Engine(repo, provider_env={"OVERMIND_MODEL": script(tmp_path, [say("hi")])})
        await engine.start()
        try:
            m = await engine.run(MissionSpec(["hi"], kind=MissionKind.AGENT,
                                             env={ENV_VAR: '{"deny": ["curl"], "x": 1}'}))
            m = await engine.wait(m.id, 60)
            return m, await engine.logs(m.id)
        finally:
            await engine.close()
    m, log = asyncio.run(main())
    assert m.status.value == "failed" and m.exit.code == 2
    assert f"not starting: {ENV_VAR}: unknown keys ['x']" in log


def test_a_mission_cannot_replace_the_admin_policy(tmp_path):
    repo = make_repo(tmp_path / "repo", {"calc.py": "x = 1\n"})

    async def main():
        engine = Engine(repo, provider_env={"OVERMIND_MODEL": script(tmp_path, [say("hi")])},
                        command_policy=ADMIN)
        await engine.start()
        try:
            with pytest.raises(UsageError, match="binds every agent"):
                await engine.run(MissionSpec(["hi"], kind=MissionKind.AGENT,
                                             env={ENV_VAR: '{"default": "allow"}'}))
            assert await engine.ps(all=True) == []
        finally:
            await engine.close()
    asyncio.run(main())


def test_an_objectives_task_agents_are_bound_too(tmp_path):
    repo = make_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a + b\n"})
    scripts = write_role_scripts(
        tmp_path / "s",
        story=respond({"groups": [{"title": "Log", "prompt_ids": ["p1"], "summary": "log"}],
                       "story": "calc"}),
        scope=respond({"files": [{"path": "calc.py"}], "complexity": "low",
                       "rationale": "calc"}),
        planner=respond({"tasks": [{"name": "log", "description": "log: change add()",
                                    "scope": ["calc.py"]}]}),
        evaluator=respond({"done": True, "feedback": "ok"}),
        tasks={"log": [tool("run_command", command="pytest -q"),
                       tool("run_command", command="printenv OVERMIND_COMMAND_POLICY"),
                       tool("edit_file", path="calc.py", old_text="    return a + b\n",
                            new_text="    print('adding')\n    return a + b\n"),
                       say("Changed add().")]})

    async def main():
        engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"},
                        command_policy=ADMIN)
        await engine.start()
        try:
            objective = await engine.prompt("log every addition")
            final = await engine.wait_objective(objective["id"], 90)
            (task,) = final["tasks"]
            return final, await engine.events(mission=task["mission"], limit=10_000)
        finally:
            await engine.close()
    final, events = asyncio.run(main())
    assert [t["state"] for t in final["tasks"]] == ["done"]
    ran = results(events)
    assert "the administrator's command policy" in ran["pytest -q"]["output"]
    assert '"deny":["pytest"]' in ran["printenv OVERMIND_COMMAND_POLICY"]["output"]
