"""``supervisor_bench.py`` #3: capture of one mission writing N MiB to stdout.

Each rep (the first is an untimed warm-up: page cache, first fork) times Overmind (``run``
until the mission has exited and its log holds every byte), the baseline (an asyncio
subprocess whose protocol callback writes each chunk to a file) and the floor (the
writer's stdout is the file, no manager), with this process's CPU time for each.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _sup_common import GiB, MiB, Sizes, cpu_self

from overmind_jupyter.engine import Engine
from overmind_jupyter.model import MissionSpec, MissionStatus

WRITER = ("import sys\nb = (b'x' * 1023 + b'\\n') * 1024\nw = sys.stdout.buffer\n"
          "for _ in range(int(sys.argv[1])):\n    w.write(b)\nw.flush()\n")


class _ToFile(asyncio.SubprocessProtocol):
    def __init__(self, fd: int, done: asyncio.Future) -> None:
        self.fd, self.done = fd, done

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        os.write(self.fd, data)

    def connection_lost(self, exc: Exception | None) -> None:  # exited and pipes closed
        if not self.done.done():
            self.done.set_result(None)


async def _overmind(engine: Engine, argv: list[str], size: int) -> tuple[float, float]:
    """Overmind: run → exited, log holds every byte."""
    c0, t0 = cpu_self(), time.monotonic()
    m = await engine.run(MissionSpec(list(argv)))
    m = await engine.wait(m.id)
    got = os.path.getsize(m.log_path)
    t, c = time.monotonic() - t0, cpu_self() - c0
    if m.status is not MissionStatus.EXITED or got < size:
        raise RuntimeError(f"overmind capture: {m.status.value}, {got} bytes")
    os.unlink(m.log_path)
    return t, c


async def _protocol(path: Path, argv: list[str], size: int) -> tuple[float, float]:
    """Baseline: asyncio subprocess, protocol callback writing each chunk to a file."""
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    c0, t0 = cpu_self(), time.monotonic()
    done = loop.create_future()
    transport, _ = await loop.subprocess_exec(lambda fd=fd, done=done: _ToFile(fd, done),
                                              *argv,
                                              stdin=subprocess.DEVNULL,
                                              stderr=subprocess.STDOUT)
    await done
    t, c = time.monotonic() - t0, cpu_self() - c0
    transport.close()
    os.close(fd)
    if os.path.getsize(path) < size:
        raise RuntimeError("protocol capture lost bytes")
    path.unlink()
    return t, c


def _direct(path: Path, argv: list[str]) -> tuple[float, float]:
    """Reference (physical limit): the child writes straight to the file, no manager."""
    with open(path, "ab") as f:
        c0, t0 = cpu_self(), time.monotonic()
        subprocess.run(argv, stdout=f, check=True)
        t, c = time.monotonic() - t0, cpu_self() - c0
    path.unlink()
    return t, c


async def bench_capture(tmp: Path, sz: Sizes) -> dict[str, dict[str, float]]:
    mib = sz.capture_mib
    size = mib * MiB
    argv = [sys.executable, "-c", WRITER, str(mib)]
    engine = Engine(tmp / "capture")
    await engine.start()
    runs: dict[str, list[tuple[float, float]]] = {"overmind": [], "protocol": [], "direct": []}
    try:
        for rep in range(-1, sz.capture_reps):  # rep -1: warm-up (page cache, first fork)
            om = await _overmind(engine, argv, size)
            proto = await _protocol(tmp / f"protocol-{rep}.log", argv, size)
            direct = _direct(tmp / f"direct-{rep}.log", argv)
            if rep >= 0:
                runs["overmind"].append(om)
                runs["protocol"].append(proto)
                runs["direct"].append(direct)
    finally:
        await engine.close()
    out = {}
    for k, v in runs.items():
        t = statistics.median(x[0] for x in v)
        c = statistics.median(x[1] for x in v)
        out[k] = {"s": t, "gib_s": size / GiB / t, "cpu_ms_per_mib": c * 1000 / mib}
    return out
