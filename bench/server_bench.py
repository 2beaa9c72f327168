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
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from _procs import guarded  # noqa: E402
from _report import Run, print_head  # noqa: E402
from _srv_common import FULL, PROCS, QUICK, Server, Sizes, start_bare, start_overmind  # noqa: E402
from _srv_measure import fanout, replay_once, store_read_floor  # noqa: E402
from _srv_ps import bench_ps  # noqa: E402
from _srv_report import print_details, table_rows  # noqa: E402

from overmind_jupyter.runtime_files import TOKEN_HEADER  # noqa: E402


async def _replays(run: Run, key: str, server: Server, path: str, headers: dict[str, str],
                   sz: Sizes) -> list[dict[str, Any]]:
    runs = []
    for _ in range(sz.replay_reps):
        r = await run.aattempt(key, replay_once(server, path, headers, "bench-fill", sz.replay))
        if r:
            runs.append(r)
    return runs


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda r: r["s"])[len(runs) // 2]


async def _replay(run: Run, om: Server | None, bare: Server | None, sz: Sizes,
                  rp: dict[str, Any]) -> None:
    """#2 first: after=0 then replays exactly the prefilled events (+ engine-started)."""
    if om:
        fill = await run.aattempt("2 fill", asyncio.to_thread(
            om.post, "overmind-bench/fill", {"n": sz.replay}))
        if fill:
            rp["fill_s"] = fill["s"]
            want = fill["last"]  # events with seq ≤ last; count = last (after=0)
            runs = await _replays(run, "2 overmind", om,
                                  f"{om.base}overmind/api/events?after=0",
                                  {TOKEN_HEADER: om.token}, sz)
            if runs:
                rp["overmind"] = _median(runs)
                rp["overmind_all"] = [r["s"] for r in runs]
            db = om.root / ".overmind" / "overmind.db"
            rp["floor_s"] = run.attempt("2 floor", store_read_floor, db, 0, want)
    if bare:
        await run.aattempt("2 bare", asyncio.to_thread(bare.post, "prefill", {"n": sz.replay}))
        runs = await _replays(run, "2 bare", bare, "/replay", {}, sz)
        if runs:
            rp["bare"] = _median(runs)


async def _fanout(run: Run, om: Server | None, bare: Server | None, sz: Sizes,
                  fo: dict[str, Any]) -> None:
    n_events = int(sz.rate * sz.seconds)
    if bare:
        fo["bare"] = await run.aattempt("1 bare", fanout(bare, "/ws", {}, "emit", sz, n_events))
    if not om:
        return
    hdr = {TOKEN_HEADER: om.token}
    last = om.get_api("status")["last_seq"]
    fo["overmind"] = await run.aattempt("1 overmind", fanout(
        om, f"{om.base}overmind/api/events?after={last}", hdr, "overmind-bench/emit", sz,
        n_events))
    if (fo["overmind"] or {}).get("emit", {}).get("flush_delay_s"):
        last = om.get_api("status")["last_seq"]  # diagnostic: no flush delay
        fo["overmind, FLUSH_DELAY_S=0"] = await run.aattempt(
            "1 overmind, FLUSH_DELAY_S=0", fanout(
                om, f"{om.base}overmind/api/events?after={last}", hdr,
                "overmind-bench/emit", sz, n_events, flush_delay_s=0))


async def _phases(run: Run, om: Server | None, bare: Server | None, sz: Sizes,
                  fo: dict[str, Any], rp: dict[str, Any]) -> None:
    with run.phase("2"):
        await _replay(run, om, bare, sz, rp)
    with run.phase("1"):
        await _fanout(run, om, bare, sz, fo)


def run_all(sz: Sizes, quick: bool) -> None:
    run = Run()
    fo: dict[str, Any] = {}
    rp: dict[str, Any] = {}
    ps = None
    with tempfile.TemporaryDirectory(prefix="overmind-server-bench-") as tmpname:
        tmp = Path(tmpname)
        with run.phase("start"):
            om = run.attempt("start overmind server", start_overmind, tmp / "om")
            bare = run.attempt("start bare server", start_bare, tmp)
        asyncio.run(_phases(run, om, bare, sz, fo, rp))
        if bare:
            with contextlib.suppress(OSError):
                os.killpg(bare.proc.pid, signal.SIGTERM)
        with run.phase("3"):
            if om and run.attempt("3 insert", om.post, "overmind-bench/missions",
                                  {"n": sz.missions}):
                ps = run.attempt("3", bench_ps, om, sz, tmp)
        PROCS.cleanup()
    print_head("server", quick, "; server = jupyter_server subprocess with the Overmind "
               "extension", table_rows(sz, fo, rp, ps))
    print_details(sz, fo, rp, ps)
    run.print_footer()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    args = ap.parse_args()
    guarded(PROCS.cleanup, lambda: run_all(QUICK if args.quick else FULL, args.quick))


if __name__ == "__main__":
    main()
