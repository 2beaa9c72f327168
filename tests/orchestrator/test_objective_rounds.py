"""The evaluator's rounds end to end: a re-plan round lands its new task; past the bound
the objective pauses with a ``review`` question (another round / accept / stop); a failing
verification gate leaves the target branch untouched — real git, real ACP agent
processes, scripted models."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import LOG_EDIT, SCOPE, edit, git, plan, project, until_question

from overmind_jupyter.config import Settings
from overmind_jupyter.engine import Engine
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(120)

STORY = respond({"groups": [{"title": "Log", "prompt_ids": ["p1"], "summary": "log"}],
                 "story": "calc"})
DONE = respond({"done": True, "feedback": "ok"})
NOT_YET = respond({"done": False, "feedback": "the change log misses it", "follow_up": True})
NOTES_PLAN = {**respond({"tasks": [{"name": "notes", "description": "write the change log",
                                    "scope": ["CHANGES.md"]}]}),
              "expect": "the change log misses it"}  # the evaluator's feedback reached it
NOTES = [tool("write_file", path="CHANGES.md", content="add() logs\n"), say("Noted.")]


async def engine_for(repo: Path, scripts: Path, **settings: Any) -> Engine:
    engine = Engine(repo, Settings(**{"auto_merge": True, **settings}),
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    return engine


def plan_rounds(engine: Engine, oid: str) -> list[tuple[int, list[str]]]:
    engine.store.flush()
    return [(e["data"]["round"], [t["name"] for t in e["data"]["tasks"]])
            for e in engine.store.read_events(limit=10_000, objective=oid)
            if e["type"] == "plan-ready"]


async def test_the_evaluator_asks_for_a_round_whose_new_task_lands_too(tmp_path: Path
                                                                       ) -> None:
    repo = project(tmp_path / "p")
    scripts = write_role_scripts(tmp_path / "s", story=STORY, scope=SCOPE,
                                 planner=[plan("log"), NOTES_PLAN], evaluator=[NOT_YET, DONE],
                                 tasks={"log": edit(LOG_EDIT), "notes": NOTES})
    engine = await engine_for(repo, scripts)
    try:
        done = await asyncio.wait_for(engine.prompt("log additions", wait=True), 60)
        rounds = plan_rounds(engine, done["id"])
    finally:
        await engine.close()
    assert done["state"] == "done" and done["round"] == 2
    assert rounds == [(1, ["log"]), (2, ["notes"])]
    assert [(t["name"], t["round"], t["state"]) for t in done["tasks"]] == [
        ("log", 1, "done"), ("notes", 2, "done")]
    assert [c["state"] for c in done["changes"]] == ["merged", "merged"]
    assert (repo / "CHANGES.md").read_text() == "add() logs\n"
    assert "print('adding')" in (repo / "calc.py").read_text()


async def test_past_the_bound_the_host_reviews_another_round_then_accepts(tmp_path: Path
                                                                          ) -> None:
    repo = project(tmp_path / "p")
    scripts = write_role_scripts(tmp_path / "s", story=STORY, scope=SCOPE,
                                 planner=[plan("log"), NOTES_PLAN],
                                 evaluator=[NOT_YET, NOT_YET],
                                 tasks={"log": edit(LOG_EDIT), "notes": NOTES})
    engine = await engine_for(repo, scripts, max_rounds=1)
    try:
        objective = await engine.prompt("log additions")
        first = await until_question(engine, "review")
        paused = await engine.objective(objective["id"])
        await engine.answer(first["id"], "round")  # one more, beyond max_rounds
        second = await until_question(engine, "review", skip=(first["id"],))
        await engine.answer(second["id"], "accept")
        done = await engine.wait_objective(objective["id"], 60)
    finally:
        await engine.close()
    assert paused["state"] == "paused" and first["options"] == ["round", "accept", "stop"]
    assert "did not accept round 1 (at most 1 by itself)" in first["text"]
    assert "the change log misses it" in first["text"]
    assert "did not accept round 2" in second["text"]
    assert done["state"] == "done" and [c["state"] for c in done["changes"]] == [
        "merged", "merged"]


async def test_stop_at_the_review_ends_the_objective_with_the_target_untouched(
        tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    human = respond({"done": False, "feedback": "unclear what to log", "follow_up": False})
    scripts = write_role_scripts(tmp_path / "s", story=STORY, scope=SCOPE, planner=plan("log"),
                                 evaluator=human, tasks={"log": edit(LOG_EDIT)})
    engine = await engine_for(repo, scripts)  # 2 rounds allowed, but no re-plan can help
    try:
        objective = await engine.prompt("log additions")
        question = await until_question(engine, "review")
        await engine.answer(question["id"], "stop")
        ended = await engine.wait_objective(objective["id"], 30)
    finally:
        await engine.close()
    assert "did not accept round 1" in question["text"]
    assert ended["state"] == "cancelled"
    assert "stopped by the host after round 1: unclear what to log" in ended["error"]
    assert [c["state"] for c in ended["changes"]] == ["open"]  # kept for the host to look at
    assert git(repo, "rev-list", "--count", "main").strip() == "1"


async def test_a_failing_verification_gate_leaves_the_target_untouched(tmp_path: Path
                                                                      ) -> None:
    repo = project(tmp_path / "p")
    (repo / "tests").mkdir()  # detected: the gate runs pytest on the merged result
    (repo / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    (repo / "conftest.py").write_text("")  # the repository root on pytest's path
    git(repo, "add", ".")
    git(repo, "-c", "user.name=h", "-c", "user.email=h@example.com", "commit", "-qm", "tests")
    head = git(repo, "rev-parse", "main")
    scripts = write_role_scripts(tmp_path / "s", story=STORY, scope=SCOPE, planner=plan("log"),
                                 evaluator=DONE,
                                 tasks={"log": edit("    return 2 * (a + b)\n")})
    engine = await engine_for(repo, scripts)
    try:
        done = await asyncio.wait_for(engine.prompt("double it", wait=True), 60)
        question = await until_question(engine, "verification")
    finally:
        await engine.close()
    [change] = done["changes"]
    assert change["state"] == "conflicted" and change["outcome"] == "verification-failed"
    assert change["verification"]["ok"] is False
    assert "assert 6 == 3" in change["verification"]["output_tail"]
    assert question["data"]["change"] == change["id"] and question["options"] == [
        "retry", "close"]
    assert git(repo, "rev-parse", "main") == head  # the target did not move
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


async def test_a_planner_without_a_valid_answer_asks_and_retry_plans_again(tmp_path: Path
                                                                            ) -> None:
    """A model that never gives a valid plan (its repair turn included) pauses the
    objective with a ``planning`` question keeping its raw output; ``retry`` runs the
    planning again and the objective lands."""
    repo = project(tmp_path / "p")
    empty = respond({"tasks": []})
    scripts = write_role_scripts(tmp_path / "s", story=STORY, scope=[SCOPE, SCOPE],
                                 planner=[empty, empty, plan("log")], evaluator=DONE,
                                 tasks={"log": edit(LOG_EDIT)})
    engine = await engine_for(repo, scripts)
    try:
        objective = await engine.prompt("log every addition")
        question = await until_question(engine, "planning")
        assert "gave no valid _PlanAnswer in 2 attempt(s)" in question["text"]
        assert '"tasks": []' in question["data"]["raw"]
        assert (await engine.objective(objective["id"]))["state"] == "paused"
        await engine.answer(question["id"], "retry")
        final = await engine.wait_objective(objective["id"], 60)
        engine.store.flush()
        errors = [e for e in await engine.events(limit=10_000) if e["type"] == "run-error"]
    finally:
        await engine.close()
    assert final["state"] == "done" and [c["state"] for c in final["changes"]] == ["merged"]
    assert len(errors) == 1 and '"tasks": []' in errors[0]["data"]["raw"]


async def test_an_accepted_round_that_changed_nothing_is_planned_again(tmp_path: Path) -> None:
    """The real 1.5B model's evaluator accepted two tasks that had edited nothing: the
    objective does not end "done" with nothing to show; another round is planned with
    that feedback, and its change lands."""
    repo = project(tmp_path / "p")
    scripts = write_role_scripts(
        tmp_path / "s", story=STORY, scope=SCOPE,
        planner=[plan("noop"), {**plan("log"), "expect": "no task changed any file"}],
        evaluator=[DONE, DONE],
        tasks={"noop": [say("I would add a print to add().")], "log": edit(LOG_EDIT)})
    engine = await engine_for(repo, scripts)
    try:
        objective = await engine.prompt("log every addition")
        final = await engine.wait_objective(objective["id"], 60)
        rounds = plan_rounds(engine, objective["id"])
    finally:
        await engine.close()
    assert rounds == [(1, ["noop"]), (2, ["log"])]
    assert final["state"] == "done" and [c["state"] for c in final["changes"]] == ["merged"]
    assert "print('adding')" in git(repo, "show", "main:calc.py")
