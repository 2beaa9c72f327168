"""A fake clock for timing tests: time moves only when the test calls ``advance``."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Implements ``supervisor.clock.Clock``; ``sleep`` waits until ``advance`` passes it.

    Attributes:
        now: current fake monotonic time (s).
        sleeps: every duration passed to ``sleep``, in call order (s).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._waiters: list[tuple[float, asyncio.Future]] = []

    def monotonic(self) -> float:
        """Current fake time (s)."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Wait until the fake time reaches ``now + seconds``."""
        self.sleeps.append(seconds)
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((self.now + seconds, future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        self.now += seconds
        due = [w for w in self._waiters if w[0] <= self.now]
        self._waiters = [w for w in self._waiters if w[0] > self.now]
        for _, future in due:
            if not future.done():
                future.set_result(None)

    @property
    def sleeping(self) -> int:
        """How many sleepers are waiting."""
        return sum(1 for _, f in self._waiters if not f.done())
