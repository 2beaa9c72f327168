"""Cascade kill and engine shutdown: whole trees end, children first, nothing survives."""

from __future__ import annotations

import asyncio

import pytest
from engine_harness import py, read_pid, sh, status_events, until_in_log

from overmind_jupyter.model import MissionSpec

pytestmark = pytest.mark.timeout(60)

IGNORES_TERM = py("""
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready")
    time.sleep(300)
""")
FORKS = sh("sleep 300 & echo $! > gpid; wait")  # a grandchild in the mission's group


async def start_tree(harness, engine, grace_s: float = 5.0):
    """parent ─┬─ a (ignores SIGTERM) ── a1
               └─ b (forks a grandchild)      Returns (missions by name, grandchild pid)."""
    parent = await engine.run(MissionSpec(["sleep", "300"], name="parent", grace_s=grace_s))
    a = await engine.run(MissionSpec(IGNORES_TERM, name="a", parent="parent", grace_s=grace_s))
    a1 = await engine.run(MissionSpec(["sleep", "300"], name="a1", parent="a", grace_s=grace_s))
    b = await engine.run(MissionSpec(FORKS, name="b", parent=parent.id, grace_s=grace_s))
    gpid = harness.track(await asyncio.to_thread(read_pid, harness.root / "gpid"))
    await until_in_log(engine, a.id, "ready")
    return {m.name: m for m in (parent, a, a1, b)}, gpid


def test_cascade_kill_ends_children_before_parent_and_leaves_no_process(harness) -> None:
    async def body(engine):
        tree, gpid = await start_tree(harness, engine)
        assert all(m.status.value == "running" for m in tree.values())
        ended = await engine.kill("parent", cascade=True)
        killed_at = {name: next(e["seq"] for e in await status_events(engine, m.id)
                                if e["data"]["status"] == "killed")
                     for name, m in tree.items()}
        return tree, gpid, ended, killed_at, await engine.ps()

    tree, gpid, ended, killed_at, live = harness.run(body)
    assert [m.name for m in ended] == ["a1", "a", "b", "parent"]
    assert all(m.status.value == "killed" for m in ended)
    assert killed_at["a1"] < killed_at["a"] < killed_at["parent"]
    assert killed_at["b"] < killed_at["parent"]
    assert live == []
    assert harness.survivors([m.pid for m in tree.values()] + [gpid]) == []


def test_kill_without_cascade_leaves_children_running(harness) -> None:
    async def body(engine):
        await engine.run(MissionSpec(["sleep", "300"], name="parent"))
        child = await engine.run(MissionSpec(["sleep", "300"], name="child", parent="parent"))
        ended = await engine.kill("parent")
        return ended, engine.store.get_mission(child.id)

    ended, child = harness.run(body)
    assert [(m.name, m.status.value) for m in ended] == [("parent", "killed")]
    assert child.status.value == "running"  # the harness closes the engine, stopping it


def test_shutdown_stops_every_tree_with_grace(harness) -> None:
    async def body(engine):
        tree, gpid = await start_tree(harness, engine, grace_s=0.3)
        lone = await engine.run(MissionSpec(["sleep", "300"], name="lone"))
        loop = asyncio.get_running_loop()
        began = loop.time()
        ended = await engine.shutdown()
        return tree, lone, gpid, ended, loop.time() - began

    tree, lone, gpid, ended, took = harness.run(body)
    names = [m.name for m in ended]
    assert sorted(names) == ["a", "a1", "b", "lone", "parent"]
    assert names.index("a1") < names.index("a") < names.index("parent")
    assert all(m.status.value == "killed" for m in ended)
    assert took < 2.0  # a's grace (0.3 s) is the only wait
    assert harness.survivors([m.pid for m in [*tree.values(), lone]] + [gpid]) == []


def test_close_leaves_no_process_and_a_clean_record(harness) -> None:
    async def body(engine):
        tree, gpid = await start_tree(harness, engine, grace_s=0.3)
        await engine.close()
        pids = [m.pid for m in tree.values()] + [gpid]
        survivors = harness.survivors(pids)
        again = await harness.engine()
        return survivors, await again.ps(all=True), harness.reports[-1]

    survivors, missions, report = harness.run(body)
    assert survivors == []
    assert {m.name: m.status.value for m in missions} == dict.fromkeys(
        ["parent", "a", "a1", "b"], "killed")
    assert report == {"adopted": [], "resumed": [], "lost": []}
