"""Stop: SIGTERM to the group, grace period, then SIGKILL; stragglers never survive."""

from __future__ import annotations

import asyncio
import shlex
import sys

import pytest
from engine_harness import py, read_pid, sh, until, until_in_log

from overmind_jupyter.model import MissionSpec

pytestmark = pytest.mark.timeout(60)

IGNORES_TERM = py("""
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready")
    time.sleep(60)
""")


async def timed_stop(engine, ref: str, **kwargs):
    loop = asyncio.get_running_loop()
    began = loop.time()
    m = await engine.stop(ref, **kwargs)
    return m, loop.time() - began


def test_term_ignoring_child_is_killed_after_grace(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(IGNORES_TERM, grace_s=0.3))
        await until_in_log(engine, m.id, "ready")
        return m, *await timed_stop(engine, m.id)

    m, stopped, took = harness.run(body)
    assert 0.3 <= took < 1.5
    assert stopped.status.value == "killed"
    assert stopped.exit.signal == 9
    assert harness.survivors([m.pid]) == []


def test_child_that_exits_on_term_stops_well_before_grace(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(["sleep", "60"], grace_s=5.0))
        return m, *await timed_stop(engine, m.id)

    m, stopped, took = harness.run(body)
    assert took < 1.0
    assert stopped.status.value == "killed"
    assert stopped.exit.signal == 15
    assert harness.survivors([m.pid]) == []


def test_force_stop_does_not_wait_for_grace(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(IGNORES_TERM, grace_s=5.0))
        await until_in_log(engine, m.id, "ready")
        return await timed_stop(engine, m.id, force=True)

    stopped, took = harness.run(body)
    assert took < 1.0
    assert (stopped.status.value, stopped.exit.signal) == ("killed", 9)


def test_stop_of_an_ended_mission_changes_nothing(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(["true"]))
        done = await engine.wait(m.id, timeout_s=10)
        again = await engine.stop(m.id)
        return done, again

    done, again = harness.run(body)
    assert done.status.value == again.status.value == "exited"
    assert again.exit == done.exit


def test_grandchild_ignoring_term_dies_with_the_stopped_mission(harness) -> None:
    (harness.root / "grandchild.py").write_text(
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "open('gpid', 'w').write(f'{os.getpid()}\\n')\n"
        "time.sleep(60)\n")
    script = f"{shlex.quote(sys.executable)} grandchild.py & wait"

    async def body(engine):
        m = await engine.run(MissionSpec(sh(script), grace_s=5.0))
        gpid = harness.track(await asyncio.to_thread(read_pid, harness.root / "gpid"))
        stopped, took = await timed_stop(engine, m.id)
        return m, gpid, stopped, took

    m, gpid, stopped, took = harness.run(body)
    assert took < 1.0  # the leader obeyed SIGTERM; no grace wait for the straggler
    assert stopped.status.value == "killed"
    assert harness.survivors([m.pid, gpid]) == []


def test_leftover_background_process_is_killed_when_the_leader_exits(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("sleep 300 & echo $! > gpid; exit 0")))
        gpid = harness.track(await asyncio.to_thread(read_pid, harness.root / "gpid"))
        done = await engine.wait(m.id, timeout_s=10)
        await until(lambda: not harness.survivors([gpid]), what="the leftover to be killed")
        return gpid, done

    gpid, done = harness.run(body)
    assert done.status.value == "exited"
    assert harness.survivors([gpid]) == []
