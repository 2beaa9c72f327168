"""``supervisor_bench.py`` #4 and #5: the engine's store.

#4: ``engine.store.append_event`` ×N in a running loop, yielding to the loop every 100 / 10
/ 1 appends, until ``last_seq()`` shows all committed; vs raw SQLite (the same table and
indexes, WAL, ``synchronous=NORMAL``) with one commit per event or per 100 events.
#5: ``engine.ps_json(all=True)`` over N ended missions vs ``json.dumps`` of ``SELECT *``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import time
from pathlib import Path

from _missions import ended_missions, insert_missions
from _sup_common import Sizes

from overmind_jupyter.engine import Engine
from overmind_jupyter.store import schema


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


async def bench_ps(tmp: Path, sz: Sizes) -> dict[str, float]:
    engine = Engine(tmp / "ps")
    await engine.start()
    try:
        store = engine.store
        missions = ended_missions(engine, sz.ps_missions, "mission-", {"FOO": "1", "BAR": "2"})
        insert_missions(store, missions)
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
