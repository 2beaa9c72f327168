"""Restart policy × exit cause: how many runs a mission gets and how it ends.

Real child processes; backoff 10 ms and a budget of 2 restarts keep every case quick.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from engine_harness import sh, status_events, until_in_log, until_status

from overmind_jupyter.model import MissionSpec, RestartMode, RestartPolicy

pytestmark = pytest.mark.timeout(60)

MISSING = "/nonexistent/overmind-no-such-program"
CAUSES = {
    "exit-0": {"command": sh("echo run; exit 0")},
    "exit-1": {"command": sh("echo run; exit 1")},
    "sigkill": {"command": sh("echo run; kill -9 $$")},  # a signal Overmind did not send
    "stall": {"command": sh("echo run; exec sleep 30"), "activity_timeout_s": 0.3,
              "grace_s": 0.3},
    "spawn-error": {"command": [MISSING]},
    "user-stop": {"command": sh("echo run; exec sleep 30")},
}
MAX_RESTARTS = 2
ALL_RUNS = 1 + MAX_RESTARTS
# (policy, cause) → (runs, final status); budget exhausted ends `failed`, even after exit 0.
EXPECTED = {
    ("never", "exit-0"): (1, "exited"),
    ("never", "exit-1"): (1, "failed"),
    ("never", "sigkill"): (1, "failed"),
    ("never", "stall"): (1, "failed"),
    ("never", "spawn-error"): (1, "failed"),
    ("never", "user-stop"): (1, "killed"),
    ("on-failure", "exit-0"): (1, "exited"),
    ("on-failure", "exit-1"): (ALL_RUNS, "failed"),
    ("on-failure", "sigkill"): (ALL_RUNS, "failed"),
    ("on-failure", "stall"): (ALL_RUNS, "failed"),
    ("on-failure", "spawn-error"): (ALL_RUNS, "failed"),
    ("on-failure", "user-stop"): (1, "killed"),
    ("always", "exit-0"): (ALL_RUNS, "failed"),
    ("always", "exit-1"): (ALL_RUNS, "failed"),
    ("always", "sigkill"): (ALL_RUNS, "failed"),
    ("always", "stall"): (ALL_RUNS, "failed"),
    ("always", "spawn-error"): (ALL_RUNS, "failed"),
    ("always", "user-stop"): (1, "killed"),
}


def assert_lifecycle_over(engine, mission_id: str) -> None:
    """The barrier after which nothing may run the mission again, instead of watching its
    log for a while: its lifecycle task (the only code that starts a run of it, backoff
    sleeps included) has returned, and no other one was launched. ``wait`` and ``stop``
    return once that task reached its end; the store refuses any transition out of the
    terminal status, so no later run could be recorded either."""
    assert mission_id not in engine.supervisor.runtimes, "the mission still has a lifecycle"


def log_after_close(mission) -> str:
    """The mission's log once its engine has closed (``harness.run`` returned): the later
    barrier a run after the mission ended would have written before."""
    return Path(mission.log_path).read_text()


def count_runs(log: str, cause: str) -> int:
    if cause == "spawn-error":
        return log.count("spawn failed: command not found")
    return sum(1 for line in log.splitlines() if line == "run")


@pytest.mark.parametrize(("mode", "cause"), list(EXPECTED), ids=[f"{m}-{c}" for m, c in EXPECTED])
def test_restart_matrix(harness, mode: str, cause: str) -> None:
    runs, final = EXPECTED[(mode, cause)]
    policy = RestartPolicy(mode=RestartMode(mode), max_restarts=MAX_RESTARTS, backoff_ms=10)

    async def body(engine):
        m = await engine.run(MissionSpec(restart=policy, **CAUSES[cause]))
        if cause == "user-stop":
            await until_in_log(engine, m.id, "run\n")
            assert (await engine.stop(m.id)).status.value == "killed"
        done = await engine.wait(m.id, timeout_s=20)
        assert_lifecycle_over(engine, m.id)  # nothing may run after the mission ended
        return done, await engine.logs(m.id), await status_events(engine, m.id)

    done, log, events = harness.run(body)
    assert log_after_close(done) == log
    assert (count_runs(log, cause), done.status.value) == (runs, final), log
    assert done.restarts == runs - 1
    markers = [int(n) for n in re.findall(r"--- overmind \S+: restart (\d+) after", log)]
    assert markers == list(range(1, runs))
    last_reason = events[-1]["data"]["reason"]
    if runs > 1:
        assert "restart budget exhausted" in last_reason
    if cause == "sigkill":
        assert done.exit.signal == 9
    elif cause == "exit-1":
        assert done.exit.returncode == 1
    elif cause == "stall":
        assert "stalled" in done.exit.reason
    elif cause == "spawn-error":
        assert MISSING in done.exit.reason


def test_restart_marker_written_between_runs(harness) -> None:
    script = 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; ' \
             'echo "run $n"; exit 1'
    policy = RestartPolicy(mode=RestartMode.ON_FAILURE, max_restarts=2, backoff_ms=10)

    async def body(engine):
        m = await engine.run(MissionSpec(sh(script), restart=policy))
        await engine.wait(m.id, timeout_s=20)
        return await engine.logs(m.id)

    lines = harness.run(body).splitlines()
    shape = [line if line.startswith("run") else
             re.sub(r"^--- overmind \S+: (restart \d+) after .*---$", r"\1", line)
             for line in lines]
    assert shape == ["run 1", "restart 1", "run 2", "restart 2", "run 3"], lines
    assert "after exit status 1 (backoff" in lines[1]


def test_user_stop_never_restarts_even_under_always(harness) -> None:
    policy = RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=5, backoff_ms=10)

    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo run; exec sleep 30"), restart=policy))
        await until_in_log(engine, m.id, "run\n")
        stopped = await engine.stop(m.id)
        assert_lifecycle_over(engine, m.id)  # no restart can follow the stop
        return stopped, engine.store.get_mission(m.id), await engine.logs(m.id), \
            await engine.ps()

    stopped, later, log, live = harness.run(body)
    assert log_after_close(later) == log
    assert stopped.status.value == later.status.value == "killed"
    assert later.restarts == 0
    assert log.count("run\n") == 1 and "restart" not in log
    assert live == []


def test_user_stop_during_backoff_ends_killed_without_another_run(harness) -> None:
    policy = RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=5, backoff_ms=30_000)

    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo run; exit 1"), restart=policy))
        await until_status(engine, m.id, "restarting")
        loop = asyncio.get_running_loop()
        began = loop.time()
        stopped = await engine.stop(m.id)
        took = loop.time() - began
        assert_lifecycle_over(engine, m.id)  # the cut-short backoff starts no run
        return stopped, took, await engine.logs(m.id), await status_events(engine, m.id)

    stopped, took, log, events = harness.run(body)
    assert log_after_close(stopped) == log
    assert stopped.status.value == "killed"
    assert took < 1.0  # the 30 s backoff sleep was cut short
    assert log.count("run\n") == 1
    seq = [e["data"]["status"] for e in events]
    assert seq[-2:] == ["restarting", "killed"]
    assert seq.count("spawning") == 1
