"""``OpenAIModel``: the ``ChatModel`` contract over OpenAI Chat Completions (``openai`` SDK).

Works with OpenAI and any OpenAI-compatible endpoint through ``base_url`` (Ollama, vLLM,
llama.cpp server, LM Studio, OpenRouter). Only ``registry`` imports this module, lazily,
so ``import overmind_jupyter.llm`` does not load the SDK; ``openai`` is imported nowhere
else.

Wire protocol (OpenAI API reference, https://platform.openai.com/docs/api-reference/chat):
``stream=True`` with ``stream_options={"include_usage": True}``; text arrives in
``delta.content``; tool calls arrive as ``delta.tool_calls`` fragments keyed by ``index``
(the first fragment carries ``id`` and ``function.name``, the rest append to
``function.arguments``); a chunk with ``finish_reason`` ends the choice; a last chunk with
empty ``choices`` carries ``usage``; the SDK consumes the final ``data: [DONE]``.

A clean stream is one whose iterator ends without error after a ``finish_reason``
arrived. Only then are the assembled arguments parsed and ``ToolCallReady`` yielded; a
connection error after the first chunk, or an iterator that ends without a finish
reason, is a cut stream (``StreamCut``): the whole call is retried under the shared
budget (``retry``), the SDK's own retries being off (``max_retries=0``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import openai

from .contract import (
    Message,
    ResponseFormat,
    StreamItem,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    TurnEnd,
    Usage,
)
from .retry import (
    Failure,
    RetryPolicy,
    Sleep,
    StreamCut,
    chunks_text,
    origin,
    parse_retry_after,
    public_url,
    redact,
    status_failure,
    stream_with_retries,
)

OPENAI_URL = "https://api.openai.com/v1"  # explicit, so OPENAI_BASE_URL in os.environ can't win
_STOP_REASONS = {"length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use"}


class OpenAIModel:
    """A ``ChatModel`` backed by a Chat Completions endpoint.

    Args:
        model: the provider's model name, e.g. ``"gpt-4.1"`` or ``"llama3.1"``.
        api_key: the key sent as a bearer token (never logged nor put in messages).
        base_url: an OpenAI-compatible endpoint such as ``http://127.0.0.1:11434/v1``;
            None means OpenAI itself.
        key_env: the environment variable the key came from, named in auth errors.
        timeout_s: bound on each network wait: connect, and each read of the stream (s).
        policy: the retry budget of one call.
        sleep: coroutine function used between attempts (a test seam).
        rng: random source of the backoff jitter.
        max_output_tokens: cap on generated tokens, or None for the provider default.
        provider: name used in the label and error messages (default: "OpenAI", or
            "the OpenAI-compatible endpoint ORIGIN" when ``base_url`` is set).
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 120.0,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        max_output_tokens: int | None = None,
        provider: str | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.key_env = key_env
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()
        self.max_output_tokens = max_output_tokens
        self.model_id = f"openai:{model}" + (f"@{public_url(base_url)}" if base_url else "")
        self.label = f"{model} ({provider or (origin(base_url) if base_url else 'OpenAI')})"
        self._provider = provider or (f"The OpenAI-compatible endpoint {origin(base_url)}"
                                      if base_url else "OpenAI")
        self._api_key = api_key
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"OpenAIModel({self.model_id!r})"

    structured_output = True

    async def stream(
        self, messages: list[Message], tools: list[ToolSpec],
        response_format: ResponseFormat | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Stream one assistant turn (see ``ChatModel.stream``).

        Raises:
            ProviderError: the endpoint failed after the retry budget, or refused the call.
        """
        request = self._request(messages, tools, response_format)
        async for item in stream_with_retries(lambda: self._attempt(request), self._classify,
                                              policy=self.policy, sleep=self._sleep,
                                              rng=self._rng):
            yield item

    def _request(self, messages: list[Message], tools: list[ToolSpec],
                 response_format: ResponseFormat | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model, "messages": [to_openai_message(m) for m in messages],
            "stream": True, "stream_options": {"include_usage": True}}
        if tools:
            request["tools"] = [to_openai_tool(t) for t in tools]
        if response_format is not None:
            request["response_format"] = {"type": "json_schema", "json_schema": {
                "name": response_format.name, "schema": response_format.schema,
                "strict": False}}
        if self.max_output_tokens is not None:
            field = "max_tokens" if self.base_url else "max_completion_tokens"
            request[field] = self.max_output_tokens
        return request

    async def _attempt(self, request: dict[str, Any]) -> AsyncIterator[StreamItem]:
        client = openai.AsyncOpenAI(api_key=self._api_key, base_url=self.base_url or OPENAI_URL,
                                    max_retries=0, timeout=self.timeout_s)
        turn = TurnAssembler()
        try:
            stream = await client.chat.completions.create(**request)
            async for chunk in _cut_aware(stream, turn):
                text = turn.absorb(chunk)
                if text:
                    yield TextDelta(text)
            for item in turn.finish():
                yield item
        finally:
            await client.close()

    def _classify(self, exc: BaseException) -> Failure | None:
        provider = self._provider
        if isinstance(exc, StreamCut):
            return Failure("stream-cut", f"{provider} cut the stream midway ({exc})", True)
        if isinstance(exc, openai.APITimeoutError):
            return Failure("timeout", f"{provider} did not answer within {self.timeout_s:g} s",
                           True)
        if isinstance(exc, openai.APIConnectionError):
            return Failure("connection", f"{provider} could not be reached: "
                           f"{redact(_cause(exc), [self._api_key])}", True)
        if isinstance(exc, openai.APIStatusError):
            return status_failure(provider, exc.status_code,
                                  redact(_detail(exc), [self._api_key]), key_env=self.key_env,
                                  retry_after_s=parse_retry_after(exc.response.headers),
                                  quota=_error_code(exc) == "insufficient_quota")
        if isinstance(exc, openai.APIError):
            return Failure("server", f"{provider} reported an error mid-stream: "
                           f"{redact(_detail(exc), [self._api_key])}", True)
        return None


async def _cut_aware(stream: Any, turn: TurnAssembler) -> AsyncIterator[Any]:
    """The stream's chunks; a connection error after the first chunk becomes ``StreamCut``."""
    try:
        async for chunk in stream:
            turn.chunks += 1
            yield chunk
    except openai.APITimeoutError:
        raise
    except openai.APIConnectionError as exc:
        if turn.chunks:
            raise StreamCut(f"connection lost after {chunks_text(turn.chunks)}") from exc
        raise


@dataclasses.dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclasses.dataclass
class TurnAssembler:
    """Accumulates one streamed turn: tool-call fragments by index, finish reason, usage."""

    chunks: int = 0
    finish_reason: str | None = None
    usage: Usage = dataclasses.field(default_factory=Usage)
    calls: dict[int, _PartialCall] = dataclasses.field(default_factory=dict)

    def absorb(self, chunk: Any) -> str:
        """Take one ``ChatCompletionChunk``; return its text (``""`` if none)."""
        if getattr(chunk, "usage", None) is not None:
            self.usage = _usage(chunk.usage)
        text = ""
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue
            text += self._absorb_delta(choice.delta)
            self.finish_reason = choice.finish_reason or self.finish_reason
        return text

    def _absorb_delta(self, delta: Any) -> str:
        for position, fragment in enumerate(getattr(delta, "tool_calls", None) or ()):
            index = getattr(fragment, "index", None)
            partial = self.calls.setdefault(position if index is None else index, _PartialCall())
            partial.id = getattr(fragment, "id", None) or partial.id
            function = getattr(fragment, "function", None)
            if function is not None:
                partial.name = function.name or partial.name
                partial.arguments += function.arguments or ""
        return getattr(delta, "content", None) or ""

    def finish(self) -> list[StreamItem]:
        """The end-of-turn items: ready tool calls, usage, ``TurnEnd``.

        Raises:
            StreamCut: no finish reason arrived (the stream ended early).
        """
        if self.finish_reason is None:
            raise StreamCut(f"the stream ended after {chunks_text(self.chunks)} without a "
                            "finish reason")
        calls = [_complete(index, p) for index, p in sorted(self.calls.items())]
        stop = "tool_use" if calls else _STOP_REASONS.get(self.finish_reason, "end_turn")
        return [*(ToolCallReady(c) for c in calls), self.usage, TurnEnd(stop)]


def _complete(index: int, partial: _PartialCall) -> ToolCall:
    arguments, error = parse_arguments(partial.arguments)
    return ToolCall(id=partial.id or f"call_{index}", name=partial.name, arguments=arguments,
                    arguments_error=error)


def parse_arguments(text: str) -> tuple[dict[str, Any], str | None]:
    """Parse tool-call arguments: ``(arguments, None)`` or ``({}, what was wrong)``."""
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        return {}, f"the arguments are not valid JSON ({exc}): {text[:200]!r}"
    if not isinstance(value, dict):
        return {}, f"the arguments must be a JSON object, got {type(value).__name__}"
    return value, None


def _usage(usage: Any) -> Usage:
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0
    return Usage(input_tokens=usage.prompt_tokens or 0,
                 output_tokens=usage.completion_tokens or 0, cached_tokens=cached)


def to_openai_message(message: Message) -> dict[str, Any]:
    """One ``Message`` as a Chat Completions message dict."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "",
                "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {"role": "assistant", "content": message.content or None,
                "tool_calls": [_openai_call(c) for c in message.tool_calls]}
    return {"role": message.role, "content": message.content}


def _openai_call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}


def to_openai_tool(tool: ToolSpec) -> dict[str, Any]:
    """One ``ToolSpec`` as a Chat Completions function tool."""
    return {"type": "function", "function": {"name": tool.name, "description": tool.description,
                                             "parameters": tool.parameters}}


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(error.get("message"), str):
            return error["message"]
    return str(getattr(exc, "message", "") or exc)


def _error_code(exc: Any) -> str | None:
    """The error body's ``code`` (or ``type``), e.g. ``insufficient_quota``."""
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) and isinstance(
        body.get("error"), dict) else body
    if not isinstance(error, dict):
        return None
    return error.get("code") or error.get("type")


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
