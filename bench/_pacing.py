"""Steady-rate emission shared by the Overmind bench extension and the bare tornado server.

Both servers of ``server_bench.py`` emit through the same ``paced`` loop, so their event
streams have the same timing: event ``i`` is due at ``t0 + i / rate``; the events that are
due when the loop wakes up are emitted together (one store commit / one frame in both).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def paced(rate: float, n: int, emit: Callable[[int, int], None]) -> dict:
    """Call ``emit(first_index, count)`` so that event ``i`` leaves at ``t0 + i / rate``.

    Returns ``{"elapsed_s", "ticks", "max_batch", "late_ms_max"}`` (lateness of an event =
    how long after its due time it was handed to ``emit``).
    """
    t0 = time.perf_counter()
    sent = ticks = max_batch = 0
    late_max = 0.0
    while sent < n:
        now = time.perf_counter()
        due = min(n, int((now - t0) * rate) + 1)
        if due > sent:
            late_max = max(late_max, now - (t0 + sent / rate))
            emit(sent, due - sent)
            max_batch = max(max_batch, due - sent)
            sent = due
            ticks += 1
        if sent < n:
            await asyncio.sleep(max(0.0, t0 + sent / rate - time.perf_counter()))
    return {"elapsed_s": time.perf_counter() - t0, "ticks": ticks, "max_batch": max_batch,
            "late_ms_max": late_max * 1000}
