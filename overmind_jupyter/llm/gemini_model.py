"""``GeminiModel``: the ``ChatModel`` contract over the Gemini API (``google-genai`` SDK).

Only ``registry`` imports this module, lazily; ``google.genai`` is imported nowhere else.

Wire protocol (Gemini API reference, https://ai.google.dev/api/generate-content):
``models/MODEL:streamGenerateContent?alt=sse`` streams ``GenerateContentResponse`` chunks;
text arrives in ``text`` parts, tool calls as whole ``functionCall`` parts (never split);
the last chunk of a complete answer carries ``finishReason``; ``usageMetadata`` counts
tokens (``promptTokenCount`` includes ``cachedContentTokenCount``; thinking tokens
``thoughtsTokenCount`` are billed as output, so they are added to the output count).

Calls are held back until the stream ended cleanly: the iterator finished without error
and a ``finishReason`` arrived. A transport error after the first chunk, or an iterator
that ends without a finish reason, is a cut stream (``StreamCut``), retried as a whole.
The SDK's own retries are off (``HttpRetryOptions(attempts=1)``, which also stops its
implicit aiohttp reconnect) and automatic function calling is disabled. Its timeout is
given in milliseconds (``HttpOptions.timeout``).

Gemini 3 models return a ``thoughtSignature`` with function calls and require it back
with the call in the next request; ``ToolCall`` has no slot for it, so the adapter keeps
the signatures of the calls it produced (by call id) and re-attaches them.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import AsyncIterator
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

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
from .gemini_wire import CallMemory, to_contents, to_system_instruction
from .retry import (
    Failure,
    RetryPolicy,
    Sleep,
    StreamCut,
    chunks_text,
    origin,
    parse_duration,
    parse_retry_after,
    public_url,
    redact,
    status_failure,
    stream_with_retries,
)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/"
_STOP_REASONS = {"MAX_TOKENS": "max_tokens"}


class GeminiModel:
    """A ``ChatModel`` backed by the Gemini API.

    Args:
        model: the model name, e.g. ``"gemini-2.5-pro"``.
        api_key: sent as ``x-goog-api-key`` (never logged nor put in messages).
        base_url: the API root; another one only for proxies and tests.
        key_env: the environment variable the key came from, named in auth errors.
        timeout_s: bound on each network wait: connect, and each read of the stream (s);
            when aiohttp is installed google-genai uses it, and bounds the whole response.
        policy: the retry budget of one call.
        sleep: coroutine function used between attempts (a test seam).
        rng: random source of the backoff jitter.
        max_output_tokens: cap on generated tokens, or None for the model default.
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        key_env: str = "GEMINI_API_KEY",
        timeout_s: float = 120.0,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        max_output_tokens: int | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url or DEFAULT_BASE_URL
        self.key_env = key_env
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()
        self.max_output_tokens = max_output_tokens
        self.model_id = f"gemini:{model}" + (f"@{public_url(base_url)}" if base_url else "")
        self.label = f"{model} (Gemini)"
        self._api_key = api_key
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._memory = CallMemory()

    def __repr__(self) -> str:
        return f"GeminiModel({self.model_id!r})"

    structured_output = True

    async def stream(
        self, messages: list[Message], tools: list[ToolSpec],
        response_format: ResponseFormat | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Stream one assistant turn (see ``ChatModel.stream``).

        Raises:
            ProviderError: the API failed after the retry budget, refused the call, or
                blocked the prompt.
        """
        contents = to_contents(messages, self._memory)
        config = self._config(messages, tools, response_format)
        async for item in stream_with_retries(lambda: self._attempt(contents, config),
                                              self._classify, policy=self.policy,
                                              sleep=self._sleep, rng=self._rng):
            yield item

    def _config(
        self, messages: list[Message], tools: list[ToolSpec],
        response_format: ResponseFormat | None = None,
    ) -> types.GenerateContentConfig:
        declarations = [types.FunctionDeclaration(name=t.name, description=t.description,
                                                  parameters_json_schema=t.parameters)
                        for t in tools]
        structured: dict[str, Any] = {} if response_format is None else {
            "response_mime_type": "application/json",
            "response_json_schema": response_format.schema}
        return types.GenerateContentConfig(
            system_instruction=to_system_instruction(messages),
            tools=[types.Tool(function_declarations=declarations)] if declarations else None,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            max_output_tokens=self.max_output_tokens, **structured)

    def _client(self) -> genai.Client:
        options = types.HttpOptions(base_url=self.base_url, timeout=int(self.timeout_s * 1000),
                                    retry_options=types.HttpRetryOptions(attempts=1))
        return genai.Client(api_key=self._api_key, vertexai=False, http_options=options)

    async def _attempt(self, contents: list[dict[str, Any]],
                       config: types.GenerateContentConfig) -> AsyncIterator[StreamItem]:
        client = self._client()
        turn = _GeminiTurn(self._memory)
        try:
            stream = await client.aio.models.generate_content_stream(
                model=self.model, contents=contents, config=config)
            async for chunk in self._cut_aware(stream, turn):
                text = turn.absorb(chunk)
                if text:
                    yield TextDelta(text)
            for item in turn.finish():
                yield item
        finally:
            await client.aio.aclose()

    async def _cut_aware(self, stream: Any, turn: _GeminiTurn) -> AsyncIterator[Any]:
        """The stream's chunks; a transport error after the first chunk is ``StreamCut``."""
        try:
            async for chunk in stream:
                turn.chunks += 1
                yield chunk
        except genai_errors.UnknownApiResponseError as exc:
            raise StreamCut(f"unreadable chunk after {chunks_text(turn.chunks)}") from exc
        except Exception as exc:
            if turn.chunks and _is_transport(exc) and not _is_timeout(exc):
                raise StreamCut(f"connection lost after {chunks_text(turn.chunks)}") from exc
            raise

    def _classify(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, StreamCut):
            return Failure("stream-cut", f"Gemini cut the stream midway ({exc})", True)
        if _is_timeout(exc):
            return Failure("timeout", f"Gemini did not answer within {self.timeout_s:g} s", True)
        if _is_transport(exc):
            return Failure("connection", f"Gemini could not be reached at "
                           f"{origin(self.base_url)}: {type(exc).__name__}", True)
        if isinstance(exc, genai_errors.APIError):
            return self._status_failure(exc)
        return None

    def _status_failure(self, exc: Any) -> Failure:
        detail = redact(str(exc.message or exc.status or ""), [self._api_key])
        if exc.code == 400 and _is_key_rejection(exc):
            return Failure("auth", f"Gemini rejected the API key (400): check {self.key_env}",
                           False, 400)
        return status_failure("Gemini", exc.code, detail, key_env=self.key_env,
                              retry_after_s=_retry_delay(exc), quota=_quota_exhausted(exc))


class _GeminiTurn:
    """Accumulates one streamed turn: held-back calls, finish reason, usage."""

    def __init__(self, memory: CallMemory) -> None:
        self.chunks = 0
        self.finish_reason: str | None = None
        self.usage = Usage()
        self.calls: list[ToolCall] = []
        self._memory = memory

    def absorb(self, chunk: Any) -> str:
        """Take one ``GenerateContentResponse``; return its text (``""`` if none)."""
        _check_blocked(chunk)
        if chunk.usage_metadata is not None:
            self.usage = _usage(chunk.usage_metadata)
        candidate = chunk.candidates[0] if chunk.candidates else None
        if candidate is None:
            return ""
        if candidate.finish_reason is not None:
            self.finish_reason = getattr(candidate.finish_reason, "name", None) or str(
                candidate.finish_reason)
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        return "".join(self._absorb_part(part) for part in parts)

    def _absorb_part(self, part: Any) -> str:
        if part.function_call is not None:
            call = self._memory.new_call(part.function_call, part.thought_signature)
            self.calls.append(call)
            return ""
        return "" if part.thought else (part.text or "")

    def finish(self) -> list[StreamItem]:
        """The end-of-turn items: ready tool calls, usage, ``TurnEnd``.

        Raises:
            StreamCut: no finish reason arrived (the stream ended early).
        """
        if self.finish_reason is None:
            raise StreamCut(f"the stream ended after {chunks_text(self.chunks)} without a "
                            "finish reason")
        stop = "tool_use" if self.calls else _STOP_REASONS.get(self.finish_reason, "end_turn")
        return [*(ToolCallReady(c) for c in self.calls), self.usage, TurnEnd(stop)]


def _check_blocked(chunk: Any) -> None:
    feedback = getattr(chunk, "prompt_feedback", None)
    reason = getattr(feedback, "block_reason", None)
    if reason is not None:
        name = getattr(reason, "name", str(reason))
        raise ProviderError(f"Gemini blocked the prompt ({name}): rephrase it", "bad-request")


def _usage(meta: Any) -> Usage:
    output = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
    return Usage(input_tokens=meta.prompt_token_count or 0, output_tokens=output,
                 cached_tokens=meta.cached_content_token_count or 0)


def _is_key_rejection(exc: Any) -> bool:
    """Gemini answers a bad key with 400 ``API_KEY_INVALID`` rather than 401."""
    details = exc.details.get("error", {}).get("details", []) if isinstance(
        exc.details, dict) else []
    reasons = {d.get("reason") for d in details if isinstance(d, dict)}
    return "API_KEY_INVALID" in reasons or "API key not valid" in str(exc.message or "")


def _quota_exhausted(exc: Any) -> bool:
    """A 429 ``RESOURCE_EXHAUSTED`` that waiting will not cure: a ``QuotaFailure`` naming a
    per-day quota, or a billing/credit message without a ``RetryInfo`` delay (a per-minute
    rate limit says when to come back)."""
    if exc.code != 429:
        return False
    details = exc.details.get("error", {}).get("details", []) if isinstance(
        exc.details, dict) else []
    quota_ids = [str(v.get("quotaId", "")) for d in details if isinstance(d, dict)
                 for v in d.get("violations", []) or [] if isinstance(v, dict)]
    if any("PerDay" in q for q in quota_ids):
        return True
    message = str(exc.message or "").lower()
    return _retry_delay(exc) is None and any(w in message for w in ("billing", "credit"))


def _retry_delay(exc: Any) -> float | None:
    """``Retry-After`` header, else the ``google.rpc.RetryInfo.retryDelay`` detail (s)."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    from_header = parse_retry_after(headers)
    if from_header is not None:
        return from_header
    details = exc.details.get("error", {}).get("details", []) if isinstance(
        exc.details, dict) else []
    for detail in details:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            return parse_duration(str(detail.get("retryDelay", "")))
    return None


def _transport_classes(suffix: str) -> tuple[type[BaseException], ...]:
    """``httpx2``/``httpx``/``aiohttp`` exception classes already loaded by the SDK."""
    names = {"timeout": ("TimeoutException", "ServerTimeoutError"),
             "transport": ("TransportError", "ClientError")}[suffix]
    found = []
    for module_name in ("httpx2", "httpx", "aiohttp"):
        module = sys.modules.get(module_name)
        found += [getattr(module, n) for n in names if module and hasattr(module, n)]
    return tuple(found)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (TimeoutError, asyncio.TimeoutError, *_transport_classes("timeout")))


def _is_transport(exc: BaseException) -> bool:
    return isinstance(exc, (ConnectionError, *_transport_classes("transport")))
