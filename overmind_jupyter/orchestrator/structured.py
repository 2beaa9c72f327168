"""Ask a ``ChatModel`` for one answer validated by a pydantic model.

``ask`` offers a single tool whose parameters are the pydantic JSON schema and asks the
model to call it. The arguments are validated by pydantic; a missing or invalid call gets
one more attempt (by default) in which the model is told the validation error, as a tool
result when it called a tool and as a user message otherwise. Models that answer in text
are accepted too: a ```json fenced block or a bare JSON object, validated the same way.

Every turn's tokens are summed into ``Spent`` so the caller can charge budgets; the cost
(USD) comes from ``llm.pricing`` per turn, ``None`` when the model has no known price.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Generic, TypeVar

import pydantic

from ..errors import OvermindError
from ..llm.contract import (
    ChatModel,
    Message,
    Retrying,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    Usage,
)
from ..llm.pricing import cost_usd

T = TypeVar("T", bound=pydantic.BaseModel)

_FENCED = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
MAX_ERROR_CHARS = 1_500  # validation feedback sent back to the model


class PlanningError(OvermindError):
    """A model never gave a valid structured answer (story, scope, plan, verdict …).

    ``spent``: what the failed attempts cost (charge it like a successful call's).
    """

    reason = "planning"
    http_status = 502

    def __init__(self, message: str, spent: Spent | None = None) -> None:
        super().__init__(message)
        self.spent = spent if spent is not None else Spent()


@dataclasses.dataclass(frozen=True, slots=True)
class Spent:
    """What model calls cost: ``usage`` in tokens, ``cost_usd`` (None: unknown price),
    ``model`` the label of the model that answered, ``calls`` the number of turns."""

    usage: Usage = dataclasses.field(default_factory=Usage)
    cost_usd: float | None = None
    model: str = ""
    calls: int = 0

    def __add__(self, other: Spent) -> Spent:
        u, v = self.usage, other.usage
        cost = (None if self.cost_usd is None and other.cost_usd is None
                else (self.cost_usd or 0.0) + (other.cost_usd or 0.0))
        return Spent(Usage(u.input_tokens + v.input_tokens, u.output_tokens + v.output_tokens,
                           u.cached_tokens + v.cached_tokens),
                     cost, other.model or self.model, self.calls + other.calls)


@dataclasses.dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A validated answer ``value`` and what obtaining it ``spent`` (all attempts)."""

    value: T
    spent: Spent


@dataclasses.dataclass(slots=True)
class _Turn:
    text: str
    calls: list[ToolCall]
    spent: Spent


async def ask(model: ChatModel, system: str, user: str, schema: type[T], *,
              tool_name: str = "respond", attempts: int = 2) -> Answer[T]:
    """Ask ``model`` for one answer of shape ``schema``.

    Args:
        system: the system prompt (should say the answer is given by calling the tool).
        user: the request.
        schema: the pydantic model the tool arguments (or JSON text) must validate as.
        tool_name: the name of the one tool offered.
        attempts: turns allowed in all (the first plus retries with the error), ≥ 1.

    Returns:
        ``Answer(value, spent)``; ``spent`` sums the tokens of every attempt.

    Raises:
        PlanningError: no valid answer after ``attempts`` turns (the message has the last
            validation error).
        ProviderError: the provider failed (passed through untouched).
    """
    tool = ToolSpec(tool_name, f"Give your answer ({schema.__name__}).",
                    schema.model_json_schema())
    messages = [Message("system", system), Message("user", user)]
    spent, error = Spent(model=model.label), "no attempt was made"
    for _ in range(max(1, attempts)):
        turn = await _play(model, messages, tool)
        spent += turn.spent
        value, error = parse_answer(turn.text, turn.calls, schema, tool_name)
        if value is not None:
            return Answer(value, spent)
        messages += _feedback(turn, error, tool_name)
    raise PlanningError(f"{model.label} gave no valid {schema.__name__} in {max(1, attempts)} "
                        f"attempt(s): {error}. Try again, or configure a stronger model.",
                        spent)


async def _play(model: ChatModel, messages: list[Message], tool: ToolSpec) -> _Turn:
    """One streamed turn: its text, complete tool calls and cost."""
    turn = _Turn("", [], Spent(calls=1))
    parts: list[str] = []
    async for item in model.stream(messages, [tool]):
        if isinstance(item, TextDelta):
            parts.append(item.text)
        elif isinstance(item, ToolCallReady):
            turn.calls.append(item.call)
        elif isinstance(item, Usage):
            turn.spent += _priced(model, item)
        elif isinstance(item, Retrying):  # the adapter restarts the turn: drop what came
            parts, turn.calls = [], []
    turn.text = "".join(parts)
    return turn


def _priced(model: ChatModel, usage: Usage) -> Spent:
    served = getattr(model, "served_by", model)  # a FallbackModel may have switched
    return Spent(usage, cost_usd(served.model_id, usage), served.label)


def parse_answer(text: str, calls: list[ToolCall], schema: type[T],
                 tool_name: str) -> tuple[T | None, str]:
    """Validate a turn's answer: the first call of ``tool_name``, else JSON in ``text``.

    Returns:
        ``(value, "")`` when valid, else ``(None, what was wrong)``.
    """
    call = next((c for c in calls if c.name == tool_name), None)
    if call is not None:
        if call.arguments_error:
            return None, f"the arguments were not valid JSON ({call.arguments_error})"
        return _validate(call.arguments, schema)
    if calls:
        return None, (f"you called {', '.join(sorted({c.name for c in calls}))}, "
                      f"but the only tool is {tool_name}")
    data = json_in_text(text)
    if data is None:
        return None, f"you did not call the tool {tool_name}"
    return _validate(data, schema)


def json_in_text(text: str) -> Any | None:
    """The JSON object in ``text``: a ```json fenced block, else the bare text; None if none."""
    fenced = _FENCED.search(text)
    candidate = (fenced.group(1) if fenced else text).strip()
    if not candidate.startswith("{"):
        return None
    try:
        return json.loads(candidate)
    except ValueError:
        return None


def _validate(data: Any, schema: type[T]) -> tuple[T | None, str]:
    try:
        return schema.model_validate(data), ""
    except pydantic.ValidationError as exc:
        return None, describe(exc)


def describe(exc: pydantic.ValidationError) -> str:
    """A compact, model-readable summary: ``field.path: message; …`` (bounded length)."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
             for e in exc.errors(include_url=False)]
    return "invalid answer: " + "; ".join(parts)[:MAX_ERROR_CHARS]


def _feedback(turn: _Turn, error: str, tool_name: str) -> list[Message]:
    """The turn as history, plus the error: a tool result per call, or a user message."""
    retry = f"Your answer was not accepted: {error}. Call the tool {tool_name} again, " \
            "with arguments that match its schema."
    history = [Message("assistant", turn.text, tuple(turn.calls))]
    if not turn.calls:
        return [*history, Message("user", retry)]
    return history + [Message("tool", f"ERROR: {retry}", tool_call_id=c.id, name=c.name)
                      for c in turn.calls]


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary, with "…"."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


__all__ = ["Answer", "PlanningError", "Spent", "ask", "clip", "describe", "json_in_text",
           "parse_answer"]
