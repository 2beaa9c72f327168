"""What a mission's end reads like: a user's stop reads ``stopped`` and ``wait`` reports
the process's own status; a mission out of restart budget says so (issue 15)."""

from __future__ import annotations

import pytest
from engine_harness import py, until_in_log

from overmind_jupyter import commands
from overmind_jupyter.model import MissionSpec, RestartMode, RestartPolicy

pytestmark = pytest.mark.timeout(60)

EXITS_0_ON_TERM = py("""
    import signal, sys, time
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready")
    time.sleep(60)
""")


def run_cli(engine, *argv: str):
    return commands.execute(engine, commands.parse(list(argv)), str(engine.root))


def test_clean_exit_on_sigterm_after_stop_reads_stopped_and_waits_0(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(EXITS_0_ON_TERM, name="svc"))
        await until_in_log(engine, m.id, "ready")
        stopped = await run_cli(engine, "stop", "svc")
        waited = await run_cli(engine, "wait", "svc")
        ps = await run_cli(engine, "ps", "--all")
        return stopped, waited, ps

    stopped, waited, ps = harness.run(body)
    assert "stopped: stopped by user; exit status 0" in stopped.text
    assert "killed" not in stopped.text
    assert waited.status == 0, waited.text
    assert "svc stopped: stopped by user; exit status 0" in waited.text
    assert "stopped (0)" in ps.text


def test_missions_stopped_by_a_shutdown_say_so_not_by_user(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(EXITS_0_ON_TERM, name="svc"))
        await until_in_log(engine, m.id, "ready")
        (ended,) = await engine.shutdown()
        return ended

    ended = harness.run(body)
    assert ended.exit.stopped and ended.exit.reason == "the engine shut down; exit status 0"


def test_restart_budget_exhausted_is_the_reason_not_the_last_exit(harness) -> None:
    policy = RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=2, window_s=60,
                           backoff_ms=1, jitter=0)

    async def body(engine):
        await engine.run(MissionSpec(["true"], name="flappy", restart=policy))
        return await run_cli(engine, "wait", "flappy", "--timeout", "20")

    waited = harness.run(body)
    assert waited.status == 1
    assert ("flappy failed: restart budget exhausted: 2 restarts within 60 s (max 2); "
            "last run: exit status 0") in waited.text
