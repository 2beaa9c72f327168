"""What happens to missions, for whoever needs to know: the agent runtime, blueprints,
worktree command missions, attach sockets (``Supervisor.listen``)."""

from __future__ import annotations

from ..model import ExitCause, ExitInfo, Mission, MissionStatus
from .process import Child


class MissionListener:
    """What happens to missions, told to whoever listens (``Supervisor.listen``); a listener
    overrides what it needs (the defaults do nothing). Per run, in order: ``running`` and
    ``spawned`` (its process), ``exited`` (awaited, before restart or end is decided),
    ``judge_exit`` (how the run really ended, when the listener knows better than the exit
    status: the ACP runtime for an agent whose turn failed), then once the end is final
    ``ending`` (awaited before the terminal state is recorded: what the mission left behind
    is settled before anyone sees it) and ``ended`` (with the ended mission)."""

    def running(self, m: Mission) -> None:
        """A run started (``m`` is running)."""

    def spawned(self, m: Mission, child: Child) -> None:
        """A run's process: ``child``."""

    async def exited(self, m: Mission) -> None:
        """A run's process exited."""

    def judge_exit(self, m: Mission, cause: ExitCause, info: ExitInfo
                   ) -> tuple[ExitCause, ExitInfo]:
        """How the run ended: ``(cause, info)`` as observed, or what the listener knows."""
        return cause, info

    async def ending(self, m: Mission, status: MissionStatus, info: ExitInfo) -> None:
        """The mission's end is final (no restart follows); ``status`` is about to be
        recorded."""

    def ended(self, m: Mission) -> None:
        """The mission ended (its terminal state is recorded)."""
