"""The peers of ``supervisor_bench.py`` #1: circusd and supervisord with N programs each.

Each runs as a separate daemon (a child of this process, tagged like every process of the
run); a cycle times its "start all" / "stop all" request until the poller sees all N
``sleep 30`` children exec'd / reaped, and reads the daemon's CPU time and RSS.
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import psutil
from _procs import free_ports
from _sup_common import BIN, PROCS, SLEEP, Cycle, cpu_of, rss_of
from _sup_poller import Poller


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


class _Daemon:
    """A manager daemon: ``_start_all`` / ``_stop_all`` are the timed requests."""

    proc: subprocess.Popen
    idle_rss: int

    def _start_all(self) -> Any:
        raise NotImplementedError

    def _stop_all(self) -> None:
        raise NotImplementedError

    def _check_started(self, res: Any, n: int) -> None:
        """After the timed start: raise if ``res`` (what ``_start_all`` returned) is wrong."""

    def cycle(self, n: int) -> Cycle:
        pid = self.proc.pid
        poller = Poller(pid, n)
        c0, t0 = cpu_of(pid), time.monotonic()
        res = self._start_all()
        t_api = time.monotonic()
        t_up = poller.wait_up()
        c_start = cpu_of(pid) - c0
        rss = (rss_of(pid) - self.idle_rss) / n
        self._check_started(res, n)
        c0, t1 = cpu_of(pid), time.monotonic()
        self._stop_all()
        t_api_stop = time.monotonic()
        t_down = poller.wait_down()
        c_stop = cpu_of(pid) - c0
        return Cycle(t_up - t0, t_down - t1, t_api - t0, t_api_stop - t1, c_start, c_stop, rss)


class CircusManager(_Daemon):
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
            self.proc = PROCS.popen([str(BIN / "circusd"), str(self.dir / "circus.ini")],
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

    def _start_all(self) -> Any:
        self._call("start")

    def _stop_all(self) -> None:
        self._call("stop")

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.call({"command": "quit", "properties": {}})
            self.client.stop()
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)


class SupervisordManager(_Daemon):
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
            self.proc = PROCS.popen([str(BIN / "supervisord"), "-c",
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

    def _start_all(self) -> Any:
        return self.rpc.supervisor.startAllProcesses()

    def _check_started(self, res: Any, n: int) -> None:
        if len(res) != n:
            raise RuntimeError(f"supervisord started {len(res)} of {n}")

    def _stop_all(self) -> None:
        self.rpc.supervisor.stopAllProcesses()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.rpc.supervisor.shutdown()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
