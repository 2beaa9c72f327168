"""The process-level truth of ``supervisor_bench.py`` #1: a separate poller process.

It timestamps with ``CLOCK_MONOTONIC`` (shared by all processes) the moment N children of
the manager's pid have exec'd ``sleep 30`` (``/proc/<pid>/stat`` parent and
``/proc/<pid>/cmdline``; a forked child that has not exec'd yet does not count), then the
moment every one of those pids is reaped. It ticks every 1 ms.
"""

from __future__ import annotations

import subprocess
import sys

from _sup_common import PROCS

POLLER = r"""
import os, sys, time
ppid, n, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
TICK = 0.001
def stat(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(b")") + 2:].split()
    return rest[0], int(rest[1]), rest[19]  # state, ppid, starttime
def is_sleep30(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")[:-1]
    except OSError:
        return False
    return len(argv) == 2 and os.path.basename(argv[0]) == b"sleep" and argv[1] == b"30"
ignored = set(os.listdir("/proc"))  # what exists before the request is not counted
up = {}
print("ready", flush=True)
deadline = time.monotonic() + timeout
while len(up) < n:
    for name in os.listdir("/proc"):
        if name in ignored or not name.isdigit():
            continue
        s = stat(name)
        if s is None:
            continue
        if s[1] != ppid:
            ignored.add(name)  # not a child of the manager (children never move *to* it)
        elif s[0] != b"Z" and is_sleep30(name):  # forked *and* exec'd
            up[name] = s[2]
            ignored.add(name)
    if len(up) >= n:
        break
    if time.monotonic() > deadline:
        print("timeout up", len(up), flush=True)
        sys.exit(1)
    time.sleep(TICK)
print("up", repr(time.monotonic()), " ".join(up), flush=True)
remaining = list(up.items())
deadline = time.monotonic() + 600
while remaining:  # gone = reaped (no /proc entry, or the pid now names another process)
    pid, start = remaining[-1]
    s = stat(pid)
    if s is None or s[2] != start:
        remaining.pop()
        continue
    if time.monotonic() > deadline:
        print("timeout down", len(remaining), flush=True)
        sys.exit(1)
    time.sleep(TICK)
print("down", repr(time.monotonic()), flush=True)
"""


class Poller:
    """A separate process that timestamps (CLOCK_MONOTONIC, shared by all processes) the
    moment N ``sleep 30`` children of ``ppid`` have exec'd, then the moment all are reaped."""

    def __init__(self, ppid: int, n: int, timeout_s: float = 60.0) -> None:
        argv = [sys.executable, "-c", POLLER, str(ppid), str(n), str(timeout_s)]
        self.proc = PROCS.popen(argv, stdout=subprocess.PIPE, text=True)
        self.pids: list[int] = []
        self._expect("ready")

    def _expect(self, word: str) -> list[str]:
        line = self.proc.stdout.readline().split()
        if not line or line[0] != word:
            raise RuntimeError(f"poller: expected {word!r}, got {' '.join(line) or 'EOF'}")
        return line[1:]

    def wait_up(self) -> float:
        t, *pids = self._expect("up")
        self.pids = [int(p) for p in pids]
        return float(t)

    def wait_down(self) -> float:
        t = float(self._expect("down")[0])
        self.proc.wait()
        PROCS.forget(self.proc)
        return t
