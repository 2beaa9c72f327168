"""A loopback server speaking OpenAI's Chat Completions wire format, for adapter tests.

``POST /v1/chat/completions``: with ``"stream": true`` the reply is SSE — ``data: {chunk}``
events, tool-call arguments sent as fragments keyed by ``index`` (fragments of parallel
calls interleaved), a finish chunk, a usage chunk when ``stream_options.include_usage``
is set, then ``data: [DONE]``; without it, one ``chat.completion`` object. Errors use
OpenAI's body ``{"error": {"message", "type", "code"}}``. Format source: OpenAI API
reference, "Create chat completion" and "The chat completion chunk object"
(https://platform.openai.com/docs/api-reference/chat).

Example::

    with OpenAIWireServer() as server:
        server.script(Fail(429, retry_after="2"), Turn(text="hi"))
        model = OpenAIModel("gpt-4.1", api_key="k", base_url=server.url)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._wire import Call, Fail, Hang, LoopbackServer, Reply, Turn, WireHandler

__all__ = ["Call", "Fail", "Hang", "OpenAIWireServer", "Turn"]

FRAGMENT_CHARS = 7  # tool-call arguments are split into fragments of this many characters


class OpenAIWireServer(LoopbackServer):
    """Fake OpenAI-compatible endpoint; ``url`` is the SDK's ``base_url`` (ends in ``/v1``).

    Args:
        api_key: when set, requests with another bearer key get 401.
    """

    @property
    def url(self) -> str:
        """The base URL to give the SDK: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.base_url}/v1"

    def handlers(self) -> list[tuple[str, type, dict]]:
        """The one route: chat completions."""
        return [(r"/v1/chat/completions", _ChatHandler, {"server": self})]


class _ChatHandler(WireHandler):
    async def post(self) -> None:
        body = self.record() or {}
        reply = self._reply()
        model = str(body.get("model", "unknown"))
        if isinstance(reply, Fail):
            self.send_json(reply.status, _error_body(reply), _error_headers(reply))
        elif isinstance(reply, Hang):
            await self.hang(reply)
        elif body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            await self.stream_events(reply, _events(reply, model, include_usage))
        else:
            self.send_json(200, _completion(reply, model))

    def _reply(self) -> Reply:
        expected = self.server.api_key
        sent = self.request.headers.get("Authorization", "")
        if expected is not None and sent != f"Bearer {expected}":
            return Fail(401, "Incorrect API key provided.")
        reply = self.server.next_reply()
        return reply if reply is not None else Fail(500, "loopback server: script exhausted")


def _error_body(fail: Fail) -> dict[str, Any]:
    kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(fail.status, "error")
    if fail.code == "insufficient_quota":
        kind = "insufficient_quota"  # OpenAI sends the same word as type and code
    return {"error": {"message": fail.message, "type": kind, "param": None, "code": fail.code}}


def _error_headers(fail: Fail) -> dict[str, str]:
    return {"Retry-After": fail.retry_after} if fail.retry_after is not None else {}


def _chunk(model: str, choices: list[dict], usage: dict | None = None) -> str:
    chunk = {"id": "chatcmpl-loopback", "object": "chat.completion.chunk", "created": 0,
             "model": model, "choices": choices}
    if usage is not None:
        chunk["usage"] = usage
    return json.dumps(chunk)


def _delta(delta: dict, finish: str | None = None) -> list[dict]:
    return [{"index": 0, "delta": delta, "finish_reason": finish}]


def _events(turn: Turn, model: str, include_usage: bool) -> Iterator[str]:
    yield _chunk(model, _delta({"role": "assistant", "content": ""}))
    for piece in turn.pieces:
        yield _chunk(model, _delta({"content": piece}))
    for fragment in _fragments(turn.tool_calls):
        yield _chunk(model, _delta({"tool_calls": [fragment]}))
    yield _chunk(model, _delta({}, _finish(turn)))
    if include_usage:
        yield _chunk(model, [], _usage(turn))
    yield "[DONE]"


def _fragments(calls: list[Call] | tuple[Call, ...]) -> Iterator[dict]:
    """Tool-call deltas: a header per call, then argument pieces interleaved across calls."""
    pieces = []
    for index, call in enumerate(calls):
        args = _arguments(call)
        chunks = [args[i:i + FRAGMENT_CHARS] for i in range(0, len(args), FRAGMENT_CHARS)]
        pieces.append(chunks)
        yield {"index": index, "id": _call_id(call, index), "type": "function",
               "function": {"name": call.name, "arguments": ""}}
    for step in range(max((len(p) for p in pieces), default=0)):
        for index, chunks in enumerate(pieces):
            if step < len(chunks):
                yield {"index": index, "function": {"arguments": chunks[step]}}


def _arguments(call: Call) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _call_id(call: Call, index: int) -> str:
    return call.id or f"call_loopback_{index}"


def _finish(turn: Turn) -> str:
    if turn.finish is not None:
        return turn.finish
    return "tool_calls" if turn.tool_calls else "stop"


def _usage(turn: Turn) -> dict[str, Any]:
    prompt, completion, cached = turn.usage
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}


def _completion(turn: Turn, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(turn.pieces) or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"id": _call_id(c, i), "type": "function",
             "function": {"name": c.name, "arguments": _arguments(c)}}
            for i, c in enumerate(turn.tool_calls)]
    return {"id": "chatcmpl-loopback", "object": "chat.completion", "created": 0,
            "model": model, "usage": _usage(turn),
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(turn)}]}
