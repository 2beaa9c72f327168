#!/usr/bin/env python
"""Overmind supervisor benchmarks, measured side by side with baselines in one run.

    .venv/bin/python bench/supervisor_bench.py [--quick]

Prints a table: Overmind's figure, the baseline's figure measured in the same run, the
ratio (Overmind / baseline), the target and PASS/MISS. It never exits non-zero because a
target was missed (only when the harness itself breaks). See bench/README.md.

1. start/stop N ``sleep 30`` missions vs circus and supervisord (N programs each), timed
   from the request until a separate poller process sees all N processes exec'd / reaped.
2. parent RSS (and tracemalloc heap) per running mission vs bare ``Popen`` + pidfd.
3. output capture of one mission writing 200 MiB vs an asyncio protocol callback.
4. events appended through the engine's store vs raw SQLite, one commit per event.
5. ``ps --json`` over 10,000 missions vs ``json.dumps`` of a plain ``SELECT *``.

Every process the run starts carries ``OVERMIND_BENCH_TAG=<random>`` in its environment
and is killed at the end, even after a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _procs import guarded  # noqa: E402
from _report import Run, print_head  # noqa: E402
from _sup_capture import bench_capture  # noqa: E402
from _sup_common import FULL, PROCS, QUICK, Sizes  # noqa: E402
from _sup_memory import bench_memory, memory_phase  # noqa: E402
from _sup_report import print_details, table_rows  # noqa: E402
from _sup_startstop import bench_startstop  # noqa: E402
from _sup_store import bench_events, bench_ps  # noqa: E402


async def _memory(tmp: Path, sz: Sizes) -> Any:
    return await asyncio.to_thread(bench_memory, tmp, sz)  # fresh processes, one by one


async def main_async(sz: Sizes, quick: bool) -> None:
    run = Run()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="overmind-bench-") as tmpname:
        tmp = Path(tmpname)
        phases = (bench_startstop, _memory, bench_capture, bench_events, bench_ps)
        for key, bench in zip("12345", phases, strict=True):
            with run.phase(key):
                results[key] = await run.aattempt(key, bench(tmp, sz))
    leftover = PROCS.cleanup()
    if results["1"]:
        run.errors.update({f"1 ({k})": v for k, v in results["1"]["_errors"].items()})
    print_head("supervisor", quick, f"; medians of {sz.cycles} start/stop cycle(s), "
               f"{sz.capture_reps} capture rep(s)", table_rows(results, sz))
    print_details(results, sz)
    run.print_footer(len(leftover))


def _run(args: argparse.Namespace) -> None:
    if args.phase:  # internal: one memory measurement in a fresh interpreter (#2)
        mode = args.phase.removeprefix("memory-")
        res = asyncio.run(memory_phase(mode, args.n, Path(args.dir)))
        print(json.dumps(res))
    else:
        sz = QUICK if args.quick else FULL
        asyncio.run(main_async(sz, args.quick))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    ap.add_argument("--phase", help=argparse.SUPPRESS)  # internal: memory-overmind|memory-raw
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    scan = not args.phase  # a phase subprocess cleans up its own only
    if scan:
        PROCS.new_tag()
    guarded(lambda: PROCS.cleanup(scan), lambda: _run(args))


if __name__ == "__main__":
    main()
