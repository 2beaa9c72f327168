"""Mission logs rotate at their cap (two files kept) and `logs` / `logs -f` read across."""

from __future__ import annotations

import asyncio
import os

import pytest
from engine_harness import py

from overmind_jupyter.config import LOG_MAX_BYTES_ENV, Settings
from overmind_jupyter.errors import UsageError
from overmind_jupyter.model import MissionSpec
from overmind_jupyter.supervisor import logs

pytestmark = pytest.mark.timeout(90)

CAP = 64 * 1024
LINES = 40_000  # ~1.9 MB of numbered lines: 30 caps, written over about 2 s
WRITER = py(f"""
import sys, time
for i in range({LINES}):
    sys.stdout.write(f"line {{i:08d}} " + "x" * 30 + "\\n")
    if i % 400 == 0:
        sys.stdout.flush(); time.sleep(0.02)
""")


def numbers(text: str) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith("line ")]


def test_a_log_rotates_at_its_cap_and_is_read_across_the_rotation(harness, monkeypatch):
    monkeypatch.setenv(LOG_MAX_BYTES_ENV, str(CAP))

    async def body(engine):
        m = await engine.run(MissionSpec(WRITER, name="chatty"))
        followed = "".join([c async for c in engine.follow(m.id, tail=0)])
        await engine.wait(m.id, timeout_s=30)
        return (engine.resolve(m.id), followed, await engine.logs(m.id, 3),
                await engine.logs(m.id, None))

    m, followed, last3, whole = harness.run(body)
    current, previous = logs.size(m.log_path), logs.size(m.log_path + logs.ROTATED)
    assert m.status.value == "exited"
    assert previous > 0 and current + previous < 10 * CAP  # not the 1.9 MB written
    assert numbers(last3) == [LINES - 3, LINES - 2, LINES - 1]
    tail = numbers(whole)  # the current log after the end of the previous one
    span = LINES - tail[0]  # a rotation may drop what is written during its cut (logs.rotate)
    assert tail[-1] == LINES - 1 and tail == sorted(set(tail)) and len(tail) > span * 0.99
    assert len(whole.encode()) > current  # it did reach into <log>.1
    seen = numbers(followed)  # `logs -f` went on across every rotation, in order
    assert seen[-1] == LINES - 1 and len(seen) > LINES * 0.99
    assert seen == sorted(seen)


def test_the_cap_comes_from_the_environment_and_is_checked():
    assert Settings.from_env({}).log_max_bytes == 64 * 1024 * 1024
    assert Settings.from_env({LOG_MAX_BYTES_ENV: "1048576"}).log_max_bytes == 1024 * 1024
    for bad in ("12", "lots", "-5"):
        with pytest.raises(UsageError, match=LOG_MAX_BYTES_ENV):
            Settings.from_env({LOG_MAX_BYTES_ENV: bad})


def test_rotate_keeps_one_previous_log_and_appending_writers_go_on(tmp_path):
    path = tmp_path / "m.log"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, b"first\n")
    logs.rotate(path)
    os.write(fd, b"second\n")  # the writer keeps its descriptor: lands at the new end
    logs.rotate(path)
    os.write(fd, b"third\n")
    os.close(fd)
    assert path.read_bytes() == b"third\n"
    assert (tmp_path / "m.log.1").read_bytes() == b"second\n"
    assert logs.tail(path) == "second\nthird\n"
    assert asyncio.run(_follow_all(path, 0)) == b"third\n"


async def _follow_all(path, offset: int) -> bytes:
    return b"".join([c async for c in logs.follow(path, offset, lambda: True)])
