"""Ask a ``ChatModel`` for one answer validated by a pydantic model.

Where the provider has its own mechanism for structured output (``ChatModel.
structured_output``: OpenAI-compatible ``response_format`` json_schema, which llama-server
enforces with a grammar; Gemini ``response_json_schema``), ``ask`` uses it: no tools, the
turn's text is the JSON answer. Otherwise (scripted models) it offers a single tool whose
parameters are the schema and asks the model to call it. Either way the answer is
validated by pydantic; an invalid answer gets one repair turn (by default) that quotes the
validation error, as a tool result when the model called a tool and as a user message
otherwise. Text answers are accepted in both modes: a ```json fenced block or a bare JSON
object. A ``PlanningError`` keeps the last raw output (``raw``) for the event log.

The system prompt is sent byte for byte with a fixed suffix per mode (``ANSWER_AS_JSON``,
``ANSWER_BY_TOOL``), so a role's prefix stays cacheable across calls; what varies goes in
the user message.

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
    ResponseFormat,
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
MAX_RAW_CHARS = 4_000  # raw output kept with a failure
ANSWER_AS_JSON = "Answer with one JSON object that matches the given schema, nothing else."
ANSWER_BY_TOOL = "Give your answer by calling the tool {tool}."


class PlanningError(OvermindError):
    """A model never gave a valid structured answer (story, scope, plan, verdict …).

    ``spent``: what the failed attempts cost (charge it like a successful call's);
    ``raw``: the model's last output as received (text, or the tool call's arguments),
    at most ``MAX_RAW_CHARS`` characters.
    """

    reason = "planning"
    http_status = 502

    def __init__(self, message: str, spent: Spent | None = None, raw: str = "") -> None:
        super().__init__(message)
        self.spent = spent if spent is not None else Spent()
        self.raw = raw


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
    """Ask ``model`` for one answer of shape ``schema`` (mode: see the module docstring).

    Args:
        system: the role's system prompt, without how to answer (``ask`` adds that).
        user: the request.
        schema: the pydantic model the answer must validate as.
        tool_name: the name of the one tool offered (tool mode) or of the schema.
        attempts: turns allowed in all (the first plus repair turns), ≥ 1.

    Returns:
        ``Answer(value, spent)``; ``spent`` sums the tokens of every attempt.

    Raises:
        PlanningError: no valid answer after ``attempts`` turns (the message has the last
            validation error, ``raw`` the last output).
        ProviderError: the provider failed (passed through untouched).
    """
    json_schema = schema.model_json_schema()
    native = bool(getattr(model, "structured_output", False))
    tool = ToolSpec(tool_name, f"Give your answer ({schema.__name__}).", json_schema)
    fmt = ResponseFormat(tool_name, json_schema) if native else None
    suffix = ANSWER_AS_JSON if native else ANSWER_BY_TOOL.format(tool=tool_name)
    messages = [Message("system", f"{system}\n{suffix}"), Message("user", user)]
    spent, error, raw = Spent(model=model.label), "no attempt was made", ""
    for _ in range(max(1, attempts)):
        turn = await _play(model, messages, None if native else tool, fmt)
        spent += turn.spent
        value, error = parse_answer(turn.text, turn.calls, schema, tool_name, native)
        if value is not None:
            return Answer(value, spent)
        raw = _raw(turn)
        messages += _feedback(turn, error, tool_name, native)
    raise PlanningError(f"{model.label} gave no valid {schema.__name__} in {max(1, attempts)} "
                        f"attempt(s): {error}. Try again, or configure a stronger model.",
                        spent, raw)


def _raw(turn: _Turn) -> str:
    """The turn's output as received: its text, then each call's arguments."""
    calls = [f"{c.name}({json.dumps(c.arguments) if not c.arguments_error else '?'})"
             for c in turn.calls]
    return "\n".join([turn.text, *calls]).strip()[:MAX_RAW_CHARS]


async def _play(model: ChatModel, messages: list[Message], tool: ToolSpec | None,
                fmt: ResponseFormat | None) -> _Turn:
    """One streamed turn: its text, complete tool calls and cost."""
    turn = _Turn("", [], Spent(calls=1))
    parts: list[str] = []
    stream = model.stream(messages, [tool] if tool else [], fmt) if fmt else \
        model.stream(messages, [tool] if tool else [])
    async for item in stream:
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
                 tool_name: str, native: bool = False) -> tuple[T | None, str]:
    """Validate a turn's answer: the first call of ``tool_name``, else JSON in ``text``
    (``native``: JSON text was asked for, so an answer without JSON is described so).

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
    if data is None and native:
        return None, f"the answer was not one JSON object ({_json_problem(text)})"
    if data is None:
        return None, f"you did not call the tool {tool_name}"
    return _validate(data, schema)


def _json_problem(text: str) -> str:
    """Why ``text`` is no JSON object, in a few words (for the repair turn)."""
    candidate = text.strip()
    if not candidate:
        return "it was empty"
    try:
        json.loads(candidate)
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    return "it was JSON, but not an object"


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


def _feedback(turn: _Turn, error: str, tool_name: str, native: bool) -> list[Message]:
    """The turn as history, plus the error: a tool result per call, or a user message."""
    how = ("Answer again with one JSON object that matches the schema" if native else
           f"Call the tool {tool_name} again, with arguments that match its schema")
    retry = f"Your answer was not accepted: {error}. {how}."
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
