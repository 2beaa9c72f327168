"""`follow` streams output written after it started and ends when the mission ends."""

from __future__ import annotations

import asyncio

import pytest
from engine_harness import sh, until_in_log

from overmind_jupyter.model import MissionSpec

pytestmark = pytest.mark.timeout(60)

# Prints "before", waits for the file `go`, prints three lines a little apart, exits.
GATED = sh("echo before; while [ ! -e go ]; do sleep 0.02; done; "
           "for i in 1 2 3; do echo after $i; sleep 0.05; done")


async def collect(stream) -> str:
    return "".join([chunk async for chunk in stream])


def test_follow_yields_new_output_and_ends_with_the_mission(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(GATED))
        await until_in_log(engine, m.id, "before\n")
        reader = asyncio.ensure_future(collect(engine.follow(m.id, tail=0)))
        await asyncio.sleep(0.1)
        assert not reader.done()  # still following a live mission
        (harness.root / "go").touch()
        text = await asyncio.wait_for(reader, 10)
        return text, engine.store.get_mission(m.id)

    text, m = harness.run(body)
    assert text == "after 1\nafter 2\nafter 3\n"
    assert m.status.value == "exited"


def test_follow_starts_with_the_tail(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("printf 'a\\nb\\nc\\n'; while [ ! -e go ]; do "
                                            "sleep 0.02; done; echo d")))
        await until_in_log(engine, m.id, "c\n")
        reader = asyncio.ensure_future(collect(engine.follow(m.id, tail=2)))
        await asyncio.sleep(0.1)
        (harness.root / "go").touch()
        return await asyncio.wait_for(reader, 10)

    assert harness.run(body) == "b\nc\nd\n"


def test_follow_of_an_ended_mission_returns_its_tail_at_once(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo one; echo two")))
        await engine.wait(m.id, timeout_s=10)
        return await asyncio.wait_for(collect(engine.follow(m.id, tail=1)), 5)

    assert harness.run(body) == "two\n"
