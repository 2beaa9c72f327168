"""``agent_bench.py`` #2 and #3: the bench agent (``_acp_bench_agent.py``) against the engine.

#2: ``fs/read_text_file`` of a 10 KiB file N times, each call timed by the agent itself,
served by the engine's ``EngineClient`` (an agent mission), by a bare ``acp`` client, and
as raw newline-delimited JSON-RPC without the SDK (``_raw_rpc_child.py``, served here).
#3: the CPU time of this process (the engine runs here) while the agent streams N
``agent_message_chunk`` updates, minus that of a run streaming none; same with a bare client.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from _agent_common import AGENT, BENCH, GROUPS, PY, Sizes, connected, finish, initialize, spawn
from _report import Run
from acp import text_block

from overmind_jupyter.config import Settings
from overmind_jupyter.engine import Engine
from overmind_jupyter.model import Mission, MissionKind, MissionSpec


def _summary(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    t = sorted(data["times"])
    return {"median_ms": statistics.median(t) * 1000, "p90_ms": t[int(0.9 * len(t))] * 1000,
            "p99_ms": t[min(len(t) - 1, int(0.99 * len(t)))] * 1000, "n": len(t),
            "size": data["size"]}


async def _mission(engine: Engine, ws: Path, command: list[str]) -> tuple[Mission, Mission]:
    """Run the bench agent as an engine mission: (the started mission, the ended one)."""
    m = await engine.run(MissionSpec(command=command, kind=MissionKind.AGENT, agent="bench",
                                     cwd=str(ws)))
    GROUPS.track(m.pid)  # a mission leads its own process group
    done = await engine.wait(m.id, 300)
    GROUPS.discard(m.pid)
    return m, done


async def _prompt_bare(ws: Path, text: str) -> None:
    """The bench agent with a bare ``acp`` client: one session, one prompt."""
    async with connected(AGENT, cwd=ws) as conn:
        await initialize(conn)
        session = (await conn.new_session(cwd=str(ws), mcp_servers=[])).session_id
        await conn.prompt(session_id=session, prompt=[text_block(text)])


async def reads_engine(engine: Engine, ws: Path, target: Path, n: int) -> dict[str, Any]:
    out = ws.parent / "reads-engine.json"
    _, done = await _mission(engine, ws, ["reads", str(n), str(target), str(out)])
    if done.status.value != "exited" or not out.exists():
        raise RuntimeError(f"bench agent mission ended {done.status.value}; log: "
                           f"{Path(done.log_path).read_text(errors='replace')[-800:]}")
    return _summary(out)


async def reads_bare(ws: Path, target: Path, n: int) -> dict[str, Any]:
    out = ws.parent / "reads-bare.json"
    await _prompt_bare(ws, f"reads {n} {target} {out}")
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


async def chunks_engine(engine: Engine, ws: Path, n: int) -> dict[str, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    m, done = await _mission(engine, ws, ["chunks", str(n)])
    engine.store.flush()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    got = engine.store.conn.execute("SELECT COUNT(*) FROM events WHERE mission = ? AND type "
                                    "= 'agent-message'", (m.id,)).fetchone()[0]
    if done.status.value != "exited" or got != n:
        raise RuntimeError(f"chunks mission: {done.status.value}, {got} of {n} messages")
    return {"cpu": cpu, "wall": wall}


async def chunks_bare(ws: Path, n: int) -> dict[str, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    await _prompt_bare(ws, f"chunks {n}")
    return {"cpu": time.process_time() - c0, "wall": time.perf_counter() - t0}


async def _cpu(engine: Engine, ws: Path, sz: Sizes) -> dict[str, Any]:
    cpu: dict[str, list[dict[str, float]]] = {k: [] for k in (
        "engine 0", "engine N", "bare 0", "bare N")}
    for _ in range(sz.cpu_reps):  # interleaved
        cpu["engine 0"].append(await chunks_engine(engine, ws, 0))
        cpu["engine N"].append(await chunks_engine(engine, ws, sz.chunks))
        cpu["bare 0"].append(await chunks_bare(ws, 0))
        cpu["bare N"].append(await chunks_bare(ws, sz.chunks))
    med = {k: {f: statistics.median(x[f] for x in v) for f in ("cpu", "wall")}
           for k, v in cpu.items()}
    return {"cpu": med, "cpu_all": {k: [round(x["cpu"], 3) for x in v] for k, v in cpu.items()}}


async def bench_agent_io(tmp: Path, sz: Sizes, run: Run) -> dict[str, Any]:
    ws = tmp / "workspace"
    ws.mkdir()
    target = ws / "file-10k.txt"
    line = "0123456789abcdef " * 4 + "\n"  # 69 bytes
    target.write_text((line * (10 * 1024 // len(line) + 1))[:10 * 1024])
    res: dict[str, Any] = {}
    # agents run sandboxed: the bench agent's script (bench/) must be readable, and its
    # results go beside its workspace (in ``tmp``)
    engine = Engine(tmp / "project", Settings.from_env(sandbox_read=(BENCH,),
                                                       sandbox_write=(tmp,)),
                    agents={"bench": AGENT}, provider_env={})
    await engine.start()
    try:
        for key, coro in (("reads engine", reads_engine(engine, ws, target, sz.reads)),
                          ("reads bare", reads_bare(ws, target, sz.reads)),
                          ("reads raw", reads_raw(ws, target, sz.reads))):
            res[key] = await run.aattempt(f"2 {key}", coro)
        res.update(await _cpu(engine, ws, sz))
    finally:
        await engine.close()
    return res
