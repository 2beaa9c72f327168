"""The child processes of a benchmark run: tracking them and killing them at the end.

``on_exit`` runs a cleanup at exit and on SIGINT/SIGTERM; ``guarded`` also after a call.
``ProcessGroups`` tracks process groups the run started (server and agent benchmarks);
``TaggedProcs`` tags every process the run starts with ``OVERMIND_BENCH_TAG=<random>`` in
its environment and kills managers, their descendants and tagged orphans (supervisor
benchmarks). ``free_ports`` picks free ports on 127.0.0.1.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import psutil

TAG_VAR = "OVERMIND_BENCH_TAG"


def on_exit(cleanup: Callable[[], object]) -> None:
    """Run ``cleanup`` at exit; on SIGINT/SIGTERM run it now (no graceful closes), then exit."""

    def on_signal(signum: int, _frame: Any) -> None:
        cleanup()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    atexit.register(cleanup)


def guarded(cleanup: Callable[[], object], fn: Callable[[], Any]) -> Any:
    """``fn()``, with ``cleanup`` after it, at exit and on SIGINT/SIGTERM (``on_exit``)."""
    on_exit(cleanup)
    try:
        return fn()
    finally:
        cleanup()


def free_ports(k: int) -> list[int]:
    socks = [socket.socket() for _ in range(k)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class ProcessGroups:
    """Process groups started by this run, each led by a process it spawned.

    ``popen`` starts a tracked ``Popen`` in its own group; ``track`` adds a group whose
    leader was started some other way (asyncio, an engine's mission). ``cleanup`` sends
    SIGTERM to the ``Popen`` groups and waits up to ``grace_s`` for their leaders (when
    ``grace_s`` > 0), then SIGKILLs every group and reaps the ``Popen`` leaders.
    """

    def __init__(self, grace_s: float = 0.0) -> None:
        self.grace_s = grace_s
        self.procs: list[subprocess.Popen] = []
        self.pgids: set[int] = set()

    def popen(self, argv: list[str], **kw: Any) -> subprocess.Popen:
        proc = subprocess.Popen(argv, start_new_session=True, **kw)  # own process group
        self.procs.append(proc)
        return proc

    def track(self, pgid: int) -> None:
        self.pgids.add(pgid)

    def discard(self, pgid: int) -> None:
        self.pgids.discard(pgid)

    def _terminate(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))

    def cleanup(self) -> None:
        if self.grace_s > 0:
            self._terminate()
        for proc in self.procs:
            with contextlib.suppress(OSError):  # the group may outlive its leader
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                proc.wait(timeout=2)
        for pgid in list(self.pgids):
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
        self.procs.clear()
        self.pgids.clear()


class TaggedProcs:
    """Managers and pollers started by this run, their descendants and tagged orphans."""

    def __init__(self) -> None:
        self.tag = ""  # set by new_tag(); inherited by every process the run starts
        self.spawned: list[subprocess.Popen] = []

    def new_tag(self) -> None:
        self.tag = os.environ[TAG_VAR] = uuid.uuid4().hex

    def popen(self, argv: list[str], **kw: Any) -> subprocess.Popen:
        proc = subprocess.Popen(argv, **kw)
        self.spawned.append(proc)
        return proc

    def forget(self, proc: subprocess.Popen) -> None:
        """``proc`` has been reaped: cleanup need not (and must not) signal its pid."""
        with contextlib.suppress(ValueError):
            self.spawned.remove(proc)

    def cleanup(self, scan: bool = True) -> list[int]:
        """Kill every process of this run: managers, their children, pollers, missions.

        ``scan``: also every process carrying this run's tag (orphans re-parented away).
        """
        killed: list[int] = []
        me = os.getpid()
        for proc in self.spawned:  # freeze the managers first: no new children meanwhile
            if proc.poll() is None:  # still ours (not reaped): its pid cannot be reused
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGSTOP)
        killed += self._kill_round(me, scan)
        killed += self._kill_round(me, scan)  # what slipped through (orphans of a spawn race)
        for proc in self.spawned:
            with contextlib.suppress(Exception):
                proc.wait(timeout=1)
        self.spawned.clear()
        return killed

    def _victims(self, me: int, scan: bool) -> dict[int, psutil.Process]:
        victims: dict[int, psutil.Process] = {}
        for proc in self.spawned:
            if proc.poll() is not None:
                continue
            with contextlib.suppress(psutil.Error):
                p = psutil.Process(proc.pid)
                for c in p.children(recursive=True):
                    victims[c.pid] = c
                victims[p.pid] = p
        with contextlib.suppress(psutil.Error):
            for c in psutil.Process(me).children(recursive=True):
                victims[c.pid] = c
        for p in psutil.process_iter() if scan and self.tag else ():  # re-parented orphans
            if p.pid == me or p.pid in victims:
                continue
            with contextlib.suppress(psutil.Error):
                if p.environ().get(TAG_VAR) == self.tag:
                    victims[p.pid] = p
        return victims

    def _kill_round(self, me: int, scan: bool) -> list[int]:
        killed: list[int] = []
        victims = self._victims(me, scan)
        for p in victims.values():
            with contextlib.suppress(psutil.Error):
                p.kill()
                killed.append(p.pid)
        psutil.wait_procs(list(victims.values()), timeout=5)  # also reaps our own children
        return killed
