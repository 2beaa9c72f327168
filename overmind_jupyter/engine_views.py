"""The engine's read side of missions: listings, details, logs (a mixin of ``Engine``).

Uses the engine's ``store``, ``supervisor``, ``agents`` and ``resolve``; raises what
``resolve`` raises (``NotFound``, ``AmbiguousReference``).
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncGenerator, Callable
from typing import Any

from .model import Mission, MissionKind, MissionStatus, mission_to_dict
from .supervisor import logs, stats


class MissionViews:
    """What ``ps``, ``info``, ``logs`` and ``logs -f`` show."""

    store: Any
    supervisor: Any
    agents: Any
    resolve: Callable[[str], Mission]  # the engine's

    async def ps(self, all: bool = False) -> list[Mission]:
        """Missions, oldest first: live ones only unless ``all``."""
        return self.store.missions(live_only=not all)

    async def ps_json(self, all: bool = False) -> str:
        """``ps`` as JSON text in the ``mission_to_dict`` shape (fast path for ``--json``)."""
        return self.store.missions_json(live_only=not all)

    async def ps_stats(self, all: bool = False) -> list[dict[str, Any]]:
        """``ps`` in the ``mission_to_dict`` shape; each live mission also has
        ``last_line`` and, while its process runs, ``cpu_percent`` (% of one core since
        the previous measurement) and ``rss_bytes`` of its process tree, measured in one
        pass over the process table (``supervisor.stats``), off the event loop."""
        return await asyncio.to_thread(stats.rows, self.store.missions(live_only=not all))

    async def info(self, ref: str) -> dict[str, Any]:
        """``mission_to_dict`` plus ``children``, ``last_line`` and live ``cpu_percent``/``rss``."""
        m = self.resolve(ref)
        data = mission_to_dict(m)
        data["children"] = [c.id for c in self.store.children(m.id)]
        data["last_line"] = logs.last_line(m.log_path)
        data["log_bytes"] = logs.size(m.log_path)
        data.update((await asyncio.to_thread(stats.measure, [m])).get(m.id, {}))
        if m.kind is MissionKind.AGENT:
            data["liveness"] = self.agents.liveness(m.id) or (
                "done" if m.status is MissionStatus.EXITED else "dead")
        return data

    async def logs(self, ref: str, tail: int | None = None) -> str:
        """The mission's log text: the last ``tail`` lines (≤ 256 KiB), or all of that."""
        return logs.tail(self.resolve(ref).log_path, tail)

    async def follow(self, ref: str, tail: int | None = 10) -> AsyncGenerator[str, None]:
        """Yield the last ``tail`` lines, then new output until the mission has ended."""
        m = self.resolve(ref)
        offset = logs.size(m.log_path)
        if tail != 0:
            yield logs.tail(m.log_path, tail)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        finished = lambda: m.id not in self.supervisor.runtimes  # noqa: E731
        async for chunk in logs.follow(m.log_path, offset, finished):
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)
