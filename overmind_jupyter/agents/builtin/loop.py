"""The built-in agent's tool-use loop over a ``ChatModel``.

One step: stream a turn (text deltas to the reporter), then run its tool calls and append
their results; stop when the model ends its turn without tool calls, when a loop guard
trips, or when cancelled. ``run_loop`` returns a ``LoopOutcome`` (a small tagged result).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from ...llm.contract import (
    ChatModel,
    Message,
    Retrying,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    TurnEnd,
    Usage,
)
from ...llm.pricing import cost_usd
from ..guards import LoopGuard
from .tools import Toolbox, ToolResult


class Reporter(Protocol):
    """Where progress goes (the ACP ``session/update`` stream in the agent process)."""

    async def text(self, delta: str) -> None: ...
    async def discard_text(self, reason: str) -> None: ...
    async def tool_start(self, call: ToolCall) -> None: ...
    async def tool_end(self, call: ToolCall, result: ToolResult) -> None: ...
    async def usage(self, usage: Usage, cost: float | None) -> None: ...


@dataclasses.dataclass(slots=True)
class LoopOutcome:
    """How a prompt ended: ACP ``stop_reason``, an optional guard reason, files changed."""

    stop_reason: str
    guard: str | None = None
    changed: list[str] = dataclasses.field(default_factory=list)
    usage: Usage = dataclasses.field(default_factory=Usage)
    cost_usd: float | None = None


async def run_loop(model: ChatModel, messages: list[Message], toolbox: Toolbox,
                   reporter: Reporter, guard: LoopGuard,
                   cancelled: Callable[[], bool]) -> LoopOutcome:
    """Run turns until the model is done, a guard trips, or ``cancelled()``."""
    outcome = LoopOutcome("end_turn")
    specs = await toolbox.specs()
    while True:
        if cancelled():
            outcome.stop_reason = "cancelled"
            return outcome
        reason = guard.before_model_call()
        if reason:
            outcome.stop_reason, outcome.guard = "max_turn_requests", reason
            return outcome
        text, calls, stop = await _turn(model, messages, specs, reporter, guard, outcome)
        messages.append(Message("assistant", text, tuple(calls)))
        if not calls:
            outcome.stop_reason = "max_tokens" if stop == "max_tokens" else "end_turn"
            return outcome
        reason = await _tools(calls, messages, toolbox, reporter, guard, outcome)
        if reason:
            outcome.stop_reason, outcome.guard = "max_turn_requests", reason
            return outcome


async def _turn(model: ChatModel, messages: list[Message], specs: list[ToolSpec],
                reporter: Reporter, guard: LoopGuard, outcome: LoopOutcome
                ) -> tuple[str, list[ToolCall], str]:
    parts: list[str] = []
    calls: list[ToolCall] = []
    stop = "end_turn"
    async for item in model.stream(messages, specs):
        if isinstance(item, TextDelta):
            parts.append(item.text)
            await reporter.text(item.text)
        elif isinstance(item, ToolCallReady):
            calls.append(item.call)
        elif isinstance(item, Usage):
            await _usage(model, item, reporter, guard, outcome)
        elif isinstance(item, Retrying):
            parts, calls = [], []
            await reporter.discard_text(item.reason)
        elif isinstance(item, TurnEnd):
            stop = item.stop_reason
    return "".join(parts), calls, stop


async def _usage(model: ChatModel, usage: Usage, reporter: Reporter, guard: LoopGuard,
                 outcome: LoopOutcome) -> None:
    served = getattr(model, "served_by", model)  # a FallbackModel may have switched
    cost = cost_usd(served.model_id, usage)
    guard.add_cost(cost, usage.input_tokens + usage.output_tokens)
    u = outcome.usage
    outcome.usage = Usage(u.input_tokens + usage.input_tokens,
                          u.output_tokens + usage.output_tokens,
                          u.cached_tokens + usage.cached_tokens)
    if cost is not None:
        outcome.cost_usd = (outcome.cost_usd or 0.0) + cost
    await reporter.usage(usage, cost)


async def _tools(calls: list[ToolCall], messages: list[Message], toolbox: Toolbox,
                 reporter: Reporter, guard: LoopGuard, outcome: LoopOutcome) -> str | None:
    results: list[tuple[str, dict[str, Any], bool, str]] = []
    for call in calls:
        await reporter.tool_start(call)
        result = await toolbox.run(call)
        await reporter.tool_end(call, result)
        messages.append(Message("tool", result.text if result.ok else f"ERROR: {result.text}",
                                tool_call_id=call.id, name=call.name))
        outcome.changed.extend(p for p in result.changed if p not in outcome.changed)
        results.append((call.name, call.arguments, result.ok, result.text))
    return guard.after_tools(results)
