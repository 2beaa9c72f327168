"""Ended missions written straight into an engine's store, for the ``ps`` benchmarks.

Used by ``supervisor_bench.py`` (#5, ``ps --json``) and by ``_om_bench_ext.py`` (the
``overmind-bench/missions`` trigger of ``server_bench.py`` #3). The rows are the store's own
mapping (``rows.mission_to_row``) of missions with terminal statuses only, so nothing
claims a live pid; they are inserted in one transaction (``insert_mission`` commits each).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from overmind_jupyter.model import (
    ExitInfo,
    Mission,
    MissionKind,
    MissionStatus,
    RestartPolicy,
)
from overmind_jupyter.store import rows

ENDED = (MissionStatus.EXITED, MissionStatus.FAILED, MissionStatus.KILLED)


def ended_missions(engine: Any, n: int, prefix: str, env: dict[str, str]) -> list[Mission]:
    """``n`` missions named ``<prefix><i>`` (exited, failed, killed in turn)."""
    now = time.time()
    missions = []
    for i in range(n):
        mid = uuid.uuid4().hex[:12]
        name = f"{prefix}{i}"
        missions.append(Mission(
            id=mid, name=name, kind=MissionKind.COMMAND,
            command=["python", "-m", "pytest", "-x", f"tests/t{i}.py"],
            cwd=str(engine.root), env=dict(env), parent_id=None,
            restart=RestartPolicy(), activity_timeout_s=None, grace_s=5.0,
            status=ENDED[i % 3], created_at=now + i * 1e-3, updated_at=now + i * 1e-3 + 1,
            log_path=str(engine.logs_dir / f"{name}-{mid}.log"), pid=10_000 + i,
            pid_start=now + i * 1e-3, started_at=now + i * 1e-3,
            exit=ExitInfo(returncode=i % 3, reason=f"exit status {i % 3}")))
    return missions


def insert_missions(store: Any, missions: list[Mission]) -> None:
    """The missions' rows, in one transaction."""
    store.conn.execute("BEGIN IMMEDIATE")
    store.conn.executemany(
        f"INSERT INTO missions ({', '.join(rows.COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(rows.COLUMNS))})",
        [rows.mission_to_row(m) for m in missions])
    store.conn.execute("COMMIT")
