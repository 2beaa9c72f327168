"""Spawn failures end the mission `failed` with a reason naming the problem; `run` never raises."""

from __future__ import annotations

import asyncio

import pytest
from engine_harness import status_events

from overmind_jupyter.model import MissionSpec, RestartMode, RestartPolicy
from overmind_jupyter.testing import FakeClock

pytestmark = pytest.mark.timeout(60)


def run_failing(harness, spec_for):
    async def body(engine):
        m = await engine.run(spec_for(harness.root))
        return m, await engine.logs(m.id), await status_events(engine, m.id)
    return harness.run(body)


def test_missing_executable(harness) -> None:
    m, log, events = run_failing(harness, lambda root: MissionSpec(["no-such-overmind-prog"]))
    assert m.status.value == "failed"
    assert m.pid is None and m.started_at is None
    assert m.exit.reason == "command not found: no-such-overmind-prog (check the spelling or PATH)"
    assert "spawn failed: command not found: no-such-overmind-prog" in log
    assert [e["data"]["status"] for e in events] == ["spawning", "failed"]


def test_bad_working_directory(harness) -> None:
    m, log, _ = run_failing(
        harness, lambda root: MissionSpec(["true"], cwd=str(root / "missing-dir")))
    assert m.status.value == "failed"
    assert m.exit.reason == f"working directory {harness.root / 'missing-dir'} does not exist"
    assert "missing-dir does not exist" in log


def test_file_that_is_not_executable(harness) -> None:
    script = harness.root / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    m, _, _ = run_failing(harness, lambda root: MissionSpec([str(script)]))
    assert m.status.value == "failed"
    assert m.exit.reason == f"permission denied: {script}"


def test_run_returns_at_the_first_spawn_failure_even_when_restarting(harness) -> None:
    """`run` reports the failed spawn at once instead of blocking through the backoff."""
    clock = FakeClock()
    policy = RestartPolicy(mode=RestartMode.ON_FAILURE, max_restarts=3, backoff_ms=1000,
                           jitter=0.0)

    async def body(engine):
        first = await asyncio.wait_for(
            engine.run(MissionSpec(["no-such-overmind-prog"], restart=policy)), 5.0)
        for delay in (1.0, 2.0, 4.0):
            await asyncio.sleep(0.02)
            clock.advance(delay)
        done = await engine.wait(first.id, timeout_s=10)
        return first, done, await engine.logs(first.id)

    first, done, log = harness.run(body, clock=clock)
    assert first.status.value == "restarting"
    assert "command not found" in first.exit.reason
    assert done.status.value == "failed"
    assert log.count("spawn failed") == 4


def test_a_missions_own_environment_wins_over_provider_defaults(harness) -> None:
    async def body(engine):
        # provider keys and defaults are given to the child, never stored; a value the
        # mission sets itself (a task's remaining budget) must not be replaced by them
        engine.supervisor.secret_env = lambda m: {"OVERMIND_MAX_TOKENS": "999", "KEY": "k"}
        m = await engine.run(MissionSpec(
            ["sh", "-c", 'echo "$OVERMIND_MAX_TOKENS $KEY"'], env={"OVERMIND_MAX_TOKENS": "5"}))
        await engine.wait(m.id, 10)
        return await engine.logs(m.id), engine.store.get_mission(m.id).env
    log, stored = harness.run(body)
    assert log.strip() == "5 k"
    assert "KEY" not in stored  # the secret stays out of the store
