#!/usr/bin/env python
"""Overmind supervisor benchmarks, measured side by side with baselines in one run.

    .venv/bin/python bench/supervisor_bench.py [--quick]

Prints a table: Overmind's figure, the baseline's figure measured in the same run, the
ratio (Overmind / baseline), the target and PASS/MISS. It never exits non-zero because a
target was missed (only when the harness itself breaks). See bench/README.md.

1. start/stop N ``sleep 30`` missions vs circus and supervisord (N programs each), timed
   from the request until a separate poller process sees all N processes exec'd / reaped.
2. parent RSS (and tracemalloc heap) per running mission vs bare ``Popen`` + pidfd.
3. output capture of one mission writing 200 MiB vs an asyncio protocol callback.
4. events appended through the engine's store vs raw SQLite, one commit per event.
5. ``ps --json`` over 10,000 missions vs ``json.dumps`` of a plain ``SELECT *``.

Every process the run starts carries ``OVERMIND_BENCH_TAG=<random>`` in its environment
and is killed at the end, even after a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import dataclasses
import gc
import http.client
import json
import os
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
import uuid
import xmlrpc.client
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from overmind_jupyter.engine import Engine  # noqa: E402
from overmind_jupyter.model import (  # noqa: E402
    ExitInfo,
    Mission,
    MissionKind,
    MissionSpec,
    MissionStatus,
    RestartPolicy,
)
from overmind_jupyter.store import rows, schema  # noqa: E402

TAG_VAR = "OVERMIND_BENCH_TAG"
TAG = ""  # set by main(); inherited by every process the run starts
BIN = Path(sys.executable).parent
SLEEP = ["sleep", "30"]
KiB, MiB, GiB = 1024, 1024 ** 2, 1024 ** 3


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


# -- cleanup ------------------------------------------------------------------------
_spawned: list[subprocess.Popen] = []  # managers and pollers started by this run


def _popen(argv: list[str], **kw: Any) -> subprocess.Popen:
    proc = subprocess.Popen(argv, **kw)
    _spawned.append(proc)
    return proc


def cleanup(scan: bool = True) -> list[int]:
    """Kill every process of this run: managers, their children, pollers, missions.

    ``scan``: also every process carrying this run's tag (orphans re-parented away).
    """
    killed: list[int] = []
    me = os.getpid()
    for proc in _spawned:  # freeze the managers first: no new children while we collect
        if proc.poll() is None:  # still ours (not reaped): its pid cannot have been reused
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGSTOP)
    killed += _kill_round(me, scan)
    killed += _kill_round(me, scan)  # anything that slipped through (orphans of a spawn race)
    for proc in _spawned:
        with contextlib.suppress(Exception):
            proc.wait(timeout=1)
    _spawned.clear()
    return killed


def _kill_round(me: int, scan: bool) -> list[int]:
    killed: list[int] = []
    victims: dict[int, psutil.Process] = {}
    for proc in _spawned:
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
    for p in psutil.process_iter() if scan and TAG else ():  # orphans re-parented away
        if p.pid == me or p.pid in victims:
            continue
        with contextlib.suppress(psutil.Error):
            if p.environ().get(TAG_VAR) == TAG:
                victims[p.pid] = p
    for p in victims.values():
        with contextlib.suppress(psutil.Error):
            p.kill()
            killed.append(p.pid)
    psutil.wait_procs(list(victims.values()), timeout=5)  # also reaps our own children
    return killed


_scan_on_signal = True


def _on_signal(signum: int, _frame: Any) -> None:
    """SIGINT/SIGTERM: kill everything now (no graceful closes), then exit."""
    cleanup(_scan_on_signal)
    os._exit(128 + signum)


# -- process-level truth --------------------------------------------------------------
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
        self.proc = _popen([sys.executable, "-c", POLLER, str(ppid), str(n), str(timeout_s)],
                           stdout=subprocess.PIPE, text=True)
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
        with contextlib.suppress(ValueError):
            _spawned.remove(self.proc)
        return t


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


# -- 1. start/stop: Overmind in-process ------------------------------------------------
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


# -- 1. start/stop: circus -----------------------------------------------------------
def free_ports(k: int) -> list[int]:
    socks = [socket.socket() for _ in range(k)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_children(pid: int, n: int, timeout_s: float = 60.0) -> None:
    """Untimed: wait until ``pid`` has exactly ``n`` exec'd ``sleep 30`` children."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        count = 0
        with contextlib.suppress(psutil.Error):
            for c in psutil.Process(pid).children():
                with contextlib.suppress(psutil.Error):
                    if c.status() != psutil.STATUS_ZOMBIE and c.cmdline()[-2:] == SLEEP:
                        count += 1
        if count == n:
            return
        time.sleep(0.05)
    raise RuntimeError(f"pid {pid}: expected {n} sleep children, have {count}")


class CircusManager:
    """circusd with N ``[watcher:wN]`` sections driven by ``circus.client.CircusClient``.

    Fair method: ``autostart = true`` is required because circus's "start all" only starts
    watchers whose ``autostart`` is true. So circusd boots and starts the N watchers
    (untimed: it includes its interpreter start), we stop them all, and then time
    ``start`` / ``stop`` (``waiting: true``, as ``circusctl --waiting``) of the loaded
    daemon: the same "start request → all running" that Overmind is timed on.
    """

    name = "circus"

    def __init__(self, tmp: Path, n: int) -> None:
        self.dir = tmp / "circus"
        self.dir.mkdir()
        self.n = n
        ctl, pub = free_ports(2)
        self.endpoint = f"tcp://127.0.0.1:{ctl}"
        sections = [f"[circus]\nendpoint = {self.endpoint}\n"
                    f"pubsub_endpoint = tcp://127.0.0.1:{pub}\nstatsd = false\n"]
        sections += [f"[watcher:w{i}]\ncmd = {' '.join(SLEEP)}\nnumprocesses = 1\n"
                     f"copy_env = true\nautostart = true\n" for i in range(n)]
        (self.dir / "circus.ini").write_text("\n".join(sections))
        self.proc: subprocess.Popen | None = None
        self.client = None

    def open(self) -> None:
        from circus.client import CircusClient

        with open(self.dir / "circusd.log", "wb") as log:
            self.proc = _popen([str(BIN / "circusd"), str(self.dir / "circus.ini")],
                               stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        self.client = CircusClient(endpoint=self.endpoint, timeout=60)
        wait_children(self.proc.pid, self.n)  # booted with autostart
        self._call("stop")
        wait_children(self.proc.pid, 0)
        self.idle_rss = rss_of(self.proc.pid)

    def _call(self, command: str) -> dict:
        res = self.client.call({"command": command, "properties": {"waiting": True}})
        if res.get("status") != "ok":
            raise RuntimeError(f"circus {command}: {res}")
        return res

    def cycle(self, n: int) -> Cycle:
        pid = self.proc.pid
        poller = Poller(pid, n)
        c0, t0 = cpu_of(pid), time.monotonic()
        self._call("start")
        t_api = time.monotonic()
        t_up = poller.wait_up()
        c_start = cpu_of(pid) - c0
        rss = (rss_of(pid) - self.idle_rss) / n
        c0, t1 = cpu_of(pid), time.monotonic()
        self._call("stop")
        t_api_stop = time.monotonic()
        t_down = poller.wait_down()
        c_stop = cpu_of(pid) - c0
        return Cycle(t_up - t0, t_down - t1, t_api - t0, t_api_stop - t1, c_start, c_stop, rss)

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.call({"command": "quit", "properties": {}})
            self.client.stop()
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)


# -- 1. start/stop: the floor ----------------------------------------------------------
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


# -- 1. start/stop: supervisord ------------------------------------------------------
class SupervisordManager:
    """supervisord with N ``[program:pN]`` (``startsecs=0``, ``autostart=false``).

    Driven through the XML-RPC calls ``supervisorctl start all`` / ``stop all`` make
    (``startAllProcesses()`` / ``stopAllProcesses()``, wait=True), issued from this
    process over the unix socket, so supervisorctl's own interpreter start is not counted.
    """

    name = "supervisord"

    def __init__(self, tmp: Path, n: int) -> None:
        self.dir = tmp / "supervisord"
        self.dir.mkdir()
        self.sock = self.dir / "supervisor.sock"
        d = self.dir
        sections = [
            f"[unix_http_server]\nfile = {self.sock}\n",
            f"[supervisord]\nnodaemon = true\nlogfile = {d}/supervisord.log\n"
            f"pidfile = {d}/supervisord.pid\nchildlogdir = {d}\nminfds = 4096\n",
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
            f"[supervisorctl]\nserverurl = unix://{self.sock}\n",
        ]
        sections += [f"[program:p{i}]\ncommand = {' '.join(SLEEP)}\nautostart = false\n"
                     f"autorestart = false\nstartsecs = 0\n" for i in range(n)]
        (d / "supervisord.conf").write_text("\n".join(sections))
        self.proc: subprocess.Popen | None = None

    def open(self) -> None:
        from supervisor.xmlrpc import SupervisorTransport

        with open(self.dir / "supervisord.out", "wb") as out:
            self.proc = _popen([str(BIN / "supervisord"), "-c",
                                str(self.dir / "supervisord.conf")],
                               stdout=out, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + 30
        while True:
            self.rpc = xmlrpc.client.ServerProxy(  # a fresh one: a failed call poisons it
                "http://127.0.0.1", transport=SupervisorTransport(None, None,
                                                                  f"unix://{self.sock}"))
            try:
                if self.rpc.supervisor.getState()["statename"] == "RUNNING":
                    break
            except (OSError, xmlrpc.client.Error, http.client.HTTPException):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("supervisord did not come up; see supervisord.out")
            time.sleep(0.05)
        self.idle_rss = rss_of(self.proc.pid)

    def cycle(self, n: int) -> Cycle:
        pid = self.proc.pid
        poller = Poller(pid, n)
        c0, t0 = cpu_of(pid), time.monotonic()
        res = self.rpc.supervisor.startAllProcesses()
        t_api = time.monotonic()
        t_up = poller.wait_up()
        c_start = cpu_of(pid) - c0
        rss = (rss_of(pid) - self.idle_rss) / n
        if len(res) != n:
            raise RuntimeError(f"supervisord started {len(res)} of {n}")
        c0, t1 = cpu_of(pid), time.monotonic()
        self.rpc.supervisor.stopAllProcesses()
        t_api_stop = time.monotonic()
        t_down = poller.wait_down()
        c_stop = cpu_of(pid) - c0
        return Cycle(t_up - t0, t_down - t1, t_api - t0, t_api_stop - t1, c_start, c_stop, rss)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.rpc.supervisor.shutdown()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)


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
        for mgr in others:
            try:
                mgr.open()
            except Exception as exc:
                errors[mgr.name] = f"{type(exc).__name__}: {exc}"
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
    finally:
        for mgr in others:
            with contextlib.suppress(Exception):
                mgr.close()
        await om.close()
    out = {k: median_cycle(v) for k, v in results.items() if v}
    out["_errors"] = errors  # type: ignore[assignment]
    out["_all"] = results  # type: ignore[assignment]
    return out


# -- 2. memory per running mission (fresh subprocess each) ------------------------------
def _gc_rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


async def _memory_phase(mode: str, n: int, tmp: Path) -> dict[str, float]:
    """Runs in a fresh interpreter: RSS delta of n running children, then tracemalloc."""
    if mode == "overmind":
        engine = Engine(tmp)
        await engine.start()

        async def start(k: int) -> None:
            await asyncio.gather(*(engine.run(MissionSpec(list(SLEEP))) for _ in range(k)))

        async def stop() -> None:
            await engine.shutdown()
    else:  # the floor: bare Popen (output to a file) + a pidfd reader per child
        loop = asyncio.get_running_loop()
        kids: list[tuple[subprocess.Popen, int, asyncio.Future]] = []

        async def start(k: int) -> None:
            for i in range(k):
                fd = os.open(tmp / f"raw-{len(kids)}-{i}.log",
                             os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
                p = subprocess.Popen(SLEEP, stdout=fd, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
                os.close(fd)
                pidfd = os.pidfd_open(p.pid)
                fut = loop.create_future()
                loop.add_reader(pidfd, lambda f=fut: f.done() or f.set_result(None))
                kids.append((p, pidfd, fut))

        async def stop() -> None:
            for p, _, _ in kids:
                os.killpg(p.pid, signal.SIGTERM)
            for p, pidfd, fut in kids:
                await fut
                loop.remove_reader(pidfd)
                os.close(pidfd)
                p.wait()
            kids.clear()
    try:
        await start(10)  # warm-up: first-use allocations are not per-mission costs
        await stop()
        before = _gc_rss()
        await start(n)
        after = _gc_rss()
        await stop()
        gc.collect()
        k = min(n, 200)  # tracemalloc slows everything down; an average over 200 is plenty
        tracemalloc.start()
        heap0 = tracemalloc.get_traced_memory()[0]
        await start(k)
        gc.collect()
        heap1 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        await stop()
    finally:
        if mode == "overmind":
            await engine.close()
    return {"rss_per": (after - before) / n, "heap_per": (heap1 - heap0) / k,
            "rss_before": before, "rss_after": after}


def bench_memory(tmp: Path, sz: Sizes) -> dict[str, dict[str, float]]:
    out = {}
    for mode in ("overmind", "raw"):
        d = tmp / f"mem-{mode}"
        d.mkdir()
        proc = _popen([sys.executable, __file__, "--phase", f"memory-{mode}",
                       "--n", str(sz.mem_missions), "--dir", str(d)],
                      stdout=subprocess.PIPE, text=True)
        stdout, _ = proc.communicate(timeout=300)
        _spawned.remove(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"memory phase {mode} failed (exit {proc.returncode})")
        out[mode] = json.loads(stdout.strip().splitlines()[-1])
    return out


# -- 3. output capture ----------------------------------------------------------------
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


async def bench_capture(tmp: Path, sz: Sizes) -> dict[str, dict[str, float]]:
    mib = sz.capture_mib
    size = mib * MiB
    argv = [sys.executable, "-c", WRITER, str(mib)]
    engine = Engine(tmp / "capture")
    await engine.start()
    loop = asyncio.get_running_loop()
    runs: dict[str, list[tuple[float, float]]] = {"overmind": [], "protocol": [], "direct": []}
    try:
        for rep in range(-1, sz.capture_reps):  # rep -1: warm-up (page cache, first fork)
            # Overmind: run → exited, log holds every byte
            c0, t0 = cpu_self(), time.monotonic()
            m = await engine.run(MissionSpec(list(argv)))
            m = await engine.wait(m.id)
            got = os.path.getsize(m.log_path)
            t, c = time.monotonic() - t0, cpu_self() - c0
            if m.status is not MissionStatus.EXITED or got < size:
                raise RuntimeError(f"overmind capture: {m.status.value}, {got} bytes")
            if rep >= 0:
                runs["overmind"].append((t, c))
            os.unlink(m.log_path)
            # baseline: asyncio subprocess, protocol callback writing each chunk to a file
            path = tmp / f"protocol-{rep}.log"
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
            if rep >= 0:
                runs["protocol"].append((t, c))
            path.unlink()
            # reference (physical limit): the child writes straight to the file, no manager
            path = tmp / f"direct-{rep}.log"
            with open(path, "ab") as f:
                c0, t0 = cpu_self(), time.monotonic()
                subprocess.run(argv, stdout=f, check=True)
                t, c = time.monotonic() - t0, cpu_self() - c0
            if rep >= 0:
                runs["direct"].append((t, c))
            path.unlink()
    finally:
        await engine.close()
    out = {}
    for k, v in runs.items():
        t = statistics.median(x[0] for x in v)
        c = statistics.median(x[1] for x in v)
        out[k] = {"s": t, "gib_s": size / GiB / t, "cpu_ms_per_mib": c * 1000 / mib}
    return out


# -- 4. events ------------------------------------------------------------------------
async def _engine_events(tmp: Path, n: int, yield_every: int) -> float:
    engine = Engine(tmp)
    await engine.start()
    store = engine.store
    try:
        target = store.last_seq() + n
        t0 = time.monotonic()
        for i in range(n):
            store.append_event("bench", {"i": i, "note": "event from the benchmark"},
                               mission="m" + str(i % 200))
            if i % yield_every == yield_every - 1:
                await asyncio.sleep(0)
        while store.last_seq() < target:  # until every one is committed
            await asyncio.sleep(0)
        return n / (time.monotonic() - t0)
    finally:
        await engine.close()


def _raw_events(tmp: Path, n: int, per_commit: int) -> float:
    conn = sqlite3.connect(tmp / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    schema.m002_events(conn)  # the same table and indexes as the engine's
    ins = "INSERT INTO events (ts, type, mission, objective, party, data) VALUES (?,?,?,?,?,?)"
    t0 = time.monotonic()
    for i in range(n):
        if i % per_commit == 0:
            conn.execute("BEGIN IMMEDIATE")
        conn.execute(ins, (time.time(), "bench", "m" + str(i % 200), None, None, json.dumps(
            {"i": i, "note": "event from the benchmark"}, separators=(",", ":"))))
        if i % per_commit == per_commit - 1 or i == n - 1:
            conn.execute("COMMIT")
    rate = n / (time.monotonic() - t0)
    conn.close()
    return rate


async def bench_events(tmp: Path, sz: Sizes) -> dict[str, float]:
    out = {}
    for label, every, n in (("engine/100", 100, sz.events), ("engine/10", 10, sz.events // 2),
                            ("engine/1", 1, sz.events // 5)):
        d = tmp / f"events-{every}"
        out[label] = await _engine_events(d, n, every)
    for label, per, n in (("raw/1", 1, sz.events // 5), ("raw/100", 100, sz.events)):
        d = tmp / f"raw-events-{per}"
        d.mkdir()
        out[label] = _raw_events(d, n, per)
    return out


# -- 5. ps --json -----------------------------------------------------------------------
async def bench_ps(tmp: Path, sz: Sizes) -> dict[str, float]:
    engine = Engine(tmp / "ps")
    await engine.start()
    try:
        store = engine.store
        now = time.time()
        missions = []
        for i in range(sz.ps_missions):  # terminal statuses only: nothing claims a live pid
            status = (MissionStatus.EXITED, MissionStatus.FAILED, MissionStatus.KILLED)[i % 3]
            mid = uuid.uuid4().hex[:12]
            name = f"mission-{i}"
            missions.append(Mission(
                id=mid, name=name, kind=MissionKind.COMMAND,
                command=["python", "-m", "pytest", "-x", f"tests/t{i}.py"],
                cwd=str(engine.root), env={"FOO": "1", "BAR": "2"}, parent_id=None,
                restart=RestartPolicy(), activity_timeout_s=None, grace_s=5.0,
                status=status, created_at=now + i * 1e-3, updated_at=now + i * 1e-3 + 1,
                log_path=str(engine.logs_dir / f"{name}-{mid}.log"), pid=10_000 + i,
                pid_start=now + i * 1e-3, started_at=now + i * 1e-3,
                exit=ExitInfo(returncode=i % 3, reason=f"exit status {i % 3}")))
        # the store's own row mapping, in one transaction (insert_mission commits each)
        store.conn.execute("BEGIN IMMEDIATE")
        store.conn.executemany(
            f"INSERT INTO missions ({', '.join(rows.COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(rows.COLUMNS))})",
            [rows.mission_to_row(m) for m in missions])
        store.conn.execute("COMMIT")
        times, base, size = [], [], 0
        for _ in range(sz.ps_reps):
            t0 = time.perf_counter()
            text = await engine.ps_json(all=True)  # what `ps --json` prints
            times.append(time.perf_counter() - t0)
            size = len(text)
            t0 = time.perf_counter()
            json.dumps(store.conn.execute("SELECT * FROM missions").fetchall())
            base.append(time.perf_counter() - t0)
        count = len(json.loads(text))
        if count != sz.ps_missions:
            raise RuntimeError(f"ps returned {count} missions")
    finally:
        await engine.close()
    return {"ms": statistics.median(times) * 1000, "base_ms": statistics.median(base) * 1000,
            "bytes": size}


# -- report -----------------------------------------------------------------------------
@dataclasses.dataclass
class Row:
    key: str
    what: str
    value: float | None
    fmt: str
    baseline: str
    base_value: float | None
    target: str
    ok: bool | None  # None: informational, no target

    def cells(self) -> list[str]:
        v = self.fmt.format(self.value) if self.value is not None else "error"
        b = self.fmt.format(self.base_value) if self.base_value is not None else "—"
        ratio = (f"{self.value / self.base_value:.2f}×" if self.value is not None
                 and self.base_value else "—")
        verdict = {True: "PASS", False: "MISS", None: "info"}[self.ok]
        if self.value is None:
            verdict = "ERROR" if self.ok is not None else "info"
        elif self.ok is not None and "×" in self.target and self.base_value is None:
            verdict = "n/a"  # the peer it is compared with failed (see Details)
        return [self.key, self.what, v, f"{b} ({self.baseline})" if self.baseline else b,
                ratio, self.target, verdict]


def print_table(rows: list[Row]) -> None:
    header = ["#", "benchmark", "overmind", "baseline (same run)", "ratio", "target", "result"]
    table = [header] + [r.cells() for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print(line)
    print(line)


async def _atry(errors: dict[str, str], key: str, coro: Any) -> Any:
    try:
        return await coro
    except Exception as exc:
        errors[key] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        return None


async def main_async(sz: Sizes, quick: bool) -> None:
    errors: dict[str, str] = {}
    started = time.monotonic()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="overmind-bench-") as tmpname:
        tmp = Path(tmpname)
        took: dict[str, float] = {}

        async def timed(key: str, coro: Any) -> Any:
            t0 = time.monotonic()
            try:
                return await _atry(errors, key, coro)
            finally:
                took[key] = time.monotonic() - t0

        ss = await timed("1", bench_startstop(tmp, sz))
        mem = await timed("2", asyncio.to_thread(bench_memory, tmp, sz))
        cap = await timed("3", bench_capture(tmp, sz))
        ev = await timed("4", bench_events(tmp, sz))
        ps = await timed("5", bench_ps(tmp, sz))
    leftover = cleanup()
    n = sz.missions
    rows: list[Row] = []
    if ss:
        errors.update({f"1 ({k})": v for k, v in ss["_errors"].items()})
    om, ci, sv = (ss or {}).get("overmind"), (ss or {}).get("circus"), (ss or {}).get("supervisord")
    bare = (ss or {}).get("bare Popen")

    def g(c: Cycle | None, f: str) -> float | None:
        return getattr(c, f) if c is not None else None

    def ratio_ok(a: float | None, b: float | None, limit: float) -> bool:
        return a is not None and b is not None and a <= limit * b

    rows += [
        Row("1a", f"start {n} sleep missions → all exec'd (s)", g(om, "start_s"), "{:.3f}",
            "circus", g(ci, "start_s"), "≤ 0.30× circus",
            ratio_ok(g(om, "start_s"), g(ci, "start_s"), 0.30)),
        Row("1b", f"stop {n} → all reaped (s)", g(om, "stop_s"), "{:.3f}", "circus",
            g(ci, "stop_s"), "≤ 1.00× circus", ratio_ok(g(om, "stop_s"), g(ci, "stop_s"), 1.0)),
        Row("1c", f"start {n} (s)", g(om, "start_s"), "{:.3f}", "supervisord",
            g(sv, "start_s"), "—", None),
        Row("1d", f"stop {n} (s)", g(om, "stop_s"), "{:.3f}", "supervisord", g(sv, "stop_s"),
            "—", None),
        Row("1e", f"start {n} (s)", g(om, "start_s"), "{:.3f}", "floor: bare Popen",
            g(bare, "start_s"), "—", None),
        Row("1f", f"stop {n} (s)", g(om, "stop_s"), "{:.3f}", "floor: bare Popen",
            g(bare, "stop_s"), "—", None),
    ]
    m = (mem or {}).get("overmind")
    raw = (mem or {}).get("raw")
    rss = m["rss_per"] / KiB if m else None
    rows += [
        Row("2a", f"parent RSS per running mission, {sz.mem_missions} (KiB)", rss, "{:.1f}",
            "Popen+pidfd", raw["rss_per"] / KiB if raw else None, "≤ 50 KiB",
            rss is not None and rss <= 50),
        Row("2b", "Python heap per mission, tracemalloc (KiB)",
            m["heap_per"] / KiB if m else None, "{:.1f}", "Popen+pidfd",
            raw["heap_per"] / KiB if raw else None, "—", None),
    ]
    co, cp = (cap or {}).get("overmind"), (cap or {}).get("protocol")
    gib = co["gib_s"] if co else None
    cpu = co["cpu_ms_per_mib"] if co else None
    rows += [
        Row("3a", f"capture {sz.capture_mib} MiB stdout → log (GiB/s)", gib, "{:.2f}",
            "asyncio protocol", cp["gib_s"] if cp else None, "≥ 1.5 GiB/s",
            gib is not None and gib >= 1.5),
        Row("3b", "parent CPU per MiB captured (ms/MiB)", cpu, "{:.3f}", "asyncio protocol",
            cp["cpu_ms_per_mib"] if cp else None, "≤ 0.5 ms/MiB", cpu is not None and cpu <= 0.5),
        Row("3c", f"capture {sz.capture_mib} MiB (GiB/s)", gib, "{:.2f}",
            "floor: child → file, no manager", (cap or {}).get("direct", {}).get("gib_s"), "—",
            None),
    ]
    ev = ev or {}
    e100 = ev.get("engine/100")
    rows += [
        Row("4a", "events committed/s, yield every 100 appends", e100, "{:,.0f}",
            "raw, 1 commit/event", ev.get("raw/1"), "≥ 50,000/s",
            e100 is not None and e100 >= 50_000),
        Row("4b", "events committed/s, yield every 10 appends", ev.get("engine/10"), "{:,.0f}",
            "raw, 1 commit/event", ev.get("raw/1"), "—", None),
        Row("4c", "events committed/s, yield after every append", ev.get("engine/1"),
            "{:,.0f}", "raw, 1 commit/event", ev.get("raw/1"), "—", None),
        Row("4d", "events committed/s, yield every 100 appends", e100, "{:,.0f}",
            "raw, 1 commit/100", ev.get("raw/100"), "—", None),
    ]
    pms = ps["ms"] if ps else None
    rows += [
        Row("5", f"ps --json over {sz.ps_missions:,} missions (ms)", pms, "{:.1f}",
            "SELECT * + dumps", ps["base_ms"] if ps else None, "≤ 100 ms",
            pms is not None and pms <= 100),
    ]

    print(f"\nOvermind supervisor benchmarks — {time.strftime('%Y-%m-%d %H:%M:%S')}"
          f"{' (--quick)' if quick else ''}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, kernel {os.uname().release}"
          f"; medians of {sz.cycles} start/stop cycle(s), {sz.capture_reps} capture rep(s)")
    print_table(rows)

    print("\nDetails")
    if ss:
        print(f"  1. start/stop of {n} programs (median; 'api' = the call returned, "
              "cpu = the manager's CPU time, rss = manager RSS per running program):")
        for name in ("overmind", "circus", "supervisord", "bare Popen"):
            c = ss.get(name)
            if c is None:
                continue
            rss_txt = f"  rss {c.rss_per_program / KiB:6.1f} KiB/prog" \
                if c.rss_per_program is not None else ""
            print(f"     {name:<12} start {c.start_s:.3f} s (api {c.start_api_s:.3f}, "
                  f"cpu {c.start_cpu_s:.3f})   stop {c.stop_s:.3f} s "
                  f"(api {c.stop_api_s:.3f}, cpu {c.stop_cpu_s:.3f}){rss_txt}")
        for name, cycles in ss["_all"].items():
            if len(cycles) > 1:
                print(f"     {name:<12} all cycles: start "
                      f"{', '.join(f'{c.start_s:.3f}' for c in cycles)}; stop "
                      f"{', '.join(f'{c.stop_s:.3f}' for c in cycles)}")
    if mem:
        for k, v in mem.items():
            print(f"  2. {k:<9} RSS {v['rss_before'] / MiB:.1f} → {v['rss_after'] / MiB:.1f} MiB"
                  f" with {sz.mem_missions} children: {v['rss_per'] / KiB:.1f} KiB each; "
                  f"tracemalloc {v['heap_per'] / KiB:.1f} KiB each")
    if cap:
        for k, v in cap.items():
            print(f"  3. {k:<9} {v['s'] * 1000:7.1f} ms  {v['gib_s']:.2f} GiB/s  parent CPU "
                  f"{v['cpu_ms_per_mib']:.3f} ms/MiB")
    if ev:
        print("  4. " + ", ".join(f"{k}: {v:,.0f}/s" for k, v in ev.items()))
    if ps:
        print(f"  5. ps --json {ps['bytes'] / MiB:.1f} MiB of JSON; raw SELECT+dumps "
              f"{ps['base_ms']:.1f} ms")
    for k, v in errors.items():
        print(f"  ERROR in {k}: {v}")
    if leftover:
        print(f"  cleanup killed {len(leftover)} leftover process(es)")
    print(f"  total {time.monotonic() - started:.1f} s ("
          + ", ".join(f"{k}: {v:.1f} s" for k, v in took.items())
          + f"); load average at start {load0[0]:.2f}, at end {os.getloadavg()[0]:.2f}"
          + (" — other work on the machine skews the figures" if load0[0] > 0.5 else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    ap.add_argument("--phase", help=argparse.SUPPRESS)  # internal: memory-overmind|memory-raw
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    global TAG, _scan_on_signal
    scan = _scan_on_signal = not args.phase  # a phase subprocess cleans up its own only
    if scan:
        TAG = os.environ[TAG_VAR] = uuid.uuid4().hex
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    atexit.register(cleanup, scan)
    try:
        if args.phase:
            mode = args.phase.removeprefix("memory-")
            res = asyncio.run(_memory_phase(mode, args.n, Path(args.dir)))
            print(json.dumps(res))
        else:
            sz = QUICK if args.quick else FULL
            asyncio.run(main_async(sz, args.quick))
    finally:
        cleanup(scan)


if __name__ == "__main__":
    main()
