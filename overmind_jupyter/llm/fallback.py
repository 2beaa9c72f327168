"""``FallbackModel``: a primary ``ChatModel`` and an alternative for when it is exhausted.

When the primary raises ``ProviderError`` of a transient kind after its own retry budget
(rate-limit, server, timeout, connection, stream-cut), the turn is replayed on the
alternative, after a ``Retrying`` item that says so (the consumer drops the text it got
from the primary). Auth and bad-request errors are not the provider being exhausted:
they are raised as they are. After a switch, calls go straight to the alternative for
``stay_s`` seconds, so an exhausted primary is not hammered on every turn.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from .contract import (
    ChatModel,
    Message,
    ProviderError,
    ResponseFormat,
    Retrying,
    StreamItem,
    ToolSpec,
)

FALLBACK_KINDS = frozenset({"rate-limit", "quota", "server", "timeout", "connection",
                            "stream-cut"})


class FallbackModel:
    """Serve turns from ``primary``, or from ``alternative`` when the primary is exhausted.

    Args:
        primary: the configured model.
        alternative: the model to switch to.
        stay_s: how long to keep using the alternative after a switch (s).
        clock: monotonic time in s (a test seam).

    Attributes:
        served_by: the model that served (or is serving) the latest turn; price a turn's
            ``Usage`` with ``served_by.model_id``.
    """

    def __init__(self, primary: ChatModel, alternative: ChatModel, *, stay_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.primary = primary
        self.alternative = alternative
        self.model_id = primary.model_id
        self.label = f"{primary.label}, falling back to {alternative.label}"
        self.structured_output = primary.structured_output and alternative.structured_output
        self.served_by: ChatModel = primary
        self._stay_s = stay_s
        self._clock = clock
        self._switched_at: float | None = None

    def __repr__(self) -> str:
        return f"FallbackModel({self.primary!r}, {self.alternative!r})"

    def _staying_on_alternative(self) -> bool:
        return self._switched_at is not None and self._clock() - self._switched_at < self._stay_s

    async def stream(
        self, messages: list[Message], tools: list[ToolSpec],
        response_format: ResponseFormat | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Stream one turn from the primary, or from the alternative (see the module doc).

        Raises:
            ProviderError: a non-transient primary error, or any alternative error.
        """
        if not self._staying_on_alternative():
            self.served_by = self.primary
            try:
                async for item in self.primary.stream(messages, tools, response_format):
                    yield item
                return
            except ProviderError as exc:
                if exc.kind not in FALLBACK_KINDS:
                    raise
                self._switched_at = self._clock()
                reason = (f"{self.primary.label} is unavailable ({exc.message}); "
                          f"switching to {self.alternative.label}")
            yield Retrying(attempt=1, delay_s=0.0, reason=reason)
        self.served_by = self.alternative
        async for item in self.alternative.stream(messages, tools, response_format):
            yield item
