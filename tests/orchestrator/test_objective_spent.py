"""An objective's spending adds up from its events (issue 17): the in-engine roles' model
calls (story, scope, planner, evaluator) are ``agent-usage`` events of the objective
(scope ``role``), and with its agents' ``agent-usage`` events they sum to the objective's
``spent`` — what the execution tree shows as the one total, live."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from flow_helpers import log_task_scripts, project

from overmind_jupyter.config import Settings
from overmind_jupyter.engine import Engine

pytestmark = pytest.mark.timeout(120)


async def test_role_and_agent_usage_events_add_up_to_the_objectives_spent(tmp_path: Path):
    repo = project(tmp_path / "p")
    engine = Engine(repo, Settings(auto_merge=True), provider_env={
        "OVERMIND_MODEL": f"scripted:{log_task_scripts(tmp_path / 's')}"})
    await engine.start()
    try:
        oid = (await engine.prompt("log every addition"))["id"]
        done = await asyncio.wait_for(engine.wait_objective(oid), 90)
        events = await engine.events(limit=10_000)
    finally:
        await engine.close()
    missions = {e["mission"] for e in events
                if e["type"] == "agent-spawned" and e["objective"] == oid}
    usage = [e for e in events if e["type"] == "agent-usage"
             and (e["objective"] == oid or e["mission"] in missions)]
    roles = [e["data"]["role"] for e in usage if e["data"]["scope"] == "role"]
    assert roles == ["story", "scope", "planner", "evaluator"]
    assert all(e["mission"] is None for e in usage if e["data"]["scope"] == "role")
    tokens = sum(e["data"]["input_tokens"] + e["data"]["output_tokens"] for e in usage)
    assert done["state"] == "done" and tokens == done["spent"]["tokens"] == 1440
