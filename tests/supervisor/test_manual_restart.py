"""`restart REF`: a user's restart ends the current run (SIGTERM, grace, SIGKILL) and starts
a new one at once, under the same mission, outside the restart budget."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from engine_harness import py, sh, statuses, until_in_log, until_status

from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import InvalidTransition, UsageError
from overmind_jupyter.model import MissionKind, MissionSpec, RestartMode, RestartPolicy

pytestmark = pytest.mark.timeout(60)

IGNORES_TERM = py("""
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready", flush=True)
    time.sleep(60)
""")

SAYS_TERM = py("""
    import signal, time
    signal.signal(signal.SIGTERM, lambda *_: print("got SIGTERM", flush=True))
    print("ready", flush=True)
    time.sleep(60)
""")


def test_restart_runs_a_new_process_under_the_same_mission(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo run; exec sleep 30"), name="web"))
        await until_in_log(engine, m.id, "run")
        again = await engine.restart("web")
        await until(lambda log: log.count("run\n") == 2, engine, m.id)
        events = await engine.events(mission=m.id)
        return m, again, await statuses(engine, m.id), events

    m, again, seen, events = harness.run(body)
    assert again.id == m.id and again.status.value == "running"
    assert again.pid != m.pid and again.restarts == 1
    assert harness.survivors([m.pid]) == []  # the first run is gone
    assert seen[-3:] == ["restarting", "spawning", "running"]
    restart = [e["data"] for e in events if e["type"] == "mission-restart"]
    assert [(d["attempt"], d["reason"]) for d in restart] == [(1, "restarted by user")]


async def until(cond, engine, mission_id: str, timeout: float = 5.0):
    """Wait until ``cond(log)`` holds for the mission's log text."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        log = await engine.logs(mission_id)
        if cond(log):
            return log
        assert loop.time() < deadline, f"log never matched: {log!r}"
        await asyncio.sleep(0.02)


def test_restart_escalates_to_sigkill_after_the_grace_period(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(IGNORES_TERM, grace_s=0.3))
        await until_in_log(engine, m.id, "ready")
        loop = asyncio.get_running_loop()
        began = loop.time()
        again = await engine.restart(m.id)
        return m, again, loop.time() - began

    m, again, took = harness.run(body)
    assert 0.3 <= took < 3.0
    assert again.status.value == "running" and again.pid != m.pid
    assert again.exit.signal == 9  # how the first run ended
    assert harness.survivors([m.pid]) == []


def test_user_restarts_do_not_use_up_the_restart_budget(harness) -> None:
    policy = RestartPolicy(mode=RestartMode.ON_FAILURE, max_restarts=1, backoff_ms=10)

    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo run; exec sleep 30"), restart=policy))
        for _ in range(3):
            m = await engine.restart(m.id)
        return m

    m = harness.run(body)
    assert m.status.value == "running" and m.restarts == 3


def test_restart_cuts_a_backoff_short(harness) -> None:
    policy = RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=5, backoff_ms=30_000)

    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo run; exit 1"), restart=policy))
        await until_status(engine, m.id, "restarting")  # waiting ≈ 30 s before the next run
        loop = asyncio.get_running_loop()
        began = loop.time()
        await engine.restart(m.id)
        log = await until(lambda text: text.count("run\n") >= 2, engine, m.id)
        return loop.time() - began, log

    took, log = harness.run(body)
    assert took < 3.0 and log.count("run\n") >= 2


def test_ended_missions_and_blueprints_are_not_restarted(harness, tmp_path) -> None:
    blueprint = '[missions.a]\ncommand = ["sleep", "30"]\n'

    async def body(engine):
        m = await engine.run(MissionSpec(["true"], name="once"))
        await engine.wait(m.id)
        with pytest.raises(InvalidTransition, match=r"once has ended \(exited\); start it again"):
            await engine.restart("once")
        bp = await engine.apply(blueprint, "bp.toml", str(tmp_path), name="bp")
        with pytest.raises(UsageError, match="apply the blueprint again"):
            await engine.restart(bp.id)
        await engine.kill(bp.id, cascade=True)
        return (await engine.info("once"))["restarts"]

    assert harness.run(body) == 0


def test_a_stop_during_a_restart_ends_the_mission(harness) -> None:
    async def body(engine):
        # a grace period no loaded machine outlasts: the stop comes during the restart
        m = await engine.run(MissionSpec(SAYS_TERM, grace_s=10.0))
        await until_in_log(engine, m.id, "ready")
        restarting = asyncio.ensure_future(engine.restart(m.id))
        await until_in_log(engine, m.id, "got SIGTERM")  # the restart waits out its grace
        stopped = await engine.stop(m.id, force=True)
        await asyncio.wait_for(restarting, 5)  # not after the grace: the stop ended it
        return m, stopped, await engine.info(m.id)

    m, stopped, info = harness.run(body)
    assert stopped.status.value == "killed" and info["status"] == "killed"
    assert harness.survivors([m.pid]) == []


def test_two_restarts_at_once_restart_once(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo run; exec sleep 30")))
        both = await asyncio.gather(engine.restart(m.id), engine.restart(m.id))
        return m, both, await engine.info(m.id)

    m, both, info = harness.run(body)
    assert {x.pid for x in both} == {info["pid"]} and info["pid"] != m.pid
    assert info["restarts"] == 1 and info["status"] == "running"


def test_a_restarted_agent_answers_the_next_prompt(tmp_path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    agents = {"fake": [sys.executable, "-m", "overmind_jupyter.testing.acp_agent"]}

    async def said(engine, mission_id: str, text: str) -> str:
        for _ in range(200):
            events = await engine.events(mission=mission_id)
            told = "".join(e["data"].get("text", "") for e in events
                           if e["type"] == "agent-message")
            if text in told:
                return told
            await asyncio.sleep(0.05)
        raise AssertionError(f"the agent never said {text!r}; it said {told!r}")

    async def main():
        engine = Engine(tmp_path, agents=agents, provider_env={})
        await engine.start()
        try:
            m = await engine.run(MissionSpec(["hello"], kind=MissionKind.AGENT, agent="fake"))
            await said(engine, m.id, "echo: hello")
            again = await engine.restart(m.id)
            await engine.send(m.id, "again")
            return m, again, await said(engine, m.id, "echo: again")
        finally:
            await engine.close()

    m, again, told = asyncio.run(main())
    assert again.pid != m.pid and again.restarts == 1
    assert told == "echo: helloecho: again"
