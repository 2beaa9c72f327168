"""`follow` streams output written after it started and ends when the mission ends."""

from __future__ import annotations

import asyncio

import pytest
from engine_harness import sh, until, until_in_log

from overmind_jupyter.model import MissionSpec
from overmind_jupyter.supervisor import logs

pytestmark = pytest.mark.timeout(60)

# Prints "before", waits for the file `go`, prints three lines a little apart, exits.
GATED = sh("echo before; while [ ! -e go ]; do sleep 0.02; done; "
           "for i in 1 2 3; do echo after $i; sleep 0.05; done")


async def collect(stream, chunks: list[str] | None = None) -> str:
    """All of ``stream``; each chunk is also appended to ``chunks`` as it comes."""
    chunks = [] if chunks is None else chunks
    async for chunk in stream:
        chunks.append(chunk)
    return "".join(chunks)


@pytest.fixture
def liveness_checks(monkeypatch) -> list[bool]:
    """What each of a follower's ``finished()`` checks answered, in order (one per poll
    of the log): shows when a follower has looked at the mission and gone on waiting."""
    checks: list[bool] = []
    follow = logs.follow

    def counted(path, offset, finished, *args, **kwargs):
        def check() -> bool:
            checks.append(finished())
            return checks[-1]
        return follow(path, offset, check, *args, **kwargs)
    monkeypatch.setattr(logs, "follow", counted)
    return checks


def test_follow_yields_new_output_and_ends_with_the_mission(harness, liveness_checks
                                                          ) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(GATED))
        await until_in_log(engine, m.id, "before\n")
        reader = asyncio.ensure_future(collect(engine.follow(m.id, tail=0)))
        # the follower found nothing new, polled again, and is still following
        await until(lambda: len(liveness_checks) >= 2, what="a second poll of the log")
        assert not any(liveness_checks) and not reader.done()  # a live, silent mission
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
        chunks: list[str] = []
        reader = asyncio.ensure_future(collect(engine.follow(m.id, tail=2), chunks))
        await until(lambda: chunks, what="the tail")  # follows from here on
        (harness.root / "go").touch()
        return await asyncio.wait_for(reader, 10)

    assert harness.run(body) == "b\nc\nd\n"


def test_follow_of_an_ended_mission_returns_its_tail_at_once(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo one; echo two")))
        await engine.wait(m.id, timeout_s=10)
        return await asyncio.wait_for(collect(engine.follow(m.id, tail=1)), 5)

    assert harness.run(body) == "two\n"
