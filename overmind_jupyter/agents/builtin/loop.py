"""The built-in agent's tool-use loop over a ``ChatModel``.

One step: stream a turn (text deltas to the reporter), then run its tool calls and append
their results; stop when the model ends its turn without tool calls, when a loop guard
trips, or when cancelled. ``run_loop`` returns a ``LoopOutcome`` (a small tagged result).

Small models' habits, seen with Qwen2.5-Coder 1.5B (tests/agents/fixtures/):

- a tool call written as text (a ```json block ``{"name": …, "arguments": …}`` naming one
  of the tools) is taken as that call;
- a call repeated exactly after it succeeded, with no change to the workspace since, is
  not run again: the turn ends (the model had finished and did not know how to say so);
  so does a turn whose calls repeat an earlier turn's with no change since (the 1.5B
  model cycled through the same eight calls, a failing edit and a failing pytest among
  them, for ten minutes); rewriting a file with its own content is no change;
- a reply of code in text while nothing changed gets one nudge to use the tools, then the
  next text reply ends the prompt;
- a request the provider refuses for its length (llama-server: "exceeds the available
  context size") is retried after the older tool results are cut to a stub, until nothing
  is left to cut.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Collection
from typing import Any, Protocol

from ...llm.contract import (
    ChatModel,
    Message,
    ProviderError,
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
from .tools import SPECS, Toolbox, ToolResult

TOOL_NAMES = frozenset(spec.name for spec in SPECS)
COMMAND_TOOLS = frozenset({"run_command"})  # a command may change files it does not report
NUDGE = ("You answered with code in text, but nothing in the workspace changed. If the task "
         "needs a change, make it now with edit_file or write_file (paths relative to the "
         "workspace root). If nothing needs to change, reply with a one-line summary.")
REPEATED = "not run again: this exact call already succeeded and nothing changed since"
REPEATED_TURN = ("not run again: these calls repeat an earlier turn's and nothing changed "
                 "since; their results would be the same")
_FENCED_JSON = re.compile(r"```(?:json)?\s*\n?(\{.*?\})\s*```", re.DOTALL)


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
    nudged: bool = False
    succeeded: set[str] = dataclasses.field(default_factory=set)  # since the last change
    # turns with a successful call since the last change (``REPEATED_TURN``)
    turns: set[tuple[str, ...]] = dataclasses.field(default_factory=set)


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
        try:
            text, calls, stop = await _turn(model, messages, specs, reporter, guard, outcome)
        except ProviderError as exc:
            if not (_too_long(exc) and compact(messages)):
                raise
            continue
        calls = calls or calls_in_text(text, {s.name for s in specs})
        messages.append(Message("assistant", text, tuple(calls)))
        if not calls and _nudge(text, outcome):
            messages.append(Message("user", NUDGE))
            continue
        if not calls:
            outcome.stop_reason = "max_tokens" if stop == "max_tokens" else "end_turn"
            return outcome
        repeated = _repeated(calls, outcome)
        if repeated:
            messages.extend(Message("tool", repeated, tool_call_id=c.id, name=c.name)
                            for c in calls)
            return outcome
        reason = await _tools(calls, messages, toolbox, reporter, guard, outcome)
        if reason:
            outcome.stop_reason, outcome.guard = "max_turn_requests", reason
            return outcome


def calls_in_text(text: str, names: Collection[str] = TOOL_NAMES) -> list[ToolCall]:
    """Tool calls a model wrote as text: ```json blocks ``{"name", "arguments"}`` naming a
    tool of ``names`` (``[]`` when there are none)."""
    calls = []
    for k, block in enumerate(_FENCED_JSON.findall(text)):
        try:
            data = json.loads(block)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("name") in names and \
                isinstance(data.get("arguments", {}), dict):
            calls.append(ToolCall(f"text_call_{k}", data["name"], data.get("arguments") or {}))
    return calls


KEEP_TOOL_RESULTS = 2  # the latest tool results kept whole when the context overflows
STUB_CHARS = 300


def _too_long(exc: ProviderError) -> bool:
    return exc.kind == "bad-request" and "context" in exc.message.lower()


def compact(messages: list[Message]) -> bool:
    """Cut every tool result but the latest ``KEEP_TOOL_RESULTS`` to ``STUB_CHARS``
    characters and a note; False when there was nothing left to cut."""
    tools = [i for i, m in enumerate(messages) if m.role == "tool"][:-KEEP_TOOL_RESULTS]
    cut = False
    for i in tools:
        m = messages[i]
        if len(m.content) > STUB_CHARS + 100:
            note = f"\n[{len(m.content) - STUB_CHARS} characters dropped to fit the context]"
            messages[i] = dataclasses.replace(m, content=m.content[:STUB_CHARS] + note)
            cut = True
    return cut


def call_key(call: ToolCall) -> str:
    """What makes two calls the same: the tool and its arguments."""
    return f"{call.name}:{json.dumps(call.arguments, sort_keys=True)}"


def _nudge(text: str, outcome: LoopOutcome) -> bool:
    """Whether a text reply gets the one nudge: code in text while nothing changed."""
    if outcome.nudged or outcome.changed or "```" not in text:
        return False
    outcome.nudged = True
    return True


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
        _remember(call, result, outcome)
        results.append((call.name, call.arguments, result.ok, result.text))
    if any(ok for _, _, ok, _ in results):  # all failed: the same-error guard's case
        outcome.turns.add(tuple(call_key(c) for c in calls))
    return guard.after_tools(results)


def _repeated(calls: list[ToolCall], outcome: LoopOutcome) -> str | None:
    """Why a turn's ``calls`` are not run (``REPEATED``, ``REPEATED_TURN``), else None."""
    keys = tuple(call_key(c) for c in calls)
    if all(k in outcome.succeeded for k in keys):
        return REPEATED
    return REPEATED_TURN if keys in outcome.turns else None


def _remember(call: ToolCall, result: ToolResult, outcome: LoopOutcome) -> None:
    """Keep the successful calls and the turns since the workspace last changed."""
    if result.changed or (call.name in COMMAND_TOOLS and result.ok):
        outcome.succeeded.clear()
        outcome.turns.clear()
    if result.ok:
        outcome.succeeded.add(call_key(call))
