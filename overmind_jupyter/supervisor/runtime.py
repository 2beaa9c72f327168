"""In-memory state of one live mission inside the supervisor."""

from __future__ import annotations

import asyncio
import dataclasses

from ..model import ExitCause
from .logs import PtyPump
from .process import Child

USER_STOP = "stopped by user"  # what a stop reads as unless the stopper says why


@dataclasses.dataclass(eq=False, slots=True)
class Runtime:
    """What the supervisor holds for a mission while its lifecycle task runs.

    Attributes:
        mission_id: the mission's id.
        child: the current process, None between runs.
        cause: set when Overmind itself ends the run (user stop or stall).
        stop_why: what a stop reads as (``stopped by user``, or the server shutting down).
        done: set once the mission reached a terminal state.
        wake: set to cut a backoff sleep short (a stop or a restart during ``restarting``).
        restart_asked: a user asked for a restart; the current run ends and the next one
            starts at once, outside the restart budget.
        running: set while a process runs, after a failed spawn, and once the mission is over.
        gone: set when the current process has exited.
        pump: pty reader of a session mission.
        task: the lifecycle task.
    """

    mission_id: str
    child: Child | None = None
    cause: ExitCause | None = None
    stop_why: str = USER_STOP
    done: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    restart_asked: bool = False
    running: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    gone: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    pump: PtyPump | None = None
    task: asyncio.Task | None = None
