"""What the parts of ``supervisor_bench.py`` share: sizes, units, the run's processes,
CPU / RSS readings and the ``Cycle`` record of one start/stop cycle."""

from __future__ import annotations

import dataclasses
import resource
import statistics
import sys
from pathlib import Path

import psutil
from _procs import TaggedProcs

BIN = Path(sys.executable).parent
SLEEP = ["sleep", "30"]
KiB, MiB, GiB = 1024, 1024 ** 2, 1024 ** 3
PROCS = TaggedProcs()  # every manager and poller this run starts


@dataclasses.dataclass(frozen=True)
class Sizes:
    missions: int  # 1: programs started/stopped per manager
    cycles: int  # 1: start/stop cycles per manager (median reported)
    mem_missions: int  # 2
    capture_mib: int  # 3
    capture_reps: int
    events: int  # 4
    ps_missions: int  # 5
    ps_reps: int


FULL = Sizes(missions=200, cycles=3, mem_missions=500, capture_mib=200, capture_reps=3,
             events=100_000, ps_missions=10_000, ps_reps=5)
QUICK = Sizes(missions=50, cycles=1, mem_missions=100, capture_mib=50, capture_reps=3,
              events=30_000, ps_missions=10_000, ps_reps=3)


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_of(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def rss_of(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


@dataclasses.dataclass
class Cycle:
    start_s: float  # request → all N exec'd (poller)
    stop_s: float  # request → all N reaped (poller)
    start_api_s: float  # request → the call returned
    stop_api_s: float
    start_cpu_s: float  # manager CPU during start
    stop_cpu_s: float
    rss_per_program: float | None = None  # manager RSS with N running minus idle, / N


def median_cycle(cycles: list[Cycle]) -> Cycle:
    fields = [f.name for f in dataclasses.fields(Cycle)]
    med = {}
    for f in fields:
        vals = [getattr(c, f) for c in cycles if getattr(c, f) is not None]
        med[f] = statistics.median(vals) if vals else None
    return Cycle(**med)
