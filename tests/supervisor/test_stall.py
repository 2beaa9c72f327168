"""Stall detection (--activity-timeout): silence kills the mission, steady output does not."""

from __future__ import annotations

import pytest
from engine_harness import sh, status_events

from overmind_jupyter.model import MissionSpec

pytestmark = pytest.mark.timeout(60)


def test_steady_output_is_never_stalled(harness) -> None:
    # ~2.5 s of a line every 0.1 s against a 1 s activity timeout.
    chatty = sh("i=0; while [ $i -lt 25 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done")

    async def body(engine):
        m = await engine.run(MissionSpec(chatty, activity_timeout_s=1.0))
        done = await engine.wait(m.id, timeout_s=20)
        events = await engine.events(mission=m.id)
        return done, events, await engine.logs(m.id)

    done, events, log = harness.run(body)
    assert done.status.value == "exited"
    assert "tick 24" in log and "stalled" not in log
    assert not [e for e in events if e["type"] == "mission-stalled"]
    assert "stalled" not in [e["data"].get("status") for e in events]


def test_silent_mission_is_stalled_killed_and_failed(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo once; exec sleep 30"),
                                         activity_timeout_s=0.5, grace_s=0.3))
        done = await engine.wait(m.id, timeout_s=20)
        return m, done, await status_events(engine, m.id), await engine.logs(m.id)

    m, done, events, log = harness.run(body)
    assert done.status.value == "failed"
    assert [e["data"]["status"] for e in events] == ["spawning", "running", "stalled", "failed"]
    assert "no output for" in events[2]["data"]["reason"]
    assert done.exit.signal == 15  # stopped by Overmind's SIGTERM
    assert "stalled" in done.exit.reason
    assert "stalled: no output for" in log
    assert harness.survivors([m.pid]) == []
