"""Helpers of the engine and supervisor tests (the ``harness`` fixture is in conftest).

``Harness.run(body)`` runs ``await body(engine)`` under ``asyncio.run`` with a fresh
``Engine`` on ``tmp_path`` and always closes every engine it made. Every process a mission
ran (pids seen in ``mission-status`` events, plus pids a test registers with ``track``)
is checked at teardown: a survivor is SIGKILLed by pid and fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil

from overmind_jupyter.engine import Engine
from overmind_jupyter.events import Event
from overmind_jupyter.model import Mission

_START_TOLERANCE_S = 0.05


def py(code: str) -> list[str]:
    """argv running ``code`` in this interpreter, output unbuffered."""
    return [sys.executable, "-u", "-c", textwrap.dedent(code)]


def sh(script: str) -> list[str]:
    """argv running ``script`` with ``sh -c``."""
    return ["sh", "-c", script]


def alive(pid: int, created: float | None = None) -> bool:
    """``pid`` runs (zombies count as dead) and, when given, started at ``created``."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return created is None or abs(proc.create_time() - created) <= _START_TOLERANCE_S
    except psutil.Error:
        return False


async def until(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
                interval: float = 0.01) -> Any:
    """Poll ``cond()`` (real time) until truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


async def until_status(engine: Engine, ref: str, *statuses: str, timeout: float = 10.0
                       ) -> Mission:
    """Wait until the mission's recorded status is one of ``statuses``."""
    def check() -> Mission | None:
        m = engine.store.get_mission(ref)
        return m if m.status.value in statuses else None
    return await until(check, timeout, f"mission {ref} to be {'/'.join(statuses)}")


async def until_in_log(engine: Engine, ref: str, text: str, timeout: float = 10.0) -> str:
    """Wait until the mission's log contains ``text``; return the log."""
    async def read() -> str:
        return await engine.logs(ref)
    deadline = time.monotonic() + timeout
    while True:
        log = await read()
        if text in log:
            return log
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared in the log; log:\n{log}")
        await asyncio.sleep(0.01)


async def status_events(engine: Engine, mission_id: str) -> list[Event]:
    """The committed ``mission-status`` events of one mission, in order."""
    await asyncio.sleep(0)  # let buffered events flush
    return [e for e in await engine.events(mission=mission_id, limit=100_000)
            if e["type"] == "mission-status"]


async def statuses(engine: Engine, mission_id: str) -> list[str]:
    """The sequence of statuses a mission went through (from its events)."""
    return [e["data"]["status"] for e in await status_events(engine, mission_id)]


def read_pid(path: Path, timeout: float = 10.0) -> int:
    """Block until ``path`` holds a pid written by a child; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            text = path.read_text()
            if text.endswith("\n"):
                return int(text)
        time.sleep(0.01)
    raise AssertionError(f"no pid written to {path}")


class Harness:
    """Engines on one project root, and every process their missions ran."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.engines: list[Engine] = []
        self.procs: dict[int, float | None] = {}
        self.reports: list[dict[str, list[str]]] = []  # what each engine's start() said

    async def engine(self, clock: Any = None) -> Engine:
        """A started Engine on ``root`` (closed at the end of ``run``)."""
        engine = Engine(self.root, clock=clock)
        engine.subscribe(self._seen)
        self.engines.append(engine)
        self.reports.append(await engine.start())
        return engine

    def _seen(self, batch: list[Event]) -> None:
        for event in batch:
            pid = event["data"].get("pid")
            if event["type"] in ("mission-status", "mission-adopted") and pid:
                self.track(pid)

    def track(self, pid: int) -> int:
        """Check at teardown that ``pid`` (as it runs now) does not survive the test."""
        try:
            self.procs.setdefault(pid, psutil.Process(pid).create_time())
        except psutil.Error:
            self.procs.setdefault(pid, None)
        return pid

    def survivors(self, pids: list[int] | None = None) -> list[int]:
        """Tracked (or given) pids still running."""
        pids = list(self.procs) if pids is None else pids
        return [p for p in pids if alive(p, self.procs.get(p))]

    def run(self, body: Callable[[Engine], Awaitable[Any]], clock: Any = None) -> Any:
        """``asyncio.run`` of ``body(engine)``; every engine made is closed afterwards."""
        async def main() -> Any:
            try:
                return await body(await self.engine(clock))
            finally:
                for engine in reversed(self.engines):
                    await engine.close()
        return asyncio.run(main())

    def reap_survivors(self) -> list[int]:
        """SIGKILL every tracked process still running (by pid); return their pids."""
        left = self.survivors()
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return left
