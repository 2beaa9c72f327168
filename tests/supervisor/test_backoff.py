"""Backoff schedule under the FakeClock: base·2^k capped, reset after a stable run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from engine_harness import sh, status_events, until, until_status

from overmind_jupyter.model import MissionSpec, RestartMode, RestartPolicy
from overmind_jupyter.testing import FakeClock

pytestmark = pytest.mark.timeout(60)

# Prints "run", then stays up while the file `hold` exists, then fails.
FLAKY = sh("echo run; while [ -e hold ]; do sleep 0.02; done; exit 1")


def test_backoff_doubles_caps_and_resets_after_a_stable_run(harness) -> None:
    clock = FakeClock()
    policy = RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=100, window_s=1e6,
                           backoff_ms=1000, cap_s=8.0, stable_s=10.0, jitter=0.0)
    hold = harness.root / "hold"

    async def next_sleep(engine, m, n: int) -> float:
        """Wait for the n-th backoff sleep (1-based) of the mission; return its length."""
        await until(lambda: len(clock.sleeps) >= n, what=f"backoff sleep #{n}")
        assert len(clock.sleeps) == n
        assert engine.store.get_mission(m.id).status.value == "restarting"
        return clock.sleeps[n - 1]

    async def body(engine):
        m = await engine.run(MissionSpec(FLAKY, restart=policy))
        for n in range(1, 7):  # six unstable runs: 1, 2, 4, 8, 8, 8
            delay = await next_sleep(engine, m, n)
            if n == 6:
                hold.touch()  # the next run stays up until we let it go
            await asyncio.sleep(0.05)
            assert engine.store.get_mission(m.id).status.value == "restarting"  # still asleep
            clock.advance(delay)
        await until_status(engine, m.id, "running")
        await until(lambda: Path(m.log_path).read_text().count("run\n") == 7, what="run 7")
        clock.advance(11.0)  # the 7th run lasts longer than stable_s
        hold.unlink()
        await next_sleep(engine, m, 7)
        clock.advance(clock.sleeps[-1])
        await next_sleep(engine, m, 8)
        restarts = [e for e in await engine.events(mission=m.id) if e["type"] == "mission-restart"]
        stopped = await engine.stop(m.id)
        return restarts, stopped, await engine.logs(m.id), await status_events(engine, m.id)

    restarts, stopped, log, events = harness.run(body, clock=clock)
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 1.0, 2.0]
    assert [e["data"]["delay_s"] for e in restarts] == clock.sleeps
    assert [e["data"]["attempt"] for e in restarts] == list(range(1, 9))
    assert log.count("run\n") == 8
    assert stopped.status.value == "killed" and stopped.restarts == 8
    assert events[-1]["data"]["previous"] == "restarting"


def test_budget_counts_restarts_in_the_sliding_window(harness) -> None:
    """Two restarts per 100 s: spaced-out failures keep restarting, a burst gives up."""
    clock = FakeClock()
    policy = RestartPolicy(mode=RestartMode.ON_FAILURE, max_restarts=2, window_s=100.0,
                           backoff_ms=1000, stable_s=1e9, jitter=0.0)

    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo run; exit 1"), restart=policy))
        await until(lambda: len(clock.sleeps) == 1, what="first backoff")
        clock.advance(150.0)  # restart 1 leaves the window before the next failure
        await until(lambda: len(clock.sleeps) == 2, what="second backoff")
        clock.advance(2.0)
        await until(lambda: len(clock.sleeps) == 3, what="third backoff")
        clock.advance(4.0)  # restarts 2 and 3 are both within 100 s: budget spent
        done = await engine.wait(m.id, timeout_s=10)
        return done, await engine.logs(m.id), await status_events(engine, m.id)

    done, log, events = harness.run(body, clock=clock)
    assert done.status.value == "failed"
    assert log.count("run\n") == 4
    assert "restart budget exhausted: 2 restarts within 100 s" in events[-1]["data"]["reason"]
