"""Clock seam: monotonic time and sleeping. ``testing.FakeClock`` is the fake."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """What the supervisor needs of time: ``monotonic()`` in s and an awaitable ``sleep``."""

    def monotonic(self) -> float:
        """Monotonic time in seconds."""

    async def sleep(self, seconds: float) -> None:
        """Suspend for ``seconds`` s of this clock's time."""


class SystemClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """``time.monotonic()`` (s)."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep(seconds)``."""
        await asyncio.sleep(seconds)
