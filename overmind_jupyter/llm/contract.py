"""The ``ChatModel`` contract: messages and tool schemas in, one streamed turn out.

A turn is an async iterator of tagged items (after openai-agents' small tagged unions)::

    TextDelta(text)          a piece of assistant text, in order
    ToolCallReady(call)      a complete tool call; only after the provider ended the turn
                             cleanly, so a stream cut midway never yields a partial call
    Usage(input, output, cached)   tokens of this turn (once, at the end)
    TurnEnd(stop_reason)     "end_turn" | "tool_use" | "max_tokens" — always last
    Retrying(attempt, delay_s, reason)   the adapter is retrying the whole call: drop the
                             text received so far for this turn

Adapters raise ``ProviderError`` (an ``OvermindError``) for failures that retries did not
cure; its ``kind`` says who is at fault. Token counts are tokens; costs are USD.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol, Union

from ..errors import OvermindError

Role = Literal["system", "user", "assistant", "tool"]


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call requested by the model.

    ``arguments`` is the parsed JSON object; when the model sent malformed JSON,
    ``arguments`` is ``{}`` and ``arguments_error`` says what was wrong (the caller sends
    that back to the model as an error result instead of running the tool).
    """

    id: str
    name: str
    arguments: dict[str, Any]
    arguments_error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One chat message. ``tool`` messages answer ``tool_call_id``."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None  # tool name, for ``tool`` messages


@dataclasses.dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: ``parameters`` is a JSON Schema object."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of assistant text."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class ToolCallReady:
    """A complete tool call (see the module docstring)."""

    call: ToolCall


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one turn: input (prompt), output (completion), cached input."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class TurnEnd:
    """The turn ended; ``stop_reason`` is end_turn | tool_use | max_tokens."""

    stop_reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class Retrying:
    """The adapter retries the whole call after ``delay_s`` s; discard this turn's text."""

    attempt: int
    delay_s: float
    reason: str


StreamItem = Union[TextDelta, ToolCallReady, Usage, TurnEnd, Retrying]


@dataclasses.dataclass(frozen=True, slots=True)
class ResponseFormat:
    """Ask for the turn's text to be one JSON value matching ``schema`` (a JSON Schema).

    Adapters use the provider's own mechanism: OpenAI Chat Completions ``response_format``
    ``{"type": "json_schema", ...}`` (llama-server turns it into a grammar), Gemini
    ``response_mime_type="application/json"`` with ``response_json_schema``. ``name`` is the
    schema's name on the wire ([a-zA-Z0-9_-], ≤ 64 chars).
    """

    name: str
    schema: dict[str, Any]


class ProviderError(OvermindError):
    """A model provider failed and retries did not help.

    Attributes:
        kind: "auth" (key rejected: 401/403), "bad-request" (400), "rate-limit" (429 after
            retries), "quota" (429 quota exhausted, never retried), "server" (5xx after
            retries), "timeout", "connection", "stream-cut".
        status: HTTP status when there was one.
    """

    reason = "provider"
    http_status = 502

    def __init__(self, message: str, kind: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class ChatModel(Protocol):
    """A chat model that streams one turn at a time.

    Attributes:
        model_id: configured id, e.g. ``openai:gpt-4.1``, ``gemini:gemini-2.5-pro``,
            ``scripted:/path/script.json``.
        label: what the UI shows, e.g. ``"gpt-4.1 (OpenAI)"`` or ``"scripted model"``.
        structured_output: whether ``stream`` honours ``response_format`` (scripted
            models replay their scripts and do not).
    """

    model_id: str
    label: str
    structured_output: bool

    def stream(self, messages: list[Message], tools: list[ToolSpec],
               response_format: ResponseFormat | None = None) -> AsyncIterator[StreamItem]:
        """Stream one assistant turn for ``messages`` with ``tools`` available; with
        ``response_format`` (and no tools) the text is JSON matching its schema.

        Raises:
            ProviderError: the provider failed after the retry budget.
        """
        ...
