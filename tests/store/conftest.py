"""Fixtures of the store tests: a Store in ``tmp_path``, a mission factory, child processes."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import overmind_jupyter
from overmind_jupyter.events import Event
from overmind_jupyter.model import (
    ExitInfo,
    Mission,
    MissionKind,
    MissionStatus,
    RestartMode,
    RestartPolicy,
)
from overmind_jupyter.store import Store

REPO_ROOT = Path(overmind_jupyter.__file__).resolve().parents[1]

MakeMission = Callable[..., Mission]


class Recorder:
    """Collects the batches a Store publishes through ``on_commit``."""

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []

    def __call__(self, events: list[Event]) -> None:
        self.batches.append(list(events))

    @property
    def events(self) -> list[Event]:
        return [e for batch in self.batches for e in batch]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / ".overmind" / "overmind.db"


@pytest.fixture
def published() -> Recorder:
    return Recorder()


@pytest.fixture
def store(db_path: Path, published: Recorder) -> Iterator[Store]:
    s = Store(db_path, on_commit=published)
    yield s
    s.close()


_clock = itertools.count()


def new_mission(*, id: str | None = None, name: str | None = None,
                status: MissionStatus = MissionStatus.PENDING, parent_id: str | None = None,
                created_at: float | None = None, **overrides) -> Mission:
    """A valid mission; ``created_at`` increases with each call so ordering is deterministic."""
    mid = id or uuid.uuid4().hex
    created = created_at if created_at is not None else 1_700_000_000.0 + next(_clock)
    fields = dict(
        id=mid, name=name or f"m-{mid[:8]}", kind=MissionKind.COMMAND,
        command=["sleep", "1"], cwd="/tmp", env={}, parent_id=parent_id,
        restart=RestartPolicy(), activity_timeout_s=None, grace_s=5.0, status=status,
        created_at=created, updated_at=created, log_path=f"/tmp/{mid}.log")
    fields.update(overrides)
    return Mission(**fields)


@pytest.fixture
def make_mission() -> MakeMission:
    return new_mission


@pytest.fixture
def full_mission() -> Mission:
    """A mission with every optional field set to a non-default value."""
    return new_mission(
        kind=MissionKind.AGENT, command=["claude", "--print", "héllo wörld", "a b"],
        cwd="/work/ß", env={"A": "1", "EMPTY": "", "UNICODE": "✓"},
        restart=RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=7, window_s=12.5,
                              backoff_ms=250, cap_s=9.0, stable_s=3.0, jitter=0.25),
        activity_timeout_s=42.5, grace_s=1.5, agent="claude-code", status=MissionStatus.RUNNING,
        pid=4321, pid_start=1_700_000_001.25, started_at=1_700_000_001.5, restarts=3,
        exit=ExitInfo(returncode=None, signal=15, reason="terminated"))


def child_env() -> dict[str, str]:
    """Environment for ``sys.executable -c`` children: the repo importable, unbuffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Children:
    """Starts ``sys.executable -c script`` children; kills leftovers (by pid) at teardown."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, script: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
            cwd=str(REPO_ROOT))
        self.procs.append(proc)
        return proc

    @staticmethod
    def expect(proc: subprocess.Popen, prefix: str) -> str:
        """Next stdout line of ``proc``, which must start with ``prefix``."""
        line = proc.stdout.readline()
        if not line.startswith(prefix):
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"child said {line!r}, expected {prefix!r}; stderr:\n{err}")
        return line.rstrip("\n")

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            for stream in (p.stdin, p.stdout, p.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
            p.wait()


@pytest.fixture
def children() -> Iterator[Children]:
    c = Children()
    yield c
    c.close()
