"""``ScriptedModel``: a deterministic ``ChatModel`` that replays a script of turns.

The offline default and the test double (after openai-agents' fake model with
``assert_complete()``). A script is JSON, or YAML when PyYAML is installed::

    {"turns": [
      {"expect": "add a README",
       "text": "I'll write it.",
       "tool_calls": [{"name": "write_file", "arguments": {"path": "README.md"}}],
       "usage": {"input_tokens": 120, "output_tokens": 30}},
      {"text": ["Done", "."], "delay_s": 2.0},
      {"error": {"kind": "rate-limit", "message": "quota exhausted"}}
    ]}

Each ``stream`` call plays the next turn: ``text`` (a string, or a list streamed piece by
piece), then the tool calls (ids ``call_T_K`` unless given), ``Usage`` and ``TurnEnd``.
``expect`` is a substring the last user or tool message must contain; ``error`` makes
the turn raise ``ProviderError(kind)`` instead. ``delay_s`` (seconds, ≥ 0; default 0)
makes the turn wait that long (``asyncio.sleep``) before it streams or raises — a
provider's latency, e.g. for benchmarks. ``reached`` (a file path) is created when the
turn starts playing, before its delay: a test learns the model got there (e.g. to kill
the engine at that step) without polling the engine. A played-out script or a failed
expectation raises ``ScriptError``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import OvermindError
from .contract import (
    Message,
    ProviderError,
    ResponseFormat,
    StreamItem,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    TurnEnd,
    Usage,
)

LABEL = "scripted model"


class ScriptError(OvermindError):
    """A script that cannot be read, is played out, or whose expectation failed."""

    reason = "script"
    http_status = 500


@dataclasses.dataclass(frozen=True, slots=True)
class ScriptTurn:
    """One validated turn of a script (see the module docstring for the fields)."""

    text: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = dataclasses.field(default_factory=Usage)
    stop_reason: str | None = None
    expect: str | None = None
    error: ProviderError | None = None
    delay_s: float = 0.0
    reached: str | None = None


class ScriptedModel:
    """Replays ``turns`` in order, one per ``stream`` call.

    Attributes:
        calls: the ``(messages, tools)`` of every ``stream`` call, in order.
    """

    label = LABEL

    def __init__(self, turns: list[ScriptTurn], model_id: str = "scripted:") -> None:
        self.model_id = model_id
        self.calls: list[tuple[list[Message], list[ToolSpec]]] = []
        self._turns = list(turns)
        self._played = 0

    @classmethod
    def from_data(cls, data: Mapping[str, Any], model_id: str = "scripted:") -> ScriptedModel:
        """Build from a parsed script ``{"turns": [...]}``.

        Raises:
            ScriptError: the script is malformed (the message says where).
        """
        turns = data.get("turns") if isinstance(data, Mapping) else None
        if not isinstance(turns, list):
            raise ScriptError('a model script must be an object with a "turns" list')
        return cls([parse_turn(t, n) for n, t in enumerate(turns, 1)], model_id)

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedModel:
        """Load a JSON (or, with PyYAML, YAML) script; ``model_id`` is ``scripted:PATH``.

        Raises:
            ScriptError: unreadable or malformed file.
        """
        return cls.from_data(load_script(Path(path)), model_id=f"scripted:{path}")

    @property
    def remaining(self) -> int:
        """Turns not played yet."""
        return len(self._turns) - self._played

    structured_output = False  # scripts answer structured requests with tool calls

    async def stream(
        self, messages: list[Message], tools: list[ToolSpec],
        response_format: ResponseFormat | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Play the next turn (see ``ChatModel.stream``; ``response_format`` is ignored).

        Raises:
            ScriptError: the script is played out, or the turn's ``expect`` failed.
            ProviderError: the turn is an ``error`` turn.
        """
        turn = self._next_turn(messages, tools)
        if turn.reached:
            Path(turn.reached).touch()
        if turn.delay_s:
            await asyncio.sleep(turn.delay_s)
        if turn.error is not None:
            raise turn.error
        for piece in turn.text:
            yield TextDelta(piece)
        for call in turn.tool_calls:
            yield ToolCallReady(call)
        yield turn.usage
        yield TurnEnd(turn.stop_reason or ("tool_use" if turn.tool_calls else "end_turn"))

    def _next_turn(self, messages: list[Message], tools: list[ToolSpec]) -> ScriptTurn:
        self.calls.append((list(messages), list(tools)))
        if self._played >= len(self._turns):
            raise ScriptError(f"{self.model_id}: the script is played out after "
                              f"{len(self._turns)} turns, but the model was called again")
        self._played += 1
        turn = self._turns[self._played - 1]
        if turn.expect is not None:
            _check_expectation(turn.expect, messages, self._played)
        return turn

    def assert_complete(self) -> None:
        """Fail unless every turn was played.

        Raises:
            AssertionError: naming how many turns were left.
        """
        if self.remaining:
            raise AssertionError(f"{self.model_id}: {self.remaining} of {len(self._turns)} "
                                 "scripted turns were never played")


def _check_expectation(expect: str, messages: list[Message], number: int) -> None:
    last = next((m for m in reversed(messages) if m.role in ("user", "tool")), None)
    content = last.content if last else ""
    if expect not in content:
        raise ScriptError(f"scripted turn {number} expected {expect!r} in the last user/tool "
                          f"message, got {content[:200]!r}")


def load_script(path: Path) -> Any:
    """Parse ``path`` as YAML (``.yaml``/``.yml``, needs PyYAML) or JSON.

    Raises:
        ScriptError: the file cannot be read or parsed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"cannot read model script {path}: {exc.strerror}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        return _parse_yaml(text, path)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ScriptError(f"model script {path} is not valid JSON: {exc}") from exc


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise ScriptError(f"model script {path} is YAML but PyYAML is not installed: "
                          "install pyyaml or write the script as JSON") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScriptError(f"model script {path} is not valid YAML: {exc}") from exc


_TURN_KEYS = {"text", "tool_calls", "usage", "stop_reason", "expect", "error", "delay_s",
              "reached"}


def parse_turn(data: Any, number: int) -> ScriptTurn:
    """Validate turn ``number`` (1-based) of a script.

    Raises:
        ScriptError: unknown keys or wrongly typed values.
    """
    if not isinstance(data, Mapping):
        raise ScriptError(f"scripted turn {number} must be an object")
    unknown = set(data) - _TURN_KEYS
    if unknown:
        raise ScriptError(f"scripted turn {number} has unknown keys: {sorted(unknown)}")
    return ScriptTurn(text=_text(data.get("text", ""), number),
                      tool_calls=tuple(_call(c, number, k)
                                       for k, c in enumerate(data.get("tool_calls") or [], 1)),
                      usage=_usage(data.get("usage") or {}, number),
                      stop_reason=data.get("stop_reason"), expect=data.get("expect"),
                      error=_error(data["error"], number) if "error" in data else None,
                      delay_s=_delay(data.get("delay_s", 0.0), number),
                      reached=_reached(data.get("reached"), number))


def _reached(value: Any, number: int) -> str | None:
    if value is not None and not (isinstance(value, str) and value):
        raise ScriptError(f"scripted turn {number}: reached must be a file path")
    return value


def _text(value: Any, number: int) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ScriptError(f"scripted turn {number}: text must be a string or a list of strings")


def _call(data: Any, number: int, k: int) -> ToolCall:
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ScriptError(f"scripted turn {number}, tool call {k}: needs a string name")
    arguments = data.get("arguments", {})
    if not isinstance(arguments, Mapping):
        raise ScriptError(f"scripted turn {number}, tool call {k}: arguments must be an object")
    return ToolCall(id=str(data.get("id") or f"call_{number}_{k}"), name=data["name"],
                    arguments=dict(arguments))


def _usage(data: Any, number: int) -> Usage:
    fields = ("input_tokens", "output_tokens", "cached_tokens")
    if not isinstance(data, Mapping) or set(data) - set(fields):
        raise ScriptError(f"scripted turn {number}: usage takes only {', '.join(fields)}")
    return Usage(**{k: int(v) for k, v in data.items()})


def _error(data: Any, number: int) -> ProviderError:
    if not isinstance(data, Mapping) or not isinstance(data.get("kind"), str):
        raise ScriptError(f"scripted turn {number}: error needs a kind, e.g. "
                          '{"kind": "rate-limit", "message": "..."}')
    message = str(data.get("message") or f"scripted {data['kind']} error")
    return ProviderError(message, data["kind"], data.get("status"))


def _delay(value: Any, number: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value >= 0):
        raise ScriptError(f"scripted turn {number}: delay_s must be a number of seconds ≥ 0 "
                          f"(e.g. 2.0), got {value!r}")
    return float(value)
