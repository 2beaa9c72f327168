"""Request changes: the change closes and its objective's follow-up task, told the
review, becomes a new change — real git, a real ACP agent process, scripted models."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import git, log_task_scripts, project

from overmind_jupyter.config import Settings
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import UsageError

pytestmark = pytest.mark.timeout(120)

async def until(probe: Any, timeout: float = 60) -> Any:
    async def poll() -> Any:
        while not (found := await probe()):
            await asyncio.sleep(0.05)
        return found
    return await asyncio.wait_for(poll(), timeout)


async def test_requested_changes_close_the_change_and_a_follow_up_continues_it(
        tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    scripts = log_task_scripts(tmp_path / "s")
    (scripts / "task-log-review.json").write_text(
        (scripts / "task-log.json").read_text().replace("print('adding')",
                                                        "print('adding', a, b)"))
    engine = Engine(repo, Settings(auto_merge=False),
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        objective = await engine.prompt("log every addition", wait=True)
        (change,) = objective["changes"]
        assert change["state"] == "open"
        result = await engine.request_changes(change["id"], "print the operands too")
        assert result["change"]["state"] == "closed"
        task = result["task"]
        assert (task["name"], task["parent"], task["follows"]) == (
            "log-review", objective["id"], change["id"])
        follow = await until(lambda: _checked(engine, objective["id"]))
        prompt = await _agent_prompt(engine, "log-review")
        files = await engine.change_files(follow["id"])
        with pytest.raises(UsageError, match="is closed"):
            await engine.request_changes(change["id"], "again")
        with pytest.raises(UsageError, match="empty"):
            await engine.request_changes(follow["id"], "  ")
    finally:
        await engine.close()
    assert "print the operands too" in prompt and change["branch"] in prompt
    assert "+    print('adding')" in prompt  # the previous diff is quoted
    assert follow["state"] == "open" and follow["task"] == "log-review"
    assert follow["check"]["state"] == "untested"  # checked before review (no test suite)
    (calc,) = files["files"]
    assert ["+", "    print('adding', a, b)"] in calc["hunks"][0]["lines"]
    assert git(repo, "branch", "--list", change["branch"]).strip()  # closed: branch kept
    # it started from the reviewed change's head, and shows all that would land
    git(repo, "merge-base", "--is-ancestor", change["head"], follow["branch"])
    assert files["base"] == change["base_commit"] == objective["base_commit"]
    assert "This checkout starts from the previous attempt" in prompt


async def _second_change(engine: Engine, oid: str) -> dict[str, Any] | None:
    found = [c for c in await engine.changes(oid) if c["state"] == "open"]
    return found[0] if found else None


async def _checked(engine: Engine, oid: str) -> dict[str, Any] | None:
    """The follow-up's change once its pre-review check is recorded."""
    found = await _second_change(engine, oid)
    return found if found is not None and found.get("check") else None


async def _agent_prompt(engine: Engine, task_name: str) -> str:
    for task in (await engine.objective((await engine.objectives())[0]["id"]))["tasks"]:
        if task["name"] == task_name:
            events = engine.store.read_events(after=0, limit=10_000, mission=task["mission"])
            return "".join(e["data"].get("text", "") for e in events
                           if e["type"] == "agent-prompt")
    raise AssertionError(f"no task {task_name}")


async def test_a_change_of_no_objective_cannot_take_a_review(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    engine = Engine(repo)
    await engine.start()
    try:
        git(repo, "checkout", "-q", "-b", "feat")
        (repo / "calc.py").write_text("x = 1\n")
        git(repo, "-c", "user.name=h", "-c", "user.email=h@e.x", "commit", "-qam", "x")
        git(repo, "checkout", "-q", "main")
        base = git(repo, "rev-parse", "main").strip()
        rec = await engine.changes_.create("c0ffee01", objective=None, task="cmd",
                                           title="cmd", branch="feat", base_commit=base,
                                           target="main", author="a", requested_by="host",
                                           workspace=None)
        with pytest.raises(UsageError, match="edit its branch feat yourself"):
            await engine.request_changes(rec.id, "do better")
        files = await engine.change_files("c0ffee01")
    finally:
        await engine.close()
    assert (await _state(repo)) == "open"
    assert files["files"][0]["path"] == "calc.py" and files["base"] == base


async def _state(repo: Path) -> str:
    engine = Engine(repo)
    await engine.start()
    try:
        return (await engine.change("c0ffee01"))["state"]
    finally:
        await engine.close()
