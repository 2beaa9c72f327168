#!/usr/bin/env python
"""Overmind agent (ACP) benchmarks, measured side by side with baselines in one run.

    .venv/bin/python bench/agent_bench.py [--quick]

Prints one table: Overmind's figure, the baseline measured in the same run, the ratio, the
target and PASS/MISS. It never exits non-zero because a target was missed.

1. Built-in agent start: spawn ``python -m overmind_jupyter.agents.builtin --model
   scripted:<script>`` and time until its ACP ``initialize`` answer arrives
   (``acp.connect_to_agent`` over the process pipes); median of 7. Baselines: ``python -c
   pass`` and ``python -c "import acp"`` (spawn → exit), and a minimal SDK agent
   (``overmind_jupyter.testing.acp_agent``, spawn → initialize). Timed with a warm
   bytecode cache (``PYTHONPYCACHEPREFIX`` in a temp dir, as an installed wheel has);
   the same "as this environment runs it" (e.g. ``PYTHONDONTWRITEBYTECODE=1`` and no
   ``__pycache__`` in the source tree) is shown as info. Details: ``-X importtime`` of the
   agent, and ``import acp`` with pydantic's attribute-docstring extraction and/or eager
   schema building switched off (what an SDK-side fix would save).
2. ACP tool-call round trip: ``bench/_acp_bench_agent.py`` calls ``fs/read_text_file`` on
   a 10 KiB file 500 times, timing each call itself, served by the engine's real
   ``EngineClient`` (an ``Engine`` running an agent mission). Baselines: the same agent
   against a bare ``acp`` client that just reads the file; the same loop as raw
   newline-delimited JSON-RPC over the same kind of pipes without the SDK
   (``bench/_raw_rpc_child.py``, served by a hand-written loop here).
3. Engine overhead per streamed update: the bench agent sends 5,000 ``agent_message_chunk``
   notifications; the engine process's CPU time (``time.process_time``, the engine runs
   in this process) of that mission minus that of a mission sending none, per update
   (decode, event record, log line, commit). Baseline: the same with a bare ``acp``
   client whose ``session_update`` does nothing.

Every process it starts leads its own process group and is killed at the end, even after
an error; the engine stops its missions when closed.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import dataclasses
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from acp import PROTOCOL_VERSION, connect_to_agent, text_block  # noqa: E402
from acp.schema import (  # noqa: E402
    ClientCapabilities,
    FileSystemCapabilities,
    Implementation,
    ReadTextFileResponse,
)

from overmind_jupyter.engine import Engine  # noqa: E402
from overmind_jupyter.model import MissionKind, MissionSpec  # noqa: E402

PY = sys.executable
AGENT = [PY, str(BENCH / "_acp_bench_agent.py")]
BUILTIN = [PY, "-m", "overmind_jupyter.agents.builtin"]
LIMIT = 50 * 1024 * 1024  # stream buffer, as the SDK and the engine use


@dataclasses.dataclass(frozen=True)
class Sizes:
    starts: int  # 1: timed starts per variant (median)
    import_reps: int  # 1: details, import variants
    reads: int  # 2
    chunks: int  # 3
    cpu_reps: int  # 3: reps of each CPU measurement (median)


FULL = Sizes(starts=7, import_reps=5, reads=500, chunks=5000, cpu_reps=3)
QUICK = Sizes(starts=2, import_reps=1, reads=100, chunks=1000, cpu_reps=1)


# -- processes ----------------------------------------------------------------------------
_groups: set[int] = set()  # process groups started by this run (their leader's pid)


def track(pid: int) -> None:
    _groups.add(pid)


def cleanup() -> None:
    """SIGKILL every process group this run started (missions included), once."""
    for pgid in list(_groups):
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
    _groups.clear()


def _on_signal(signum: int, _frame: Any) -> None:
    cleanup()
    os._exit(128 + signum)


async def spawn(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
                stdin: int = subprocess.PIPE, stdout: int = subprocess.PIPE
                ) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, env=env,
        cwd=cwd, start_new_session=True, limit=LIMIT)
    track(proc.pid)
    return proc


async def finish(proc: asyncio.subprocess.Process) -> None:
    """Close stdin, give it 10 s to exit, then kill its group."""
    if proc.stdin is not None:
        with contextlib.suppress(Exception):
            proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except asyncio.TimeoutError:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
    with contextlib.suppress(OSError):  # anything it left in its group
        os.killpg(proc.pid, signal.SIGKILL)
    _groups.discard(proc.pid)


class BareClient:
    """An ``acp`` client that does nothing with updates and serves reads directly."""

    def on_connect(self, conn: Any) -> None:
        pass

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        return None

    async def read_text_file(self, session_id: str, path: str, line: int | None = None,
                             limit: int | None = None, **kwargs: Any) -> ReadTextFileResponse:
        with open(path, encoding="utf-8") as f:
            return ReadTextFileResponse(content=f.read())


async def initialize(conn: Any) -> Any:
    return await conn.initialize(
        protocol_version=PROTOCOL_VERSION,
        client_capabilities=ClientCapabilities(fs=FileSystemCapabilities(
            read_text_file=True, write_text_file=True), terminal=False),
        client_info=Implementation(name="bench", title="bench", version="0"))


# -- 1. start-up --------------------------------------------------------------------------
async def start_to_initialize(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = await spawn(argv, env, cwd)
    conn = connect_to_agent(BareClient(), proc.stdin, proc.stdout)
    try:
        await asyncio.wait_for(initialize(conn), 60)
        return time.perf_counter() - t0
    finally:
        await finish(proc)
        with contextlib.suppress(Exception):
            await conn.close()


async def start_to_exit(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = await spawn(argv, env, cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    code = await proc.wait()
    dt = time.perf_counter() - t0
    _groups.discard(proc.pid)
    if code != 0:
        raise RuntimeError(f"{argv} exited with {code}")
    return dt


def import_times(argv: list[str], env: dict[str, str], cwd: Path) -> list[tuple]:
    """``-X importtime`` rows (self µs, cumulative µs, depth, module) of one start."""
    p = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], input=b"",
                       capture_output=True, env=env, cwd=cwd, timeout=60)
    out = []
    for line in p.stderr.decode(errors="replace").splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            out.append((int(m[1]), int(m[2]), len(m[3]) // 2, m[4]))
    return out


IMPORT_VARIANTS = {
    "as is": "",
    "no attribute docstrings": "import pydantic._internal._fields as f\n"
                               "f._update_fields_from_docstrings = lambda *a, **k: None",
    "defer_build": "import pydantic._internal._config as c\n"
                   "c.config_defaults['defer_build'] = True",
}
IMPORT_VARIANTS["both"] = IMPORT_VARIANTS["no attribute docstrings"] + "\n" + \
    IMPORT_VARIANTS["defer_build"]


def import_acp_variants(env: dict[str, str], cwd: Path, reps: int) -> dict[str, float]:
    """Time of ``import acp`` inside a fresh interpreter (pydantic already imported)."""
    res: dict[str, list[float]] = {k: [] for k in IMPORT_VARIANTS}
    for _ in range(reps):  # interleaved
        for k, pre in IMPORT_VARIANTS.items():
            code = (f"import time, pydantic\n{pre}\nt = time.perf_counter()\nimport acp\n"
                    "print(time.perf_counter() - t)")
            out = subprocess.run([PY, "-c", code], env=env, cwd=cwd, capture_output=True,
                                 check=True, timeout=60).stdout
            res[k].append(float(out))
    return {k: statistics.median(v) for k, v in res.items()}


async def bench_start(tmp: Path, sz: Sizes) -> dict[str, Any]:
    script = tmp / "script.json"
    script.write_text(json.dumps({"turns": [{"text": "hello"}]}))
    builtin = [*BUILTIN, "--model", f"scripted:{script}"]
    minimal = [PY, "-m", "overmind_jupyter.testing.acp_agent"]
    as_is = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    cached = {k: v for k, v in as_is.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")  # warm cache, outside the repo
    cases = {
        "builtin": lambda env: start_to_initialize(builtin, env, tmp),
        "minimal": lambda env: start_to_initialize(minimal, env, tmp),
        "pass": lambda env: start_to_exit([PY, "-c", "pass"], env, tmp),
        "import acp": lambda env: start_to_exit([PY, "-c", "import acp"], env, tmp),
    }
    for fn in cases.values():  # warm-up: fills the bytecode cache (and the page cache)
        await fn(cached)
        await fn(as_is)
    times: dict[str, list[float]] = {k: [] for k in cases}
    as_is_times: list[float] = []
    for _ in range(sz.starts):  # interleaved, so load drift hits all alike
        for k, fn in cases.items():
            times[k].append(await fn(cached))
        as_is_times.append(await cases["builtin"](as_is))
    rows = import_times(builtin, cached, tmp)
    variants = import_acp_variants(cached, tmp, sz.import_reps)
    return {"median": {k: statistics.median(v) for k, v in times.items()},
            "all": times, "as_is": statistics.median(as_is_times),
            "dont_write": os.environ.get("PYTHONDONTWRITEBYTECODE"),
            "importtime": rows, "variants": variants}


# -- 2. tool-call round trip --------------------------------------------------------------
def _summary(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    t = sorted(data["times"])
    return {"median_ms": statistics.median(t) * 1000, "p90_ms": t[int(0.9 * len(t))] * 1000,
            "p99_ms": t[min(len(t) - 1, int(0.99 * len(t)))] * 1000, "n": len(t),
            "size": data["size"]}


async def reads_engine(engine: Engine, ws: Path, target: Path, n: int) -> dict[str, Any]:
    out = ws.parent / "reads-engine.json"
    m = await engine.run(MissionSpec(command=["reads", str(n), str(target), str(out)],
                                     kind=MissionKind.AGENT, agent="bench", cwd=str(ws)))
    track(m.pid)  # a mission leads its own process group
    done = await engine.wait(m.id, 300)
    _groups.discard(m.pid)
    if done.status.value != "exited" or not out.exists():
        raise RuntimeError(f"bench agent mission ended {done.status.value}; log: "
                           f"{Path(done.log_path).read_text(errors='replace')[-800:]}")
    return _summary(out)


async def reads_bare(ws: Path, target: Path, n: int) -> dict[str, Any]:
    out = ws.parent / "reads-bare.json"
    proc = await spawn(AGENT, cwd=ws)
    conn = connect_to_agent(BareClient(), proc.stdin, proc.stdout)
    try:
        await initialize(conn)
        session = (await conn.new_session(cwd=str(ws), mcp_servers=[])).session_id
        await conn.prompt(session_id=session,
                          prompt=[text_block(f"reads {n} {target} {out}")])
    finally:
        await finish(proc)
        with contextlib.suppress(Exception):
            await conn.close()
    return _summary(out)


async def reads_raw(ws: Path, target: Path, n: int) -> dict[str, Any]:
    out = ws.parent / "reads-raw.json"
    proc = await spawn([PY, str(BENCH / "_raw_rpc_child.py"), str(n), str(target), str(out)],
                       cwd=ws)
    try:
        for _ in range(n):
            request = json.loads(await proc.stdout.readline())
            with open(request["params"]["path"], encoding="utf-8") as f:
                content = f.read()
            proc.stdin.write((json.dumps({"jsonrpc": "2.0", "id": request["id"],
                                          "result": {"content": content}}) + "\n").encode())
            await proc.stdin.drain()
    finally:
        await finish(proc)
    return _summary(out)


# -- 3. CPU per streamed update -----------------------------------------------------------
async def chunks_engine(engine: Engine, ws: Path, n: int) -> dict[str, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    m = await engine.run(MissionSpec(command=["chunks", str(n)], kind=MissionKind.AGENT,
                                     agent="bench", cwd=str(ws)))
    track(m.pid)
    done = await engine.wait(m.id, 300)
    _groups.discard(m.pid)
    engine.store.flush()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    got = engine.store.conn.execute("SELECT COUNT(*) FROM events WHERE mission = ? AND type "
                                    "= 'agent-message'", (m.id,)).fetchone()[0]
    if done.status.value != "exited" or got != n:
        raise RuntimeError(f"chunks mission: {done.status.value}, {got} of {n} messages")
    return {"cpu": cpu, "wall": wall}


async def chunks_bare(ws: Path, n: int) -> dict[str, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    proc = await spawn(AGENT, cwd=ws)
    conn = connect_to_agent(BareClient(), proc.stdin, proc.stdout)
    try:
        await initialize(conn)
        session = (await conn.new_session(cwd=str(ws), mcp_servers=[])).session_id
        await conn.prompt(session_id=session, prompt=[text_block(f"chunks {n}")])
    finally:
        await finish(proc)
        with contextlib.suppress(Exception):
            await conn.close()
    return {"cpu": time.process_time() - c0, "wall": time.perf_counter() - t0}


async def bench_agent_io(tmp: Path, sz: Sizes, errors: dict[str, str]) -> dict[str, Any]:
    ws = tmp / "workspace"
    ws.mkdir()
    target = ws / "file-10k.txt"
    line = "0123456789abcdef " * 4 + "\n"  # 69 bytes
    target.write_text((line * (10 * 1024 // len(line) + 1))[:10 * 1024])
    res: dict[str, Any] = {}
    engine = Engine(tmp / "project", agents={"bench": AGENT}, provider_env={})
    await engine.start()
    try:
        for key, coro in (("reads engine", reads_engine(engine, ws, target, sz.reads)),
                          ("reads bare", reads_bare(ws, target, sz.reads)),
                          ("reads raw", reads_raw(ws, target, sz.reads))):
            res[key] = await _atry(errors, f"2 {key}", coro)
        cpu: dict[str, list[dict[str, float]]] = {k: [] for k in (
            "engine 0", "engine N", "bare 0", "bare N")}
        for _ in range(sz.cpu_reps):  # interleaved
            cpu["engine 0"].append(await chunks_engine(engine, ws, 0))
            cpu["engine N"].append(await chunks_engine(engine, ws, sz.chunks))
            cpu["bare 0"].append(await chunks_bare(ws, 0))
            cpu["bare N"].append(await chunks_bare(ws, sz.chunks))
        med = {k: {f: statistics.median(x[f] for x in v) for f in ("cpu", "wall")}
               for k, v in cpu.items()}
        res["cpu"] = med
        res["cpu_all"] = {k: [round(x["cpu"], 3) for x in v] for k, v in cpu.items()}
    finally:
        await engine.close()
    return res


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
    ok: bool | None

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


async def _atry(errors: dict[str, str], key: str, coro: Any) -> Any:
    try:
        return await coro
    except Exception as exc:
        errors[key] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        return None


async def main_async(sz: Sizes, quick: bool) -> None:
    errors: dict[str, str] = {}
    started, load0 = time.monotonic(), os.getloadavg()
    took: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="overmind-agent-bench-") as tmpname:
        tmp = Path(tmpname)
        t = time.monotonic()
        st = await _atry(errors, "1", bench_start(tmp, sz))
        took["1"] = time.monotonic() - t
        t = time.monotonic()
        io = await _atry(errors, "2/3", bench_agent_io(tmp, sz, errors)) or {}
        took["2+3"] = time.monotonic() - t
    cleanup()
    ms = 1000.0
    med = (st or {}).get("median", {})
    b, imp = med.get("builtin"), med.get("import acp")
    rows = [
        Row("1a", "builtin agent: spawn → initialize answered (ms)",
            b * ms if b else None, "{:.0f}", "python -c pass",
            med["pass"] * ms if "pass" in med else None, "≤ 500 ms",
            b is not None and b <= 0.5),
        Row("1b", "builtin agent: spawn → initialize answered (ms)",
            b * ms if b else None, "{:.0f}", 'python -c "import acp"',
            imp * ms if imp else None, "—", None),
        Row("1c", "builtin agent: spawn → initialize answered (ms)",
            b * ms if b else None, "{:.0f}", "minimal acp SDK agent",
            med["minimal"] * ms if "minimal" in med else None, "—", None),
    ]
    if st and st["dont_write"]:
        rows.append(Row("1d", "same, as this env runs it: no bytecode cache (ms)",
                        st["as_is"] * ms, "{:.0f}", "warm cache", b * ms if b else None,
                        "—", None))
    e, bare, raw = io.get("reads engine"), io.get("reads bare"), io.get("reads raw")
    em = e["median_ms"] if e else None
    rows += [
        Row("2a", f"fs/read_text_file 10 KiB round trip, median of {sz.reads} (ms)", em,
            "{:.3f}", "raw JSON-RPC, no SDK", raw["median_ms"] if raw else None, "≤ 5 ms",
            em is not None and em <= 5),
        Row("2b", "same (ms)", em, "{:.3f}", "bare acp client",
            bare["median_ms"] if bare else None, "—", None),
    ]
    cpu = io.get("cpu")
    per = base = None
    if cpu:
        per = (cpu["engine N"]["cpu"] - cpu["engine 0"]["cpu"]) / sz.chunks * 1e6
        base = (cpu["bare N"]["cpu"] - cpu["bare 0"]["cpu"]) / sz.chunks * 1e6
    rows.append(Row("3", f"engine CPU per session/update, {sz.chunks:,} chunks (µs)", per,
                    "{:.0f}", "bare acp client, no-op", base, "≤ 1,000 µs",
                    per is not None and per <= 1000))

    print(f"\nOvermind agent benchmarks — {time.strftime('%Y-%m-%d %H:%M:%S')}"
          f"{' (--quick)' if quick else ''}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, kernel "
          f"{os.uname().release}")
    print_table(rows)
    print("\nDetails")
    if st:
        print(f"  1. medians of {sz.starts} (ms): " + ", ".join(
            f"{k} {v * ms:.0f}" for k, v in med.items())
              + "; minima: " + ", ".join(f"{k} {min(v) * ms:.0f}" for k, v in st["all"].items())
              + f"; builtin all: {[round(x * ms) for x in st['all']['builtin']]}")
        if st["dont_write"]:
            print(f"     PYTHONDONTWRITEBYTECODE={st['dont_write']} here: without a warm cache "
                  f"the builtin agent took {st['as_is'] * ms:.0f} ms (median; the source "
                  "tree has no __pycache__, so overmind_jupyter is compiled at every start)")
        rows_it = st["importtime"]
        if rows_it:
            total = sum(r[1] for r in rows_it if r[2] == 0)
            cum = {r[3]: r[1] for r in rows_it}
            selfs = {r[3]: r[0] for r in rows_it}
            om = sum(r[0] for r in rows_it if r[3].startswith("overmind_jupyter"))
            top = sorted((r for r in rows_it if r[2] == 0), key=lambda r: -r[1])[:6]
            print(f"     -X importtime of the builtin agent: {total / 1000:.0f} ms of imports;"
                  f" top level: " + ", ".join(f"{r[3]} {r[1] / 1000:.0f}" for r in top))
            print(f"     acp.schema itself {selfs.get('acp.schema', 0) / 1000:.0f} ms "
                  f"(self time: building ~270 pydantic models); pydantic "
                  f"{cum.get('pydantic', 0) / 1000:.0f} ms; overmind_jupyter's own module "
                  f"bodies {om / 1000:.0f} ms")
            big = sorted(rows_it, key=lambda r: -r[0])[:5]
            print("     largest self times (ms): " + ", ".join(
                f"{r[3]} {r[0] / 1000:.1f}" for r in big))
        v = st["variants"]
        print(f"     `import acp` in a fresh interpreter (pydantic already imported), median "
              f"of {sz.import_reps}: " + ", ".join(f"{k} {x * ms:.0f} ms" for k, x in
                                                    v.items()))
    for key, r in (("engine EngineClient", e), ("bare acp client", bare),
                   ("raw JSON-RPC", raw)):
        if r:
            print(f"  2. {key:<19} {r['n']} reads of {r['size']:,} chars: median "
                  f"{r['median_ms']:.3f} ms, p90 {r['p90_ms']:.3f}, p99 {r['p99_ms']:.3f}")
    if cpu:
        print(f"  3. process CPU (s, medians of {sz.cpu_reps}): " + ", ".join(
            f"{k.replace('N', str(sz.chunks))} {v['cpu']:.3f}" for k, v in cpu.items())
              + f"; all runs {io['cpu_all']}")
        for who in ("engine", "bare"):
            d = cpu[f"{who} N"]["wall"] - cpu[f"{who} 0"]["wall"]
            if d > 0:
                print(f"     {who}: {sz.chunks:,} updates streamed in {d:.2f} s more wall "
                      f"time than 0 ({sz.chunks / d:,.0f}/s)")
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
        asyncio.run(main_async(QUICK if args.quick else FULL, args.quick))
    finally:
        cleanup()


if __name__ == "__main__":
    main()
