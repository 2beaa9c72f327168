"""A private event-loop thread for synchronous callers (magics) of async code.

Built on anyio's blocking portal; one portal per magics instance. ``call`` runs a
coroutine function there and blocks for its result; ``next`` pulls one item of an async
iterator and can be interrupted with Ctrl-C (the pending step is cancelled).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from anyio.from_thread import start_blocking_portal

T = TypeVar("T")
_END = object()


class Portal:
    """Starts its thread lazily on first use; ``close`` ends it."""

    def __init__(self) -> None:
        self._cm: Any = None
        self._portal: Any = None

    def _ensure(self) -> Any:
        if self._portal is None:
            self._cm = start_blocking_portal(backend="asyncio")
            self._portal = self._cm.__enter__()
        return self._portal

    def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``await fn(*args)`` on the portal's loop and return its result.

        Ctrl-C while waiting cancels the coroutine and re-raises ``KeyboardInterrupt``.
        """
        future = self._ensure().start_task_soon(fn, *args)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def next(self, iterator: AsyncIterator[T]) -> T | None:
        """The next item of ``iterator``, or None once it is exhausted."""
        item = self.call(_anext, iterator)
        return None if item is _END else item

    def close_iterator(self, iterator: Any) -> None:
        """``aclose`` an async generator on the portal's loop (ignore errors)."""
        with contextlib.suppress(Exception):
            self.call(iterator.aclose)

    def close(self) -> None:
        """Stop the loop thread."""
        if self._cm is not None:
            with contextlib.suppress(Exception):
                self._cm.__exit__(None, None, None)
        self._cm = self._portal = None


async def _anext(iterator: AsyncIterator[Any]) -> Any:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _END
