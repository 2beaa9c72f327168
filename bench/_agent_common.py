"""What the parts of ``agent_bench.py`` share: sizes, the agents' command lines, the
process groups of the run, and a bare ``acp`` client (the baseline's client side)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from _procs import ProcessGroups
from acp import PROTOCOL_VERSION, connect_to_agent
from acp.schema import (
    ClientCapabilities,
    FileSystemCapabilities,
    Implementation,
    ReadTextFileResponse,
)

BENCH = Path(__file__).resolve().parent
PY = sys.executable
AGENT = [PY, str(BENCH / "_acp_bench_agent.py")]
BUILTIN = [PY, "-m", "overmind_jupyter.agents.builtin"]
LIMIT = 50 * 1024 * 1024  # stream buffer, as the SDK and the engine use
GROUPS = ProcessGroups()  # every process it starts leads its own group (missions too)


@dataclasses.dataclass(frozen=True)
class Sizes:
    starts: int  # 1: timed starts per variant (median)
    import_reps: int  # 1: details, import variants
    reads: int  # 2
    chunks: int  # 3
    cpu_reps: int  # 3: reps of each CPU measurement (median)


FULL = Sizes(starts=7, import_reps=5, reads=500, chunks=5000, cpu_reps=3)
QUICK = Sizes(starts=2, import_reps=1, reads=100, chunks=1000, cpu_reps=1)


async def spawn(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
                stdin: int = subprocess.PIPE, stdout: int = subprocess.PIPE
                ) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL, env=env,
        cwd=cwd, start_new_session=True, limit=LIMIT)
    GROUPS.track(proc.pid)
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
    GROUPS.discard(proc.pid)


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


@contextlib.asynccontextmanager
async def connected(argv: list[str], env: dict[str, str] | None = None,
                    cwd: Path | None = None) -> AsyncIterator[Any]:
    """Spawn the agent ``argv``, connect a ``BareClient`` to its pipes; finish both."""
    proc = await spawn(argv, env, cwd)
    conn = connect_to_agent(BareClient(), proc.stdin, proc.stdout)
    try:
        yield conn
    finally:
        await finish(proc)
        with contextlib.suppress(Exception):
            await conn.close()
