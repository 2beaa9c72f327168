"""``prompt --agent NAME`` through the party queue: the host's own prompts and guests'
prompts run on the agent chosen (one of the host's configured agents), and a prompt's
status follows its objective to ``done`` — real git, real ACP agent processes, scripted
models."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from engine_harness import until
from flow_helpers import git, log_task_scripts, project

from overmind_jupyter.agents.adapters import BUILTIN_MODULE
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import Forbidden, UsageError
from overmind_jupyter.model import PromptOptions
from overmind_jupyter.party import wire as party_wire
from overmind_jupyter.party.watch import Watch

pytestmark = pytest.mark.timeout(90)

TWIN = [sys.executable, "-m", BUILTIN_MODULE]  # a custom agent: another ACP command


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scripted model in the server's environment, not in ``provider_env``: the engine
    gives ``provider_env`` to agents over each task's own ``OVERMIND_MODEL`` (its role
    script), which only the built-in agent's ``--model`` argument escapes."""
    scripts = log_task_scripts(tmp_path / "s")
    monkeypatch.setenv("OVERMIND_MODEL", f"scripted:{scripts}")


async def hosting(tmp_path: Path, auto_merge: bool = True) -> Engine:
    """An engine (configured defaults) on a fresh project with the custom agent ``twin``,
    hosting a party whose changes land without review when ``auto_merge``."""
    engine = Engine(project(tmp_path / "p"), provider_env={}, agents={"twin": TWIN})
    engine.party_url = "http://127.0.0.1:9/"  # invites only: nobody connects in this test
    await engine.start()
    await engine.host("ann", auto_approve=["bob"], auto_merge=auto_merge)
    return engine


def guest(engine: Engine, name: str) -> str:
    """A guest member (as the party endpoints admit one); returns its member id."""
    rec, secret = engine.party.create_invite()
    member, _ = engine.party.join(f"{rec.data.name}.{secret}", name)
    return member.id


def prompt_states(engine: Engine, prompt_id: str) -> list[tuple[str, Any]]:
    """(status, objective or outcome) of every ``prompt-status`` event of one prompt."""
    engine.store.flush()
    return [(e["data"]["status"], e["data"].get("outcome") or e["data"].get("objective"))
            for e in engine.store.read_events(limit=10_000)
            if e["type"] == "prompt-status" and e["data"]["id"] == prompt_id]


def spawned_agents(engine: Engine, objective: str) -> list[str]:
    engine.store.flush()
    return [e["data"]["agent"] for e in engine.store.read_events(limit=10_000)
            if e["type"] == "agent-spawned" and e["objective"] == objective]


async def test_the_hosts_prompt_runs_on_its_agent_and_its_status_reaches_done(
        tmp_path: Path, model: None) -> None:
    engine = await hosting(tmp_path)
    try:
        done = await asyncio.wait_for(engine.prompt("log additions", agent="twin",
                                                    wait=True), 60)
        [prompt] = engine.party.prompts(engine.party.require())
        # the prompt's own hook moves it on from `grouped` right after its objective ends
        await until(lambda: engine.records.get("prompt", prompt.id).state
                    not in ("approved", "grouped"), what="the prompt to end")
        states = prompt_states(engine, prompt.id)
        agents = spawned_agents(engine, done["id"])
    finally:
        await engine.close()
    assert done["state"] == "done" and done["agent"] == "twin" and agents == ["twin"]
    assert [s for s, _ in states] == ["approved", "grouped", "done"]
    assert states[1][1] == done["id"] and states[2][1] == "done"
    assert [t["state"] for t in done["tasks"]] == ["done"]
    authors = git(engine.root, "log", "--format=%an", "main").split("\n")
    assert "Overmind twin agent" in authors  # the task's commit, merged


async def test_a_guest_chooses_among_the_hosts_agents_only(tmp_path: Path, model: None
                                                          ) -> None:
    engine = await hosting(tmp_path)
    try:
        bob = guest(engine, "bob")
        with pytest.raises(UsageError) as unknown:
            engine.party.submit_prompt(bob, "log additions", PromptOptions("rm-rf-agent"))
        assert unknown.value.http_status == 400
        assert "this party's agents: builtin, claude" in unknown.value.message
        assert "twin" in unknown.value.message
        with pytest.raises(Forbidden):  # the host's checkout is the host's alone
            engine.party.submit_prompt(bob, "log additions", PromptOptions(shared=True))
        queued = engine.party.submit_prompt(bob, "log additions", PromptOptions("twin"))
        assert queued.state == "queued" and queued.data.agent == "twin"
        await engine.prompt_action(queued.id, "approve")
        oid = await asyncio.wait_for(_grouped(engine, queued.id), 30)
        done = await engine.wait_objective(oid, 60)
        agents = spawned_agents(engine, oid)
        members = (await engine.party_status())["hosting"]["members"]
    finally:
        await engine.close()
    assert done["state"] == "done" and done["agent"] == "twin" and agents == ["twin"]
    assert done["members"] == ["bob"] and [t["state"] for t in done["tasks"]] == ["done"]
    spent = {m["name"]: m["spent"]["tokens"] for m in members}  # the host's party panel
    assert spent == {"ann": 0, "bob": done["spent"]["tokens"]} and spent["bob"] > 0


async def test_only_the_host_lets_changes_skip_review(tmp_path: Path, model: None) -> None:
    engine = await hosting(tmp_path, auto_merge=False)
    try:
        bob = guest(engine, "bob")
        with pytest.raises(Forbidden, match="merge without review"):
            engine.party.submit_prompt(bob, "log additions", PromptOptions(auto_merge=True))
        queued = engine.party.submit_prompt(bob, "log additions")
        await engine.prompt_action(queued.id, "approve")
        held = await engine.wait_objective(await asyncio.wait_for(
            _grouped(engine, queued.id), 30), 60)
    finally:
        await engine.close()
    assert held["outcome"] == "done, 1 wait for review" and not held["auto_merge"]
    assert [c["state"] for c in held["changes"]] == ["open"]  # the party did not opt in


async def _grouped(engine: Engine, prompt_id: str) -> str:
    while True:
        rec = engine.records.get("prompt", prompt_id)
        if rec.data.objective:
            return rec.data.objective
        await asyncio.sleep(0.05)


async def test_a_guest_watches_its_own_objective_run_and_nobody_elses(tmp_path: Path,
                                                                     model: None) -> None:
    engine = await hosting(tmp_path)
    engine.store.flush()
    before = engine.store.last_seq()  # the party's opening: replayed, not seen live here
    batches: list[list[dict[str, Any]]] = []
    engine.subscribe(batches.append)
    try:
        bob, cy = guest(engine, "bob"), guest(engine, "cy")
        party = engine.party.require().id
        live = {who: Watch(engine.records, party, who) for who in (bob, cy)}
        queued = engine.party.submit_prompt(bob, "log additions")
        await engine.prompt_action(queued.id, "approve")
        oid = await asyncio.wait_for(_grouped(engine, queued.id), 30)
        await engine.wait_objective(oid, 60)
        engine.store.flush()
        seen = {who: [e for batch in batches for e in batch if w.matches(e)]
                for who, w in live.items()}
        replay = await engine.events_json(after=before, limit=10_000,
                                          any_of=Watch(engine.records, party, bob).any_of())
    finally:
        await engine.close()
    types = {e["type"] for e in seen[bob] if e["objective"] == oid}
    assert {"objective-created", "plan-ready", "task-status", "agent-spawned"} <= types
    [mission] = {e["mission"] for e in seen[bob] if e["type"] == "agent-spawned"}
    assert any(e["type"] == "tool-use" and e["mission"] == mission for e in seen[bob])
    assert not [e for e in seen[cy] if e["objective"] == oid or e["mission"] == mission]
    assert {seq for seq, _ in replay} == {e["seq"] for e in seen[bob]}  # replay = live


def test_a_prompt_frame_carries_the_agent_chosen() -> None:
    frame = party_wire.parse(party_wire.frame("prompt", ref=1, text="x", agent="twin"))
    assert (frame.text, frame.agent) == ("x", "twin")
    assert party_wire.parse(party_wire.frame("prompt", text="x")).agent is None
    with pytest.raises(UsageError, match="check agent"):
        party_wire.parse(party_wire.frame("prompt", text="x", agent="a" * 65))
