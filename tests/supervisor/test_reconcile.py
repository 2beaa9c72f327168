"""Start-up reconciliation: re-adopt live missions, mark the rest lost, never signal a
process whose start time differs from the record (pid reuse)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sqlite3
import subprocess
import time
import warnings

import psutil
import pytest
from engine_harness import alive, sh, until

from overmind_jupyter.model import MissionSpec, RestartMode, RestartPolicy
from overmind_jupyter.store import default_db_path
from overmind_jupyter.supervisor.process import same_process
from overmind_jupyter.testing import FakeClock

pytestmark = pytest.mark.timeout(60)

# how much later than the mission the process reusing its pid starts: well over the
# 0.05 s start-time tolerance of ``supervisor.process.same_process``
REUSE_GAP_S = 0.2


def process_clock() -> float:
    """Now, on the clock process start times are read on (psutil's ``create_time``: the
    boot time plus the time since boot)."""
    return psutil.boot_time() + time.clock_gettime(time.CLOCK_BOOTTIME)


@pytest.fixture(autouse=True)
def _forget_abandoned_popens():
    """A crashed engine abandons its Popen objects on purpose; collect them quietly here
    rather than as "subprocess is still running" warnings in whichever test runs next."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def crash_with_running_mission(harness, engine, command=("sleep", "30")):
    """Run a mission, then drop the engine without stopping it (as a crash would)."""
    m = await engine.run(MissionSpec(list(command), name="survivor", grace_s=1.0))
    lifecycles = [rt.task for rt in engine.supervisor.runtimes.values() if rt.task]
    await engine.close(stop_missions=False)  # cancels the lifecycles, does not await them
    # the old engine's cancelled lifecycle tasks have run their cleanup (pidfd watch gone)
    _, pending = await asyncio.wait(lifecycles, timeout=10)
    assert not pending, "the old engine's mission lifecycles did not end"
    return m


async def lifecycles_started(engine) -> None:
    """Every mission lifecycle ``engine`` launched has spawned or adopted its process. A
    lifecycle spawns in its first step and tasks start in order, so once the last one
    launched is running, any second start of a mission would have happened."""
    await asyncio.wait_for(asyncio.gather(*(
        rt.running.wait() for rt in list(engine.supervisor.runtimes.values()))), 10)


@pytest.fixture
def signals_sent(monkeypatch) -> list[tuple[int, int]]:
    """Every ``(pid or process group, signal)`` this process sends with ``os.kill`` or
    ``os.killpg`` from now on (the signals are still sent; probes with signal 0 skipped):
    whether a process was signalled, known at once rather than after watching it die."""
    sent: list[tuple[int, int]] = []

    def spying(real):
        def spy(target: int, sig: int) -> None:
            if sig:
                sent.append((target, sig))
            real(target, sig)
        return spy
    monkeypatch.setattr(os, "kill", spying(os.kill))
    monkeypatch.setattr(os, "killpg", spying(os.killpg))
    return sent


async def all_events(engine, mission_id: str) -> list:
    await asyncio.sleep(0)  # buffered events (mission-adopted) are committed on the next tick
    return await engine.events(mission=mission_id)


def tamper(harness, mission_id: str, **fields) -> None:
    """Change a mission's row behind the engine's back (sqlite3, another connection)."""
    conn = sqlite3.connect(default_db_path(harness.root))
    with conn:
        sets = ", ".join(f"{k} = ?" for k in fields)
        conn.execute(f"UPDATE missions SET {sets} WHERE id = ?", (*fields.values(), mission_id))
    conn.close()


def test_live_mission_is_readopted_and_can_be_stopped(harness) -> None:
    async def body(engine):
        m = await crash_with_running_mission(harness, engine)
        assert alive(m.pid), "closing without stopping missions must leave them running"
        again = await harness.engine()
        adopted = again.store.get_mission(m.id)
        stopped = await asyncio.wait_for(again.stop(m.id), 5.0)  # even before any await
        events = [e["type"] for e in await all_events(again, m.id)]
        return m, adopted, events, stopped, harness.reports[-1]

    m, adopted, events, stopped, report = harness.run(body)
    assert report == {"adopted": ["survivor"], "resumed": [], "lost": []}
    assert "mission-adopted" in events
    assert (adopted.status.value, adopted.pid, adopted.restarts) == ("running", m.pid, 0)
    assert stopped.status.value == "killed"
    assert harness.survivors([m.pid]) == []


def test_readopted_mission_is_not_started_a_second_time(harness) -> None:
    def mission_processes(mission_id: str) -> list[int]:
        found = []
        for proc in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if proc.environ().get("OVERMIND_MISSION_ID") == mission_id and \
                        proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc.pid)
        return found

    async def body(engine):
        m = await crash_with_running_mission(harness, engine)
        await lifecycles_started(await harness.engine())
        return m, mission_processes(m.id)

    m, running = harness.run(body)
    assert running == [m.pid]


def test_readopted_mission_is_seen_ending_on_its_own(harness) -> None:
    async def body(engine):
        m = await crash_with_running_mission(
            harness, engine, sh("echo up; while [ ! -e go ]; do sleep 0.02; done"))
        again = await harness.engine()
        (harness.root / "go").touch()
        return await again.wait(m.id, timeout_s=10)

    done = harness.run(body)
    assert done.status.value == "exited"
    assert "re-adopted" in done.exit.reason  # its exit status cannot be known


@pytest.mark.parametrize("how", ["wrong-start-time", "unrelated-pid"])
def test_pid_reuse_is_lost_and_never_signalled(harness, how: str, signals_sent) -> None:
    others: list[subprocess.Popen] = []

    async def body(engine):
        m = await crash_with_running_mission(harness, engine)
        if how == "wrong-start-time":  # same pid, but not the process we started
            tamper(harness, m.id, pid_start=m.pid_start - 1000.0)
            watched = m.pid
        else:  # the recorded pid now belongs to a process started later by someone else
            await until(lambda: process_clock() > m.pid_start + REUSE_GAP_S,
                        what="a start time the record cannot match")
            others.append(subprocess.Popen(["sleep", "30"], start_new_session=True))
            watched = harness.track(others[0].pid)
            assert not same_process(watched, m.pid_start)  # the premise of this case
            tamper(harness, m.id, pid=watched)
        again = await harness.engine()
        lost = again.store.get_mission(m.id)
        assert m.id not in again.supervisor.runtimes  # not adopted: nothing will signal it
        signalled = [sig for target, sig in signals_sent if target == watched]
        still_alive = alive(watched)
        os.kill(m.pid, signal.SIGKILL)  # the test's own cleanup of the orphaned mission
        return lost, signalled, still_alive, harness.reports[-1]

    try:
        lost, signalled, still_alive, report = harness.run(body)
    finally:
        for proc in others:
            proc.kill()
            proc.wait()
    assert report == {"adopted": [], "resumed": [], "lost": ["survivor"]}
    assert lost.status.value == "lost"
    assert signalled == [] and still_alive, \
        f"a process whose start time differs from the record was signalled: {signalled}"


def test_dead_process_is_marked_lost(harness) -> None:
    async def body(engine):
        m = await crash_with_running_mission(harness, engine)
        os.kill(m.pid, signal.SIGKILL)  # the mission died while no engine was watching
        await asyncio.to_thread(os.waitpid, m.pid, 0)
        again = await harness.engine()
        events = [e for e in await again.events(mission=m.id) if e["type"] == "mission-status"]
        return again.store.get_mission(m.id), events[-1], harness.reports[-1]

    lost, event, report = harness.run(body)
    assert report["lost"] == ["survivor"]
    assert lost.status.value == "lost"
    assert event["data"]["reason"] == ("process gone while the engine was down; "
                                       "exit status unknown")
    assert lost.exit is not None and "exit status unknown" in lost.exit.reason


def test_dead_but_unreaped_process_is_lost_not_adopted(harness) -> None:
    """A zombie (an embedded engine restarted in the same process) is dead: lost."""
    async def body(engine):
        m = await crash_with_running_mission(harness, engine)
        os.kill(m.pid, signal.SIGKILL)
        await until(lambda: not alive(m.pid), what="the mission to die")  # not reaped
        again = await harness.engine()
        # lost is final (the store refuses any way out of it) and nothing watches the
        # zombie: no lifecycle could report it `exited` later
        assert m.id not in again.supervisor.runtimes
        return again.store.get_mission(m.id), harness.reports[-1]

    lost, report = harness.run(body)
    assert report == {"adopted": [], "resumed": [], "lost": ["survivor"]}
    assert lost.status.value == "lost"  # not `exited`: nobody saw how it ended


def test_mission_stopping_when_the_engine_died_ends_killed(harness) -> None:
    async def body(engine):
        m = await crash_with_running_mission(harness, engine)
        os.kill(m.pid, signal.SIGKILL)
        await asyncio.to_thread(os.waitpid, m.pid, 0)
        tamper(harness, m.id, status="stopping")
        again = await harness.engine()
        return again.store.get_mission(m.id)

    assert harness.run(body).status.value == "killed"


def test_mission_waiting_to_restart_is_resumed_once(harness) -> None:
    policy = RestartPolicy(mode=RestartMode.ON_FAILURE, max_restarts=1, backoff_ms=10)
    # First run: fails once `go` exists. Later runs: exit 0 at once.
    script = sh("echo run; [ -e ran ] && exit 0; touch ran; "
                "while [ ! -e go ]; do sleep 0.02; done; exit 1")

    async def body(engine):
        m = await engine.run(MissionSpec(script, name="flaky", restart=policy))
        (harness.root / "go").touch()
        await until(lambda: engine.store.get_mission(m.id).status.value == "restarting")
        await engine.close(stop_missions=False)  # the engine dies during the backoff
        again = await harness.engine()
        done = await again.wait(m.id, timeout_s=10)
        return done, await again.logs(m.id), harness.reports[-1]

    done, log, report = harness.run(body, clock=FakeClock())  # the first backoff never ends
    assert report == {"adopted": [], "resumed": ["flaky"], "lost": []}
    assert log.count("run\n") == 2
    assert (done.status.value, done.restarts) == ("exited", 1)
