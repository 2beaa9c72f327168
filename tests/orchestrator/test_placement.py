"""Placement of tasks on targets when a hub target cannot start them (no hub needed: the
hub's URL is a closed local port): the task runs here instead, saying why, or — pinned
there, or with this machine taking no tasks — it fails with an error that names the hub
and what to do."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import log_task_scripts, project

from overmind_jupyter.config import HUB_TOKEN_ENV, Settings
from overmind_jupyter.daemon import free_port
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import NotFound

pytestmark = pytest.mark.timeout(120)


def run_objective(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, disable_local: bool,
                  pin: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    monkeypatch.setenv(HUB_TOKEN_ENV, "not-a-real-token")
    repo = project(tmp_path / "p")
    model = f"scripted:{log_task_scripts(tmp_path / 'scripts')}"

    async def session() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        engine = Engine(repo, Settings(mode="local", auto_merge=True),
                        provider_env={"OVERMIND_MODEL": model})
        await engine.start()
        try:
            await engine.target_add("hub", f"http://127.0.0.1:{free_port()}/", "carol",
                                    doctor=False)
            if disable_local:
                await engine.target_action("local", "disable")
            with pytest.raises(NotFound, match="no target matches 'nowhere'"):
                await engine.prompt("log every addition", target="nowhere")
            made = await engine.prompt("log every addition", target=pin)
            done = await engine.wait_objective(made["id"], timeout_s=90, or_question=True)
            return done, await engine.events(limit=100_000)
        finally:
            await engine.close()
    return asyncio.run(session())


def test_a_hub_that_cannot_start_a_task_hands_it_to_this_machine(tmp_path, monkeypatch):
    done, events = run_objective(tmp_path, monkeypatch, disable_local=False)
    assert done["state"] == "done" and done["tasks"][0]["runs_on"] == "local"
    spawned = next(e["data"] for e in events if e["type"] == "agent-spawned")
    assert spawned["target"] == "local"
    assert spawned["fallback"].startswith("hub could not start it: the hub at http://127")
    assert "not-a-real-token" not in str(events)
    claims = [(e["data"]["target"], e["data"]["reason"]) for e in events
              if e["type"] == "target-status" and e["data"]["reason"] in ("claim", "release")]
    assert claims == [("hub", "claim"), ("hub", "release"), ("local", "claim"),
                      ("local", "release")]


def test_with_no_fallback_the_task_fails_naming_the_hub_and_what_to_do(tmp_path,
                                                                       monkeypatch):
    done, _ = run_objective(tmp_path, monkeypatch, disable_local=True)
    task = done["tasks"][0]
    assert task["state"] == "failed" and task.get("runs_on") is None
    assert "target hub could not start task log: the hub at http://127.0.0.1" in \
        task["reason"]
    assert "overmind targets enable local" in task["reason"]
    assert "Traceback" not in task["reason"]


def test_a_task_pinned_to_a_hub_that_cannot_start_it_fails_and_does_not_run_here(
        tmp_path, monkeypatch):
    done, events = run_objective(tmp_path, monkeypatch, disable_local=False, pin="hub")
    task = done["tasks"][0]
    assert task["state"] == "failed" and "(it is pinned there)" in task["reason"]
    assert "overmind targets doctor hub" in task["reason"]
    assert not [e for e in events if e["type"] == "agent-spawned"]  # nothing ran here
