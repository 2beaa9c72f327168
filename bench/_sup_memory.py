"""``supervisor_bench.py`` #2: parent memory per running mission, each in a fresh process.

``bench_memory`` runs ``supervisor_bench.py --phase memory-<mode>`` (a fresh interpreter)
for Overmind and for the floor (bare ``Popen``, output to a file, plus a pidfd reader per
child); the phase measures the RSS delta of N running children after a 10-mission warm-up,
then the Python heap per child with ``tracemalloc``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import psutil
from _sup_common import PROCS, SLEEP, Sizes

from overmind_jupyter.engine import Engine
from overmind_jupyter.model import MissionSpec

ENTRY = Path(__file__).resolve().parent / "supervisor_bench.py"


def _gc_rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


class _EngineKids:
    """Overmind: ``Engine.run`` ×k, then ``Engine.shutdown()``."""

    def __init__(self, tmp: Path) -> None:
        self.engine = Engine(tmp)

    async def open(self) -> None:
        await self.engine.start()

    async def start(self, k: int) -> None:
        await asyncio.gather(*(self.engine.run(MissionSpec(list(SLEEP))) for _ in range(k)))

    async def stop(self) -> None:
        await self.engine.shutdown()

    async def close(self) -> None:
        await self.engine.close()


class _RawKids:
    """The floor: bare ``Popen`` (output to a file) + a pidfd reader per child."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.kids: list[tuple[subprocess.Popen, int, asyncio.Future]] = []

    async def open(self) -> None:
        self.loop = asyncio.get_running_loop()

    async def start(self, k: int) -> None:
        kids, loop = self.kids, self.loop
        for i in range(k):
            fd = os.open(self.tmp / f"raw-{len(kids)}-{i}.log",
                         os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            p = subprocess.Popen(SLEEP, stdout=fd, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
            os.close(fd)
            pidfd = os.pidfd_open(p.pid)
            fut = loop.create_future()
            loop.add_reader(pidfd, lambda f=fut: f.done() or f.set_result(None))
            kids.append((p, pidfd, fut))

    async def stop(self) -> None:
        for p, _, _ in self.kids:
            os.killpg(p.pid, signal.SIGTERM)
        for p, pidfd, fut in self.kids:
            await fut
            self.loop.remove_reader(pidfd)
            os.close(pidfd)
            p.wait()
        self.kids.clear()

    async def close(self) -> None:
        pass


async def memory_phase(mode: str, n: int, tmp: Path) -> dict[str, float]:
    """Runs in a fresh interpreter: RSS delta of n running children, then tracemalloc."""
    kids = _EngineKids(tmp) if mode == "overmind" else _RawKids(tmp)
    await kids.open()
    try:
        await kids.start(10)  # warm-up: first-use allocations are not per-mission costs
        await kids.stop()
        before = _gc_rss()
        await kids.start(n)
        after = _gc_rss()
        await kids.stop()
        gc.collect()
        k = min(n, 200)  # tracemalloc slows everything down; an average over 200 is plenty
        tracemalloc.start()
        heap0 = tracemalloc.get_traced_memory()[0]
        await kids.start(k)
        gc.collect()
        heap1 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        await kids.stop()
    finally:
        await kids.close()
    return {"rss_per": (after - before) / n, "heap_per": (heap1 - heap0) / k,
            "rss_before": before, "rss_after": after}


def bench_memory(tmp: Path, sz: Sizes) -> dict[str, dict[str, float]]:
    out = {}
    for mode in ("overmind", "raw"):
        d = tmp / f"mem-{mode}"
        d.mkdir()
        proc = PROCS.popen([sys.executable, str(ENTRY), "--phase", f"memory-{mode}",
                            "--n", str(sz.mem_missions), "--dir", str(d)],
                           stdout=subprocess.PIPE, text=True)
        stdout, _ = proc.communicate(timeout=300)
        PROCS.forget(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"memory phase {mode} failed (exit {proc.returncode})")
        out[mode] = json.loads(stdout.strip().splitlines()[-1])
    return out
