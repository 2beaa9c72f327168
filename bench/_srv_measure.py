"""``server_bench.py`` #1 and #2, against either server (``_srv_common.Server``).

#1 ``fanout``: N websocket clients (``_wsclient``, record mode) connected, the server emits
events at a steady rate, then each event's emit → receipt latency (``time.time()`` in its
data) and the server's CPU. #2 ``replay_once``: one client connecting until it has
received every stored event; ``store_read_floor``: the SQLite reads alone, in this process.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from _srv_common import HOST, Server, Sizes
from _wsclient import WsClient


async def _drain(clients: list[WsClient], emitted: float) -> None:
    """Until no client received anything for 0.5 s (cap 60 s after the emission)."""
    while True:
        await asyncio.sleep(0.1)
        quiet = time.monotonic() - max(c.last_rx for c in clients)
        if quiet > 0.5 or time.monotonic() - emitted > 60:
            break


def _tally(clients: list[WsClient]) -> dict[str, Any]:
    """Latencies (s, sorted) of every first receipt of a ``bench-tick``, and the counts."""
    lat: list[float] = []
    got = resyncs = frames = dup = 0
    for c in clients:
        seen: set[int] = set()
        for op, payload, t_rx in c.frames_with_times():
            if op != 1:
                continue
            msg = json.loads(payload)
            if msg.get("type") == "resync":
                resyncs += 1
                continue
            frames += 1
            for e in msg.get("events", ()):
                if e["type"] != "bench-tick":
                    continue
                i = e["data"]["i"]
                if i in seen:
                    dup += 1
                    continue
                seen.add(i)
                lat.append(t_rx - e["data"]["t"])
        got += len(seen)
    lat.sort()
    return {"lat": lat, "received": got, "dup": dup, "resyncs": resyncs, "frames": frames}


def _quantiles(lat: list[float]) -> dict[str, float | None]:
    q = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000) if lat else (
        lambda p: float("nan"))
    return {"p50": q(0.50), "p90": q(0.90), "p99": q(0.99), "max": q(1.0) if lat else None}


async def fanout(server: Server, path: str, headers: dict[str, str], emit_path: str,
                 sz: Sizes, n_events: int, **emit_args: Any) -> dict[str, Any]:
    clients = await asyncio.gather(*(WsClient.connect(HOST, server.port, path,
                                                      headers=headers, record=True)
                                     for _ in range(sz.clients)))
    try:
        await asyncio.sleep(0.5)  # every stream has done its replay read and subscribed
        cpu0, own0, t0 = server.cpu_s(), time.process_time(), time.monotonic()
        stats = await asyncio.to_thread(server.post, emit_path, {"rate": sz.rate,
                                                                  "n": n_events, **emit_args})
        emitted = time.monotonic()
        cpu_emit = server.cpu_s() - cpu0
        await _drain(clients, emitted)
        cpu_all = server.cpu_s() - cpu0
        own = time.process_time() - own0
        wall = time.monotonic() - t0
    finally:
        for c in clients:
            c.close()
    tally = _tally(clients)
    return {**_quantiles(tally.pop("lat")), **tally, "expected": n_events * sz.clients,
            "emit": stats, "server_cpu_pct_emit": 100 * cpu_emit / stats["elapsed_s"],
            "server_cpu_s": cpu_all, "client_cpu_s": own, "wall_s": wall,
            "bytes": sum(c.nbytes for c in clients)}


async def replay_once(server: Server, path: str, headers: dict[str, str], type_: str,
                      expected: int) -> dict[str, float]:
    done = asyncio.get_running_loop().create_future()
    count = [0]

    def on_frame(op: int, payload: bytes) -> None:
        if op != 1:
            return
        msg = json.loads(payload)
        count[0] += sum(1 for e in msg.get("events", ()) if e["type"] == type_)
        if count[0] >= expected and not done.done():
            done.set_result(time.perf_counter())

    t0 = time.perf_counter()
    client = await WsClient.connect(HOST, server.port, path, headers=headers,
                                    on_frame=on_frame)
    try:
        t1 = await asyncio.wait_for(done, 120)
    finally:
        client.close()
    return {"s": t1 - t0, "events": count[0], "bytes": client.nbytes}


def store_read_floor(db: Path, after: int, n: int) -> dict[str, float]:
    """In this process, in chunks of 2,000 (s): the SQLite reads alone, and reads plus
    decoding every event and encoding it again into frames (a naive replay)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = {}
    try:
        for mode in ("read", "decode+encode"):
            t0 = time.perf_counter()
            cursor, total = after, 0
            while total < n:
                rows = conn.execute("SELECT seq, ts, type, mission, objective, party, data "
                                    "FROM events WHERE seq > ? ORDER BY seq LIMIT 2000",
                                    (cursor,)).fetchall()
                if not rows:
                    break
                if mode != "read":
                    events = [{"seq": s, "ts": ts, "type": ty, "mission": m, "objective": o,
                               "party": p, "data": json.loads(d)}
                              for s, ts, ty, m, o, p, d in rows]
                    json.dumps({"type": "events", "events": events}, separators=(",", ":"))
                cursor, total = rows[-1][0], total + len(rows)
            out[mode] = time.perf_counter() - t0
        return out
    finally:
        conn.close()
