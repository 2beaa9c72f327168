"""An ACP agent for ``agent_bench.py`` (``python bench/_acp_bench_agent.py``).

Built on the same ``agent-client-protocol`` SDK as Overmind's agents. Each prompt's text is
a command:

- ``reads N PATH OUT``: ``fs/read_text_file`` of PATH, N times in a row, each round trip
  timed here (``perf_counter``); the times (s) go to the JSON file OUT and a one-line
  summary is the final agent message.
- ``chunks N``: N ``session/update`` ``agent_message_chunk`` notifications (a short token
  each, as a model stream sends them), then ``end_turn``.
- anything else: ``end_turn`` at once.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from acp import PROTOCOL_VERSION, run_agent, update_agent_message_text
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    NewSessionResponse,
    PromptResponse,
)

TOKEN = "token "  # one streamed chunk


class BenchAgent:
    def __init__(self) -> None:
        self.conn: Any = None

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        return InitializeResponse(protocol_version=PROTOCOL_VERSION,
                                  agent_capabilities=AgentCapabilities(load_session=False),
                                  agent_info=Implementation(name="bench-agent", version="1"))

    async def new_session(self, cwd: str, **kwargs: Any) -> NewSessionResponse:
        return NewSessionResponse(session_id="bench")

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        return None

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        words = " ".join(getattr(b, "text", "") for b in prompt).split()
        if words[:1] == ["reads"]:
            n, path, out = int(words[1]), words[2], words[3]
            times = []
            size = 0
            for _ in range(n):
                t0 = time.perf_counter()
                r = await self.conn.read_text_file(session_id=session_id, path=path)
                times.append(time.perf_counter() - t0)
                size = len(r.content)
            with open(out, "w") as f:
                json.dump({"times": times, "size": size}, f)
            await self.conn.session_update(session_id=session_id, update=update_agent_message_text(
                f"{n} reads of {size} chars, median {statistics.median(times) * 1e3:.3f} ms"))
        elif words[:1] == ["chunks"]:
            for _ in range(int(words[1])):
                await self.conn.session_update(session_id=session_id,
                                               update=update_agent_message_text(TOKEN))
        return PromptResponse(stop_reason="end_turn")


if __name__ == "__main__":
    asyncio.run(run_agent(BenchAgent()))
