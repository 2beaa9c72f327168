"""Truthful objective outcomes (issues 15, 17): by default changes wait for review, tested
on the target first (``done, N wait for review``); with auto-merge ``done`` only when the
changes landed (else ``done, N not merged``); ``failed`` when every task failed;
``prompt --wait`` exits 1 when something did not land or its tests fail — real git, real
agent processes, scripted models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from flow_helpers import edit, git, log_task_scripts, project

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
    engine = Engine(repo, Settings(auto_merge=True),
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
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


def project_with_tests(root: Path) -> Path:
    """``project`` with a test suite, so the pre-review check runs the tests."""
    repo = project(root)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=host", "-c", "user.email=h@example.com", "commit", "-qm", "t")
    return repo


async def test_by_default_a_change_waits_for_review_tested_on_the_target(tmp_path: Path
                                                                         ) -> None:
    repo = project_with_tests(tmp_path / "p")
    engine = Engine(repo, provider_env={
        "OVERMIND_MODEL": f"scripted:{log_task_scripts(tmp_path / 's')}"})
    await engine.start()
    try:
        result = await prompt_cli(engine, "log every addition")
        [change] = result.data["changes"]
        tip_before_review = git(repo, "rev-parse", "main").strip()
        needs = await engine.needs_you()
        merged = await engine.merge(change["id"])
    finally:
        await engine.close()
    assert result.data["outcome"] == "done, 1 wait for review" and result.status == 0
    assert change["state"] == "open" and tip_before_review == git(repo, "rev-parse",
                                                                  "HEAD~1").strip()
    check = change["check"]
    assert check["state"] == "passed" and check["target_commit"] == tip_before_review
    assert check["message"].startswith(f"tests passed on main@{tip_before_review[:8]}")
    assert f"    checked: tests passed on main@{tip_before_review[:8]}" in result.text
    assert "`overmind merge ID`" in result.text
    assert [(n["kind"], n["id"]) for n in needs] == [("change", change["id"])]
    assert merged["outcome"]["state"] == "merged"  # the reviewer's merge lands it
    assert "print('adding')" in (repo / "calc.py").read_text()


async def test_a_held_change_whose_tests_fail_on_the_target_says_so_and_exits_1(
        tmp_path: Path) -> None:
    repo = project_with_tests(tmp_path / "p")
    broken = log_task_scripts(tmp_path / "s", edit("    return a - b\n"))
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{broken}"})
    await engine.start()
    try:
        result = await prompt_cli(engine, "make add subtract")
    finally:
        await engine.close()
    [change] = result.data["changes"]
    assert change["state"] == "open" and change["check"]["state"] == "failed"
    assert "assert add(2, 3) == 5" in change["check"]["output_tail"]
    assert "    checked: tests failed on main@" in result.text and result.status == 1
    assert git(repo, "rev-list", "--count", "main").strip() == "2"  # nothing landed


async def test_an_auto_merge_that_does_not_land_says_not_merged_and_exits_1(
        tmp_path: Path) -> None:
    repo = project_with_tests(tmp_path / "p")
    broken = log_task_scripts(tmp_path / "s", edit("    return a - b\n"))
    engine = Engine(repo, Settings(auto_merge=True),
                    provider_env={"OVERMIND_MODEL": f"scripted:{broken}"})
    await engine.start()
    try:
        result = await prompt_cli(engine, "make add subtract")
        [complete] = [e for e in await engine.events(limit=10_000)
                      if e["type"] == "run-complete"]
    finally:
        await engine.close()
    assert result.data["state"] == "done" and result.data["outcome"] == "done, 1 not merged"
    assert result.data["summary"] == "log"  # the story agent's summary is kept
    assert result.text.startswith(f"objective {result.data['id']} done, 1 not merged: ")
    assert result.status == 1
    assert complete["data"]["merged"] == 0 and complete["data"]["not_merged"] == 1
    assert git(repo, "rev-list", "--count", "main").strip() == "2"


async def test_done_with_every_change_merged_exits_0(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    scripts = log_task_scripts(tmp_path / "s")
    engine = Engine(repo, Settings(auto_merge=True),
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        result = await prompt_cli(engine, "log every addition")
    finally:
        await engine.close()
    assert result.data["state"] == "done" and result.data["outcome"] == "done"
    assert result.status == 0 and result.data["not_merged"] == 0
