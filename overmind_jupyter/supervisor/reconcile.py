"""Start-up reconciliation: observed process state beats recorded state.

For every mission the store says is live: re-adopt it when its pid is alive *and* its
kernel start time matches the record (so a reused pid is never signalled); otherwise
mark it ``lost``. Missions that had no process (``pending``, ``restarting``) are resumed:
no process existed, so starting one cannot duplicate it.
"""

from __future__ import annotations

import dataclasses
import os

import psutil

from ..config import MISSION_ID_ENV
from ..model import Mission, MissionStatus
from .process import Child, same_process, start_time

S = MissionStatus
_HAD_PROCESS = (S.SPAWNING, S.RUNNING, S.STOPPING, S.STALLED)


@dataclasses.dataclass(slots=True)
class Plan:
    """What to do with each live mission found in the store at start-up."""

    adopt: list[tuple[Mission, Child]] = dataclasses.field(default_factory=list)
    resume: list[Mission] = dataclasses.field(default_factory=list)
    lost: list[Mission] = dataclasses.field(default_factory=list)


def plan(missions: list[Mission]) -> Plan:
    """Sort recorded live missions into adopt / resume / lost by looking at the processes."""
    result = Plan()
    for m in missions:
        if m.status not in _HAD_PROCESS:
            result.resume.append(m)
            continue
        child = _find(m)
        if child is None:
            result.lost.append(m)
        else:
            result.adopt.append((m, child))
    return result


def _find(m: Mission) -> Child | None:
    if m.pid and same_process(m.pid, m.pid_start):
        return Child(m.pid, m.pid_start or 0.0)
    if m.status is S.SPAWNING and m.pid is None:
        return _find_by_marker(m.id)  # the engine died between spawn and recording the pid
    return None


def _find_by_marker(mission_id: str) -> Child | None:
    """A group leader whose environment carries ``OVERMIND_MISSION_ID=<id>``."""
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid == _pgid(proc.pid) and \
                    proc.environ().get(MISSION_ID_ENV) == mission_id:
                started = start_time(proc.pid)
                return Child(proc.pid, started) if started else None
        except (psutil.Error, OSError):
            continue
    return None


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
