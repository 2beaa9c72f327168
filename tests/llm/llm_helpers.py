"""Helpers of the LLM tests: a recording sleep seam and stream collectors."""

from __future__ import annotations

import asyncio

import pytest

from overmind_jupyter.llm.contract import ChatModel, Message, ProviderError, StreamItem, ToolSpec

KEY = "test-key-0123456789"


class RecordingSleep:
    """The retry sleep seam: records each requested delay (s) and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def collect(model: ChatModel, messages: list[Message],
            tools: list[ToolSpec] | None = None) -> list[StreamItem]:
    """Every item of one turn (runs its own event loop)."""

    async def run() -> list[StreamItem]:
        return [item async for item in model.stream(messages, tools or [])]

    return asyncio.run(run())


def collect_until_error(model: ChatModel, messages: list[Message],
                        tools: list[ToolSpec] | None = None
                        ) -> tuple[list[StreamItem], ProviderError]:
    """The items a turn yielded before it raised, and the ``ProviderError`` it raised."""
    items: list[StreamItem] = []

    async def run() -> None:
        async for item in model.stream(messages, tools or []):
            items.append(item)

    with pytest.raises(ProviderError) as caught:
        asyncio.run(run())
    return items, caught.value
