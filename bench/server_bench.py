#!/usr/bin/env python
"""Overmind server benchmarks (event websocket, replay, ``%overmind ps``), with baselines.

    .venv/bin/python bench/server_bench.py [--quick]

Everything is measured side by side in one run and printed as one table: Overmind's
figure, the baseline measured in the same run, the ratio, the target and PASS/MISS. It
never exits non-zero because a target was missed.

1. Event fan-out: a real ``jupyter_server`` subprocess with the Overmind extension (and
   ``bench/_om_bench_ext.py``, which appends events to the engine's store at a steady rate
   with ``time.time()`` in each event's data); 50 websocket clients on
   ``<base>overmind/api/events?after=<last>``; emit→receipt latency p50/p99. Baseline: a
   bare tornado websocket broadcast (``bench/_bare_ws_server.py``) of the same frames at
   the same rate to 50 clients, with the same client (``bench/_wsclient.py``).
2. Replay of 100,000 stored events to one client connecting with ``after=0``. Baseline: the
   bare tornado server sending the same events from memory in the same 2,000-event frames.
3. ``%overmind ps --all`` through IPython's ``InteractiveShell`` in server mode with 1,000
   missions in the store, median of 20. Baseline: ``GET overmind/api/status`` through the
   same client and portal.

Every server runs in its own process group with private ``JUPYTER_*`` / ``IPYTHONDIR``
directories and a free port on 127.0.0.1, and is killed at the end, even after an error.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from _wsclient import WsClient  # noqa: E402

from overmind_jupyter.daemon import free_port  # noqa: E402
from overmind_jupyter.runtime_files import TOKEN_HEADER  # noqa: E402

HOST = "127.0.0.1"
START_TIMEOUT_S = 90.0


@dataclasses.dataclass(frozen=True)
class Sizes:
    clients: int  # 1: websocket clients
    rate: int  # 1: events/s
    seconds: float  # 1: emission time
    replay: int  # 2: events replayed
    replay_reps: int
    missions: int  # 3
    ps_reps: int
    ps_warmup: int


FULL = Sizes(clients=50, rate=1000, seconds=10.0, replay=100_000, replay_reps=3,
             missions=1000, ps_reps=20, ps_warmup=3)
QUICK = Sizes(clients=50, rate=1000, seconds=2.0, replay=20_000, replay_reps=1,
              missions=1000, ps_reps=5, ps_warmup=1)


# -- processes ----------------------------------------------------------------------------
_spawned: list[subprocess.Popen] = []


def _popen(argv: list[str], **kw: Any) -> subprocess.Popen:
    proc = subprocess.Popen(argv, start_new_session=True, **kw)  # own process group
    _spawned.append(proc)
    return proc


def cleanup() -> None:
    """SIGTERM every server's process group, SIGKILL what is left after 5 s, reap."""
    for proc in _spawned:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for proc in _spawned:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in _spawned:
        with contextlib.suppress(OSError):  # the group may outlive its leader
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.wait(timeout=2)
    _spawned.clear()


def _on_signal(signum: int, _frame: Any) -> None:
    cleanup()
    os._exit(128 + signum)


def isolated_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_CONFIG_DIR", "config"),
                     ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(REPO),
                                         *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


@dataclasses.dataclass
class Server:
    proc: subprocess.Popen
    port: int
    base: str = "/"  # base URL path, ends with /
    token: str = ""  # Overmind scoped token
    jupyter_token: str = ""
    url: str = ""
    root: Path | None = None

    def post(self, path: str, body: dict, auth: bool = True) -> dict:
        headers = {"Content-Type": "application/json"}
        if auth and self.jupyter_token:
            headers["Authorization"] = f"token {self.jupyter_token}"
        req = urllib.request.Request(f"http://{HOST}:{self.port}{self.base}{path}",
                                     data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def get_api(self, path: str) -> dict:
        req = urllib.request.Request(f"{self.url}overmind/api/{path}",
                                     headers={TOKEN_HEADER: self.token})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def cpu_s(self) -> float:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(self.proc.pid).cpu_times()
            return t.user + t.system
        return float("nan")


def start_overmind(home: Path) -> Server:
    """``python -m jupyter_server`` as ``overmind start`` runs it, plus the bench extension."""
    root = home / "project"
    root.mkdir(parents=True)
    env = isolated_env(home)
    port, jtoken = free_port(), os.urandom(16).hex()
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
            f"--ip={HOST}", f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={jtoken}",
            "--ServerApp.jpserver_extensions={'overmind_jupyter': True, '_om_bench_ext': True}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    log = open(home / "server.log", "ab")  # noqa: SIM115 - closed with the process
    proc = _popen(argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                  stdin=subprocess.DEVNULL)
    log.close()
    runtime = Path(env["JUPYTER_RUNTIME_DIR"]) / f"overmind-{proc.pid}.json"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(runtime.read_text())
            base = "/" + info["url"].split("/", 3)[3]
            return Server(proc, port, base, info["token"], jtoken, info["url"], root)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = (home / "server.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the Jupyter server did not start:\n{tail}")


def start_bare(home: Path) -> Server:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(BENCH), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = _popen([sys.executable, str(BENCH / "_bare_ws_server.py"), str(port)], cwd=home,
                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                  stdin=subprocess.DEVNULL)
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError(f"the bare tornado server did not start: {line!r}")
    return Server(proc, port)


# -- 1. fan-out ---------------------------------------------------------------------------
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
        while True:  # drain: until no client received anything for 0.5 s (cap 60 s)
            await asyncio.sleep(0.1)
            quiet = time.monotonic() - max(c.last_rx for c in clients)
            if quiet > 0.5 or time.monotonic() - emitted > 60:
                break
        cpu_all = server.cpu_s() - cpu0
        own = time.process_time() - own0
        wall = time.monotonic() - t0
    finally:
        for c in clients:
            c.close()
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
    q = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000) if lat else (
        lambda p: float("nan"))
    return {"p50": q(0.50), "p90": q(0.90), "p99": q(0.99), "max": q(1.0) if lat else None,
            "received": got, "expected": n_events * sz.clients, "dup": dup,
            "resyncs": resyncs, "frames": frames, "emit": stats,
            "server_cpu_pct_emit": 100 * cpu_emit / stats["elapsed_s"],
            "server_cpu_s": cpu_all, "client_cpu_s": own, "wall_s": wall,
            "bytes": sum(c.nbytes for c in clients)}


# -- 2. replay ----------------------------------------------------------------------------
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


# -- 3. %overmind ps ----------------------------------------------------------------------
def bench_ps(om: Server, sz: Sizes, home: Path) -> dict[str, Any]:
    os.environ["IPYTHONDIR"] = str(home / "ipython-bench")
    os.environ["OVERMIND_URL"], os.environ["OVERMIND_TOKEN"] = om.url, om.token
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    from overmind_jupyter import commands
    from overmind_jupyter.magics import OvermindMagics

    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg)
    magics = OvermindMagics(shell=shell)
    magics.mode = "server"
    shell.register_magics(magics)
    try:
        def magic() -> str:
            with capture_output() as cap:
                shell.run_line_magic("overmind", "ps --all")
            return cap.stdout + "".join(o.data.get("text/plain", "") for o in cap.outputs)

        def timed(fn: Any, reps: int) -> list[float]:
            out = []
            for _ in range(reps):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
            return out

        for _ in range(sz.ps_warmup):
            text = magic()
        api = magics.connect()
        if api is magics.engine or api.mode != "server":
            raise RuntimeError("the magics did not connect to the server's engine")
        rows = sum(1 for line in text.splitlines() if "bench-" in line)
        if rows < sz.missions:
            raise RuntimeError(f"ps --all showed {rows} bench missions, not {sz.missions}")
        args = commands.parse(["ps", "--all"], prog="%overmind")
        listing = magics.portal.call(api.ps_json, True)

        class Fixed:  # the rendering alone: an api whose listing is already answered
            async def ps_json(self, all: bool = False) -> str:
                return listing

        fixed = Fixed()
        portal = magics.portal
        ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
        t_magic, t_status, t_rest, t_render, t_http = [], [], [], [], []
        for _ in range(sz.ps_reps):  # interleaved, so drift hits all of them alike
            t_magic += timed(magic, 1)
            t_status += timed(lambda: portal.call(api.status), 1)
            t_rest += timed(lambda: portal.call(api.ps_json, True), 1)
            t_render += timed(lambda: portal.call(commands.execute, fixed, args, None), 1)
            t_http += timed(lambda: portal.call(api._call, "GET", "missions", None,
                                                {"all": "1"}, None, True), 1)
        raw = portal.call(api._call, "GET", "missions", None, {"all": "1"}, None, True)
        return {"magic_ms": ms(t_magic), "status_ms": ms(t_status), "rest_ps_ms": ms(t_rest),
                "render_ms": ms(t_render), "http_ms": ms(t_http), "rows": rows,
                "json_bytes": len(raw), "text_bytes": len(text),
                "magic_all": [round(x * 1000, 1) for x in t_magic]}
    finally:
        magics.close()
        for k in ("OVERMIND_URL", "OVERMIND_TOKEN"):
            os.environ.pop(k, None)


# -- report -------------------------------------------------------------------------------
@dataclasses.dataclass
class Row:
    key: str
    what: str
    value: float | None
    fmt: str
    baseline: str
    base_value: float | None
    target: str
    ok: bool | None  # None: informational

    def cells(self) -> list[str]:
        v = self.fmt.format(self.value) if self.value is not None else "error"
        b = self.fmt.format(self.base_value) if self.base_value is not None else "—"
        ratio = (f"{self.value / self.base_value:.2f}×" if self.value is not None
                 and self.base_value else "—")
        verdict = {True: "PASS", False: "MISS", None: "info"}[self.ok]
        if self.value is None and self.ok is not None:
            verdict = "ERROR"
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


def _try(errors: dict[str, str], key: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        errors[key] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        return None


async def _atry(errors: dict[str, str], key: str, coro: Any) -> Any:
    try:
        return await coro
    except Exception as exc:
        errors[key] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        return None


def run(sz: Sizes, quick: bool) -> None:
    errors: dict[str, str] = {}
    started, load0 = time.monotonic(), os.getloadavg()
    took: dict[str, float] = {}
    n_events = int(sz.rate * sz.seconds)
    fo: dict[str, Any] = {}
    rp: dict[str, Any] = {}
    ps = None
    with tempfile.TemporaryDirectory(prefix="overmind-server-bench-") as tmpname:
        tmp = Path(tmpname)
        t = time.monotonic()
        om = _try(errors, "start overmind server", start_overmind, tmp / "om")
        bare = _try(errors, "start bare server", start_bare, tmp)
        took["start"] = time.monotonic() - t

        async def phases() -> None:
            hdr = {TOKEN_HEADER: om.token} if om else {}
            # 2 first: after=0 then replays exactly the prefilled events (+ engine-started)
            t = time.monotonic()
            if om:
                fill = await _atry(errors, "2 fill", asyncio.to_thread(
                    om.post, "overmind-bench/fill", {"n": sz.replay}))
                if fill:
                    rp["fill_s"] = fill["s"]
                    want = fill["last"]  # events with seq ≤ last; count = last (after=0)
                    runs = []
                    for _ in range(sz.replay_reps):
                        r = await _atry(errors, "2 overmind", replay_once(
                            om, f"{om.base}overmind/api/events?after=0", hdr, "bench-fill",
                            sz.replay))
                        if r:
                            runs.append(r)
                    if runs:
                        rp["overmind"] = sorted(runs, key=lambda r: r["s"])[len(runs) // 2]
                        rp["overmind_all"] = [r["s"] for r in runs]
                    db = om.root / ".overmind" / "overmind.db"
                    rp["floor_s"] = _try(errors, "2 floor", store_read_floor, db, 0, want)
            if bare:
                await _atry(errors, "2 bare", asyncio.to_thread(bare.post, "prefill",
                                                                {"n": sz.replay}))
                runs = []
                for _ in range(sz.replay_reps):
                    r = await _atry(errors, "2 bare", replay_once(
                        bare, "/replay", {}, "bench-fill", sz.replay))
                    if r:
                        runs.append(r)
                if runs:
                    rp["bare"] = sorted(runs, key=lambda r: r["s"])[len(runs) // 2]
            took["2"] = time.monotonic() - t
            t = time.monotonic()
            if bare:
                fo["bare"] = await _atry(errors, "1 bare", fanout(
                    bare, "/ws", {}, "emit", sz, n_events))
            if om:
                last = om.get_api("status")["last_seq"]
                fo["overmind"] = await _atry(errors, "1 overmind", fanout(
                    om, f"{om.base}overmind/api/events?after={last}", hdr,
                    "overmind-bench/emit", sz, n_events))
                if (fo["overmind"] or {}).get("emit", {}).get("flush_delay_s"):
                    last = om.get_api("status")["last_seq"]  # diagnostic: no flush delay
                    fo["overmind, FLUSH_DELAY_S=0"] = await _atry(
                        errors, "1 overmind, FLUSH_DELAY_S=0", fanout(
                            om, f"{om.base}overmind/api/events?after={last}", hdr,
                            "overmind-bench/emit", sz, n_events, flush_delay_s=0))
            took["1"] = time.monotonic() - t

        asyncio.run(phases())
        if bare:
            with contextlib.suppress(OSError):
                os.killpg(bare.proc.pid, signal.SIGTERM)
        t = time.monotonic()
        if om:
            ins = _try(errors, "3 insert", om.post, "overmind-bench/missions",
                       {"n": sz.missions})
            if ins:
                ps = _try(errors, "3", bench_ps, om, sz, tmp)
        took["3"] = time.monotonic() - t
        cleanup()
    report(sz, quick, fo, rp, ps, errors, took, started, load0)


def report(sz: Sizes, quick: bool, fo: dict, rp: dict, ps: dict | None,
           errors: dict[str, str], took: dict[str, float], started: float,
           load0: tuple) -> None:
    o, b = fo.get("overmind") or {}, fo.get("bare") or {}
    n_events = int(sz.rate * sz.seconds)
    ro, rb = rp.get("overmind"), rp.get("bare")
    op99, bp99 = o.get("p99"), b.get("p99")
    rows = [
        Row("1a", f"fan-out p99, {sz.clients} clients, {sz.rate:,} ev/s (ms)", op99,
            "{:.2f}", "bare tornado", bp99, "≤ 20 ms", op99 is not None and op99 <= 20),
        Row("1b", "fan-out p99 vs bare broadcast (ms)", op99, "{:.2f}", "bare tornado", bp99,
            "≤ 3× bare", op99 is not None and bp99 is not None and op99 <= 3 * bp99),
        Row("1c", "fan-out p50 (ms)", o.get("p50"), "{:.2f}", "bare tornado", b.get("p50"),
            "—", None),
        Row("1d", "server CPU while emitting (%)", o.get("server_cpu_pct_emit"), "{:.0f}",
            "bare tornado", b.get("server_cpu_pct_emit"), "—", None),
    ]
    z = fo.get("overmind, FLUSH_DELAY_S=0")
    if z:
        rows += [
            Row("1e", "fan-out p99 with engine FLUSH_DELAY_S=0 (ms)", z["p99"], "{:.2f}",
                "bare tornado", bp99, "(diagnostic)", None),
            Row("1f", "fan-out p50 with engine FLUSH_DELAY_S=0 (ms)", z["p50"], "{:.2f}",
                "bare tornado", b.get("p50"), "(diagnostic)", None),
        ]
    rows += [
        Row("2", f"replay {sz.replay:,} events after=0 → all received (s)",
            ro["s"] if ro else None, "{:.3f}", "bare tornado, from memory",
            rb["s"] if rb else None, "≤ 1 s", ro is not None and ro["s"] <= 1.0),
        Row("3", f"%overmind ps --all, {sz.missions:,} missions (ms)",
            ps["magic_ms"] if ps else None, "{:.1f}", "GET status, same client",
            ps["status_ms"] if ps else None, "≤ 50 ms",
            ps is not None and ps["magic_ms"] <= 50),
    ]
    print(f"\nOvermind server benchmarks — {time.strftime('%Y-%m-%d %H:%M:%S')}"
          f"{' (--quick)' if quick else ''}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, kernel "
          f"{os.uname().release}; server = jupyter_server subprocess with the Overmind "
          "extension")
    print_table(rows)
    print("\nDetails")
    for name, r in fo.items():
        if not r:
            continue
        e = r["emit"]
        if name != "bare" and e.get("flush_delay_s") is not None:
            name += f" (engine FLUSH_DELAY_S={e['flush_delay_s'] * 1000:g} ms)"
        print(f"  1. {name:<8} latency ms p50 {r['p50']:.2f} p90 {r['p90']:.2f} p99 "
              f"{r['p99']:.2f} max {r['max']:.1f}; received {r['received']:,}/"
              f"{r['expected']:,} (dup {r['dup']}, resync frames {r['resyncs']}) in "
              f"{r['frames']:,} frames, {r['bytes'] / 2**20:.1f} MiB")
        print(f"     emitter: {n_events:,} events in {e['elapsed_s']:.2f} s, "
              f"{e['ticks']:,} ticks, max {e['max_batch']} events/tick, max lateness "
              f"{e['late_ms_max']:.1f} ms; server CPU {r['server_cpu_pct_emit']:.0f}% while "
              f"emitting, {r['server_cpu_s']:.2f} s incl. drain; client process CPU "
              f"{r['client_cpu_s']:.2f} s over {r['wall_s']:.1f} s")
    if ro:
        print(f"  2. overmind replay {ro['events']:,} events, {ro['bytes'] / 2**20:.1f} MiB: "
              f"{ro['s'] * 1000:.0f} ms (runs: "
              f"{', '.join(f'{x * 1000:.0f}' for x in rp.get('overmind_all', []))} ms) = "
              f"{ro['events'] / ro['s']:,.0f} events/s; prefill {rp.get('fill_s', 0):.2f} s")
    if rp.get("floor_s") is not None:
        f = rp["floor_s"]
        print(f"     in this process, no socket: SQLite reads alone {f['read'] * 1000:.0f} ms;"
              f" reads + decode + re-encode every event {f['decode+encode'] * 1000:.0f} ms")
    if rb:
        print(f"     bare replay {rb['events']:,} events: {rb['s'] * 1000:.0f} ms")
    if ps:
        print(f"  3. %overmind ps --all median {ps['magic_ms']:.1f} ms of {sz.ps_reps} "
              f"(all: {ps['magic_all']}); parts (medians, same portal): GET status "
              f"{ps['status_ms']:.1f} ms; GET missions?all=1 raw {ps['http_ms']:.1f} ms "
              f"({ps['json_bytes'] / 1024:.0f} KiB JSON); Client.ps_json "
              f"{ps['rest_ps_ms']:.1f} ms; commands.execute rendering alone "
              f"{ps['render_ms']:.1f} ms; {ps['rows']} rows, {ps['text_bytes'] / 1024:.0f} KiB "
              f"text")
    for k, v in errors.items():
        print(f"  ERROR in {k}: {v}")
    print(f"  total {time.monotonic() - started:.1f} s ("
          + ", ".join(f"{k}: {v:.1f} s" for k, v in took.items())
          + f"); load average at start {load0[0]:.2f}, at end {os.getloadavg()[0]:.2f}"
          + (" — other work on the machine skews the figures" if load0[0] > 0.5 else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    atexit.register(cleanup)
    try:
        run(QUICK if args.quick else FULL, args.quick)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
