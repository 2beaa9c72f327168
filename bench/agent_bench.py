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
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from _agent_common import FULL, GROUPS, QUICK, Sizes  # noqa: E402
from _agent_io import bench_agent_io  # noqa: E402
from _agent_report import print_details, table_rows  # noqa: E402
from _agent_start import bench_start  # noqa: E402
from _procs import guarded  # noqa: E402
from _report import Run, print_head  # noqa: E402


async def main_async(sz: Sizes, quick: bool) -> None:
    run = Run()
    with tempfile.TemporaryDirectory(prefix="overmind-agent-bench-") as tmpname:
        tmp = Path(tmpname)
        with run.phase("1"):
            st = await run.aattempt("1", bench_start(tmp, sz))
        with run.phase("2+3"):
            io = await run.aattempt("2/3", bench_agent_io(tmp, sz, run)) or {}
    GROUPS.cleanup()
    print_head("agent", quick, "", table_rows(st, io, sz))
    print_details(st, io, sz)
    run.print_footer()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    args = ap.parse_args()
    sz = QUICK if args.quick else FULL
    guarded(GROUPS.cleanup, lambda: asyncio.run(main_async(sz, args.quick)))


if __name__ == "__main__":
    main()
