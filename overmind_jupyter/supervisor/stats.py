"""CPU and memory of live missions, measured in one pass over the process table.

A mission's figures cover its process and every descendant (a shell's children, an
agent's tool commands). CPU is psutil's ``cpu_percent``: the share of one core (%) used
since the previous measurement of the same process, so the first measurement of a
process reads 0.0; psutil keeps the ``Process`` objects ``process_iter`` returns between
calls, which is what makes the next reading meaningful. A scan costs ~10 ms per 100
processes, so the engine runs it in a worker thread; one scan at a time (``_SCAN``), as
psutil's cache of ``Process`` objects is shared.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import Any

import psutil

from ..model import Mission, mission_to_dict
from . import logs

_START_TOLERANCE_S = 0.05  # s between the recorded and the observed process start time
_SCAN = threading.Lock()


def measure(missions: Iterable[Mission]) -> dict[str, dict[str, float | int]]:
    """``{mission id: {"cpu_percent": %, "rss_bytes": bytes}}`` of the live missions whose
    recorded process still runs (pid and start time match: a reused pid is not theirs).

    Scans the process table once, whatever the number of missions.
    """
    live = [m for m in missions if m.pid and not m.status.terminal]
    if not live:
        return {}
    with _SCAN:
        procs: dict[int, psutil.Process] = {}
        children: dict[int, list[int]] = {}
        for proc in psutil.process_iter(["ppid"]):
            procs[proc.pid] = proc
            children.setdefault(proc.info["ppid"] or 0, []).append(proc.pid)
        return {m.id: _tree_usage(m.pid, procs, children) for m in live
                if m.pid in procs and _started(procs[m.pid], m.pid_start)}


def rows(missions: list[Mission]) -> list[dict[str, Any]]:
    """``missions`` in the ``mission_to_dict`` shape; live ones also get ``last_line`` and
    (while their process runs) ``cpu_percent`` and ``rss_bytes`` from ``measure``."""
    usage = measure(missions)
    out = []
    for m in missions:
        data = mission_to_dict(m)
        if not m.status.terminal:
            data["last_line"] = logs.last_line(m.log_path)
            data.update(usage.get(m.id, {}))
        out.append(data)
    return out


def _started(proc: psutil.Process, recorded: float | None) -> bool:
    with contextlib.suppress(psutil.Error):
        return recorded is None or abs(proc.create_time() - recorded) <= _START_TOLERANCE_S
    return False


def _tree_usage(pid: int, procs: dict[int, psutil.Process],
                children: dict[int, list[int]]) -> dict[str, float | int]:
    cpu, rss, todo, seen = 0.0, 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(children.get(p, ()))
        with contextlib.suppress(psutil.Error):
            proc = procs[p]
            with proc.oneshot():
                cpu += proc.cpu_percent(interval=None)
                rss += proc.memory_info().rss
    return {"cpu_percent": round(cpu, 1), "rss_bytes": rss}
