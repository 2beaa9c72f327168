"""Truthful objective outcomes (issue 15): ``done`` only when the changes landed (else
``done, N not merged``), ``failed`` when every task failed; ``prompt --wait`` exits 1 for
both — real git, real agent processes, scripted models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from flow_helpers import git, log_task_scripts, project

from overmind_jupyter import commands
from overmind_jupyter.commands.work import objective_exit_status
from overmind_jupyter.config import Settings
from overmind_jupyter.engine import Engine

pytestmark = pytest.mark.timeout(120)


async def prompt_cli(engine: Engine, text: str):
    args = commands.parse(["prompt", "--wait", "--", text])
    return await asyncio.wait_for(commands.execute(engine, args, str(engine.root)), 90)


async def test_an_objective_whose_every_task_failed_is_failed(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    refused = [{"error": {"kind": "bad-request", "message": "400: the model is gone"}}]
    scripts = log_task_scripts(tmp_path / "s", refused)
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        asked = await prompt_cli(engine, "log every addition")  # returns at the question
        [guard] = asked.data["questions"]  # the agent's turn failed
        assert guard["kind"] == "guard" and asked.status == 1
        assert f"waiting on you: question {guard['id']} (guard)" in asked.text
        await engine.answer(guard["id"], "stop")
        ended = await asyncio.wait_for(engine.wait_objective(asked.data["id"]), 60)
        events = [e for e in await engine.events(limit=10_000)
                  if e["type"] in ("run-complete", "run-error")]
    finally:
        await engine.close()
    assert ended["state"] == "failed", ended
    assert "all 1 tasks failed" in ended["error"] and "the model is gone" in ended["error"]
    assert objective_exit_status(ended) == 1
    assert [e["type"] for e in events] == ["run-error"]


async def test_done_with_a_change_not_merged_says_so_and_exits_1(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    scripts = log_task_scripts(tmp_path / "s")
    engine = Engine(repo, Settings(auto_merge=False),
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        result = await prompt_cli(engine, "log every addition")
        [complete] = [e for e in await engine.events(limit=10_000)
                      if e["type"] == "run-complete"]
    finally:
        await engine.close()
    assert result.data["state"] == "done" and result.data["outcome"] == "done, 1 not merged"
    assert result.data["summary"] == "log"  # the story agent's summary is kept
    assert result.text.startswith(f"objective {result.data['id']} done, 1 not merged: ")
    assert result.status == 1
    assert complete["data"]["merged"] == 0 and complete["data"]["not_merged"] == 1
    assert git(repo, "rev-list", "--count", "main").strip() == "1"


async def test_done_with_every_change_merged_exits_0(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    scripts = log_task_scripts(tmp_path / "s")
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        result = await prompt_cli(engine, "log every addition")
    finally:
        await engine.close()
    assert result.data["state"] == "done" and result.data["outcome"] == "done"
    assert result.status == 0 and result.data["not_merged"] == 0
