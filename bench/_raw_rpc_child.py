"""Baseline of ``agent_bench.py`` #2: the read loop as raw JSON-RPC, no SDK.

    python bench/_raw_rpc_child.py N PATH OUT

Like ``_acp_bench_agent.py reads``, but hand-written: asyncio pipes on stdin/stdout (as
the SDK's ``stdio_streams`` sets them up), one newline-delimited JSON-RPC request
``fs/read_text_file`` at a time, each round trip timed; the times (s) go to OUT as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def main(n: int, path: str, out: str) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=50 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(), sys.stdout)
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    times, size = [], 0
    for i in range(n):
        t0 = time.perf_counter()
        writer.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": "fs/read_text_file",
                                  "params": {"sessionId": "bench", "path": path}})
                      + "\n").encode())
        await writer.drain()
        response = json.loads(await reader.readline())
        times.append(time.perf_counter() - t0)
        size = len(response["result"]["content"])
    with open(out, "w") as f:
        json.dump({"times": times, "size": size}, f)
    writer.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
