"""``supervisor_bench.py`` #1: start/stop N ``sleep 30`` programs, Overmind vs its peers.

Overmind runs in-process (``Engine.run`` ×N, then ``Engine.shutdown()``); the floor is bare
``subprocess.Popen`` ×N from this process; circus and supervisord are in ``_sup_peers``.
Cycles are interleaved (Overmind, circus, supervisord, bare Popen) and repeated; cycle 0
is an untimed warm-up for all; the medians are reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from _sup_common import SLEEP, Cycle, Sizes, cpu_self, median_cycle
from _sup_peers import CircusManager, SupervisordManager
from _sup_poller import Poller

from overmind_jupyter.engine import Engine
from overmind_jupyter.model import MissionSpec, MissionStatus


class OvermindManager:
    name = "overmind"

    def __init__(self, tmp: Path) -> None:
        self.engine = Engine(tmp / "overmind-startstop")

    async def open(self) -> None:
        await self.engine.start()

    async def cycle(self, n: int) -> Cycle:
        loop = asyncio.get_running_loop()
        poller = Poller(os.getpid(), n)
        c0, t0 = cpu_self(), time.monotonic()
        missions = await asyncio.gather(*(self.engine.run(MissionSpec(list(SLEEP)))
                                          for _ in range(n)))
        t_api = time.monotonic()
        c_start = cpu_self() - c0
        bad = [m.status.value for m in missions if m.status is not MissionStatus.RUNNING]
        if bad:
            raise RuntimeError(f"overmind: {len(bad)} missions not running: {bad[:3]}")
        t_up = await loop.run_in_executor(None, poller.wait_up)
        c0, t1 = cpu_self(), time.monotonic()
        ended = await self.engine.shutdown()
        t_api_stop = time.monotonic()
        c_stop = cpu_self() - c0
        t_down = await loop.run_in_executor(None, poller.wait_down)
        if len(ended) != n:
            raise RuntimeError(f"overmind: shutdown ended {len(ended)} of {n} missions")
        return Cycle(t_up - t0, t_down - t1, t_api - t0, t_api_stop - t1, c_start, c_stop)

    async def close(self) -> None:
        await self.engine.close()


class BareManager:
    """No manager: ``subprocess.Popen`` ×N from this process, then SIGTERM ×N and
    ``waitpid`` ×N. What spawning and reaping N processes costs on this machine right now."""

    name = "bare Popen"

    def open(self) -> None:
        pass

    def cycle(self, n: int) -> Cycle:
        poller = Poller(os.getpid(), n)
        c0, t0 = cpu_self(), time.monotonic()
        procs = [subprocess.Popen(SLEEP, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT, start_new_session=True)
                 for _ in range(n)]
        t_api = time.monotonic()
        c_start = cpu_self() - c0
        t_up = poller.wait_up()
        c0, t1 = cpu_self(), time.monotonic()
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait()
        t_api_stop = time.monotonic()
        c_stop = cpu_self() - c0
        t_down = poller.wait_down()
        return Cycle(t_up - t0, t_down - t1, t_api - t0, t_api_stop - t1, c_start, c_stop)

    def close(self) -> None:
        pass


def _open_peers(others: list[Any], errors: dict[str, str]) -> None:
    for mgr in others:
        try:
            mgr.open()
        except Exception as exc:
            errors[mgr.name] = f"{type(exc).__name__}: {exc}"


async def _run_cycles(om: OvermindManager, others: list[Any], sz: Sizes,
                      results: dict[str, list[Cycle]], errors: dict[str, str]) -> None:
    for i in range(sz.cycles + 1):  # cycle 0 is a warm-up for everyone, not counted
        c = await om.cycle(sz.missions)
        if i:
            results["overmind"].append(c)
        for mgr in others:
            if mgr.name in errors:
                continue
            try:
                c = mgr.cycle(sz.missions)
            except Exception as exc:
                errors[mgr.name] = f"{type(exc).__name__}: {exc}"
                continue
            if i:
                results[mgr.name].append(c)


async def bench_startstop(tmp: Path, sz: Sizes) -> dict[str, Cycle]:
    """Interleaved cycles (overmind, circus, supervisord) × ``sz.cycles``; medians."""
    om = OvermindManager(tmp)
    others = [CircusManager(tmp, sz.missions), SupervisordManager(tmp, sz.missions),
              BareManager()]
    results: dict[str, list[Cycle]] = {"overmind": [], "circus": [], "supervisord": [],
                                       "bare Popen": []}
    errors: dict[str, str] = {}
    await om.open()
    try:
        _open_peers(others, errors)
        await _run_cycles(om, others, sz, results, errors)
    finally:
        for mgr in others:
            with contextlib.suppress(Exception):
                mgr.close()
        await om.close()
    out = {k: median_cycle(v) for k, v in results.items() if v}
    out["_errors"] = errors  # type: ignore[assignment]
    out["_all"] = results  # type: ignore[assignment]
    return out
