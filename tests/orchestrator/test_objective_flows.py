"""Objectives that do not go smoothly: a budget stop, a conflict between two objectives'
changes whose referee resolution is rejected (a leftover marker) and then closed by the
host — with real git, real ACP agent processes and scripted models."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from engine_harness import alive
from flow_helpers import (
    LOG_EDIT,
    SCOPE,
    edit,
    git,
    log_task_scripts,
    plan,
    project,
    until_planned,
    until_question,
)

from overmind_jupyter.commands.work import objective_exit_status
from overmind_jupyter.config import Settings
from overmind_jupyter.engine import Engine
from overmind_jupyter.llm.contract import ProviderError
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(120)


async def test_budget_pauses_the_objective_and_stop_ends_it(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    big = {"input_tokens": 400, "output_tokens": 100}  # each of the agent's two turns
    turns = [tool("edit_file", usage=big, path="calc.py", old_text="    return a + b\n",
                  new_text=LOG_EDIT), say("Changed add().", usage=big)]
    scripts = log_task_scripts(tmp_path / "s", turns)
    engine = Engine(repo, Settings(max_tokens=700),  # story + scope + planner: 720 > 700
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        objective = await engine.prompt("log every addition")
        question = await until_question(engine, "budget")
        assert "token budget reached (720 of 700 tokens)" in question["text"]
        assert (await engine.objective(objective["id"]))["state"] == "paused"
        await engine.answer(question["id"], "raise")  # doubles it (1,440): the task runs
        second = await until_question(engine, "budget")  # the agent spent 1,000 more
        assert second["id"] != question["id"]
        await engine.answer(second["id"], "stop")
        final = await engine.wait_objective(objective["id"], 30)
    finally:
        await engine.close()
    assert final["state"] == "cancelled" and "stopped by the host" in final["error"]
    assert final["budget"]["max_tokens"] == 1440 and final["spent"]["tokens"] >= 1440
    assert [t["state"] for t in final["tasks"]] == ["done"]
    assert git(repo, "rev-list", "--count", "main").strip() == "1"  # nothing merged


async def test_conflicting_objectives_referee_rejected_then_host_closes(tmp_path: Path
                                                                        ) -> None:
    repo = project(tmp_path / "p")
    story = [respond({"groups": [{"title": t, "prompt_ids": ["p1"], "summary": t}],
                      "story": "calc"}) for t in ("Double", "Square")]
    # "=======" alone passes the referee's own check but not the merge queue's validation
    leftover = "def add(a, b):\n    return 2 * (a + b)\n=======\n"
    scripts = write_role_scripts(
        tmp_path / "s", story=story, scope=[SCOPE, SCOPE],
        planner=[plan("double"), plan("square")],
        evaluator=[respond({"done": True, "feedback": "ok"})] * 2,
        referee=respond({"resolution": leftover, "confidence": 0.95,
                         "explanation": "kept both"}),
        tasks={"double": slow(edit("    return 2 * (a + b)\n")),
               "square": edit("    return (a + b) ** 2\n")})
    engine = Engine(repo, Settings(auto_merge=True),
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        first = await engine.prompt("double the sum")
        await until_planned(engine, first["id"])  # the first plans before the second arrives
        second = await engine.prompt("square the sum")
        ended = [await engine.wait_objective(o["id"], 60) for o in (first, second)]
        question = await until_question(engine, "conflict")
        changes = {c["state"]: c for o in ended for c in o["changes"]}
        assert sorted(changes) == ["conflicted", "merged"]  # whichever finished first lands
        change = changes["conflicted"]
        [report] = change["conflicts"]
        assert report["path"] == "calc.py" and "marker" in report["rejected_reason"]
        assert "<<<<<<<" in report["merged_with_markers"]
        assert question["data"]["change"] == change["id"] and question["options"] == [
            "retry", "close", "done"]
        await engine.answer(question["id"], "close")
        closed = await engine.change(change["id"])
    finally:
        await engine.close()
    assert closed["state"] == "closed"
    landed = {"double": "2 * (a + b)", "square": "(a + b) ** 2"}[changes["merged"]["task"]]
    assert (repo / "calc.py").read_text() == f"def add(a, b):\n    return {landed}\n"
    assert f"overmind/{closed['task']}" in git(repo, "branch", "--list", "overmind/*")


def slow(turns: list[dict[str, Any]], delay_s: float = 1.0) -> list[dict[str, Any]]:
    """``turns`` with ``delay_s`` s of model latency first: the first objective cannot
    merge before the second is created (0.35 s later), so both start from one base."""
    return [{**turns[0], "delay_s": delay_s}, *turns[1:]]


async def test_restart_reconciles_worktrees_never_deleting_dirty_ones(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    trees = repo / ".overmind" / "worktrees"
    for name in ("clean", "dirty"):  # left behind by an engine killed mid-task
        git(repo, "worktree", "add", "-q", "-b", f"overmind/{name}", str(trees / name))
    (trees / "dirty" / "calc.py").write_text("unsaved agent work\n")
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": "scripted:/nonexistent"})
    await engine.start()
    try:
        await engine.pool.start()  # what the first prompt after a restart does
    finally:
        await engine.close()
    assert not (trees / "clean").exists()
    assert (trees / "dirty" / "calc.py").read_text() == "unsaved agent work\n"


async def test_setup_hook_copies_env_into_the_worktree_but_never_into_the_change(
        tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    (repo / "overmind.toml").write_text('[workspace]\ncopy = [".env"]\n')
    git(repo, "add", "overmind.toml")
    git(repo, "-c", "user.name=h", "-c", "user.email=h@example.com", "commit", "-qm", "cfg")
    (repo / ".env").write_text("SECRET=host-only\n")  # untracked, not even gitignored
    scripts = log_task_scripts(tmp_path / "s", [tool("read_file", path=".env"),
                                                 *edit(LOG_EDIT)])
    engine = Engine(repo, Settings(auto_merge=True),
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        done = await asyncio.wait_for(engine.prompt("log additions", wait=True), 60)
    finally:
        await engine.close()
    [change] = done["changes"]
    assert change["files"] == ["calc.py"] and change["state"] == "merged"
    assert "SECRET" not in git(repo, "log", "-p", "main")


async def test_shared_opt_out_edits_the_host_checkout_without_a_worktree(tmp_path: Path
                                                                          ) -> None:
    repo = project(tmp_path / "p")
    scripts = log_task_scripts(tmp_path / "s")
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        done = await asyncio.wait_for(engine.prompt("log", wait=True, shared=True), 60)
    finally:
        await engine.close()
    assert done["state"] == "done" and done["changes"] == []
    assert [t["workspace"] for t in done["tasks"]] == [str(repo)]
    assert "print('adding')" in (repo / "calc.py").read_text()  # left for the host to commit
    assert git(repo, "rev-list", "--count", "main").strip() == "1"


async def test_cancelling_an_objective_stops_its_running_agent(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    slow = [{**say("Thinking it over."), "delay_s": 60.0}]
    scripts = log_task_scripts(tmp_path / "s", slow)
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        objective = await engine.prompt("log every addition")
        spawned = await until_event(engine, "agent-spawned")
        await engine.cancel_objective(objective["id"])
        agent = await engine.wait(spawned["mission"], 20)  # stopped, not left running
        final = await engine.wait_objective(objective["id"], 20)
        await until_event(engine, "task-status", lambda d: d["state"] == "cancelled")
    finally:
        await engine.close(stop_missions=False)  # what is still running would show here
    assert agent.status.value in ("exited", "killed") and final["state"] == "cancelled"
    assert not list((repo / ".overmind" / "worktrees").glob("log*"))  # released


async def until_event(engine: Engine, kind: str, match: Any = lambda data: True,
                      timeout: float = 60) -> dict[str, Any]:
    """The first event of type ``kind`` whose data ``match`` accepts (polled)."""
    async def poll() -> dict[str, Any]:
        while not (found := [e for e in await engine.events(limit=10_000)
                             if e["type"] == kind and match(e["data"])]):
            await asyncio.sleep(0.05)
        return found[0]
    return await asyncio.wait_for(poll(), timeout)


async def test_a_refused_api_key_fails_the_prompt_at_once(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    refusal = {"error": {"kind": "auth", "message": "401: bad key"}}
    scripts = write_role_scripts(tmp_path / "s", story=refusal)
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        with pytest.raises(ProviderError) as refused:
            await asyncio.wait_for(engine.prompt("log every addition"), 30)
        objectives = await engine.objectives()
    finally:
        await engine.close()
    assert refused.value.kind == "auth"
    assert objectives == []  # not one objective per prompt, each failing the same way


async def test_the_story_agents_tokens_are_charged_to_the_batchs_objective(tmp_path: Path
                                                                           ) -> None:
    repo = project(tmp_path / "p")
    story = respond({"groups": [{"title": "Log", "prompt_ids": ["p1"], "summary": "log"}],
                     "story": "calc"}, usage={"input_tokens": 7000, "output_tokens": 77})
    scripts = write_role_scripts(tmp_path / "s", story=story, scope=SCOPE, planner=plan("log"),
                                 evaluator=respond({"done": True, "feedback": "ok"}),
                                 tasks={"log": edit(LOG_EDIT)})
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        done = await asyncio.wait_for(engine.prompt("log every addition", wait=True), 60)
    finally:
        await engine.close()
    assert done["state"] == "done" and done["spent"]["tokens"] >= 7077


def asking_engine(tmp_path: Path, repo: Path | None = None) -> tuple[Path, Engine]:
    """A project and an engine whose one task's agent first asks to run `curl` (a
    tool-approval question), then adds the log line."""
    repo = repo or project(tmp_path / "p")
    scripts = log_task_scripts(tmp_path / "s", [
        tool("run_command", command="curl https://example.com/install.sh"), *edit(LOG_EDIT)])
    return repo, Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})


async def test_closing_the_engine_while_a_task_waits_on_a_question_winds_it_down(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Seen in the real-model benchmark: closing the engine under a waiting objective left
    its tasks running into a closed worktree pool ("task … crashed"); now they wind down
    before the pool closes, no process or worktree is left, and the records stay
    ``running`` for the restart's recovery to judge."""
    repo, engine = asking_engine(tmp_path)
    await engine.start()
    try:
        await engine.prompt("log additions")
        await until_question(engine, "tool-approval")
        [agent] = [m for m in await engine.ps() if m.kind.value == "agent"]
    finally:
        await engine.close()
    assert "crashed" not in caplog.text and "pool is closed" not in caplog.text
    assert not alive(agent.pid)
    assert not list((repo / ".overmind" / "worktrees").glob("log*"))
    again = asking_engine(tmp_path, repo)[1]
    await again.start()
    try:
        [task] = again.records.list("task")  # recovery's verdict, not a crash's
        assert task.data.error == "interrupted: the engine stopped while the task ran"
    finally:
        await again.close()


async def test_a_waited_prompt_returns_when_its_objective_needs_a_human(tmp_path: Path
                                                                       ) -> None:
    """Seen in `make demo MODEL=local`: the real model's agent tripped the loop guard and
    `%%overmind prompt --wait` blocked on the guard question until the cell timed out.
    Now the wait ends with the open question in the answer (exit status 1)."""
    _, engine = asking_engine(tmp_path)
    await engine.start()
    try:
        waited = await asyncio.wait_for(engine.prompt("log additions", wait=True), 60)
        [question] = waited["questions"]
        assert question["kind"] == "tool-approval" and waited["state"] == "running"
        assert objective_exit_status(waited) == 1
        # what the notebook's tree widget waits on (`%%overmind prompt --wait` in a kernel)
        again = await asyncio.wait_for(engine.wait_objective(waited["id"], or_question=True),
                                       10)
        assert [q["id"] for q in again["questions"]] == [question["id"]]
        await engine.answer(question["id"], "allow")
        ended = await asyncio.wait_for(engine.wait_objective(waited["id"]), 60)
        assert ended["state"] == "done" and ended["questions"] == []
    finally:
        await engine.close()
