"""A loopback server speaking the Anthropic Messages API wire format, for agent tests.

``POST /v1/messages`` with ``"stream": true`` answers SSE with ``event:`` names:
``message_start`` (the message shell and input usage), per content block
``content_block_start`` / ``content_block_delta`` (``text_delta``, or ``input_json_delta``
fragments of a ``tool_use`` block's input) / ``content_block_stop``, then
``message_delta`` (``stop_reason`` ``end_turn`` or ``tool_use``, output usage) and
``message_stop``; without it, one ``message`` object. ``POST /v1/messages/count_tokens``
answers ``{"input_tokens"}``. Errors use Anthropic's body ``{"type": "error", "error":
{"type", "message"}}``. Format source: Anthropic API reference, "Messages" and
"Streaming Messages" (https://docs.anthropic.com/en/api/messages-streaming).

Example::

    with AnthropicWireServer() as server:
        server.script(Turn(tool_calls=[Call("Bash", {"command": "ls"})]), Turn(text="done"))
        env = {"ANTHROPIC_BASE_URL": server.base_url, "ANTHROPIC_API_KEY": "k"}
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from ._wire import Call, Fail, Hang, LoopbackServer, Reply, Turn, WireHandler

__all__ = ["AnthropicWireServer", "Call", "Fail", "Hang", "Turn"]

FRAGMENT_CHARS = 9  # tool_use input JSON is sent in fragments of this many characters
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                500: "api_error", 529: "overloaded_error"}
_ids = itertools.count(1)


class AnthropicWireServer(LoopbackServer):
    """Fake Anthropic API; ``base_url`` is what ``ANTHROPIC_BASE_URL`` takes.

    Args:
        api_key: when set, requests with another ``x-api-key`` get 401.
    """

    def handlers(self) -> list[tuple[str, type, dict]]:
        """Routes: messages and token counting."""
        return [(r"/v1/messages/count_tokens", _CountHandler, {"server": self}),
                (r"/v1/messages", _MessagesHandler, {"server": self})]


class _CountHandler(WireHandler):
    async def post(self) -> None:
        body = self.record() or {}
        self.send_json(200, {"input_tokens": max(1, len(json.dumps(body)) // 4)})


class _MessagesHandler(WireHandler):
    async def post(self) -> None:
        body = self.record() or {}
        reply = self._reply()
        model = str(body.get("model", "claude-loopback"))
        if isinstance(reply, Fail):
            self.send_json(reply.status, _error_body(reply), _error_headers(reply))
        elif isinstance(reply, Hang):
            await self.hang(reply)
        elif body.get("stream"):
            await self.stream_events(reply, _events(reply, model))
        else:
            self.send_json(200, _message(reply, model))

    def _reply(self) -> Reply:
        expected = self.server.api_key
        if expected is not None and self.request.headers.get("x-api-key") != expected:
            return Fail(401, "invalid x-api-key")
        reply = self.server.next_reply()
        return reply if reply is not None else Fail(500, "loopback server: script exhausted")


def _error_body(fail: Fail) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _ERROR_TYPES.get(fail.status, "api_error"),
                                       "message": fail.message}}


def _error_headers(fail: Fail) -> dict[str, str]:
    return {"retry-after": fail.retry_after} if fail.retry_after is not None else {}


def _call_id(call: Call, index: int) -> str:
    return call.id or f"toolu_loopback_{index}"


def _stop_reason(turn: Turn) -> str:
    return turn.finish or ("tool_use" if turn.tool_calls else "end_turn")


def _shell(turn: Turn, model: str) -> dict[str, Any]:
    prompt, _, cached = turn.usage
    return {"id": f"msg_loopback_{next(_ids)}", "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": 1,
                      "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0}}


def _events(turn: Turn, model: str) -> Iterator[tuple[str, str]]:
    def event(name: str, data: dict[str, Any]) -> tuple[str, str]:
        return name, json.dumps({"type": name, **data})
    yield event("message_start", {"message": _shell(turn, model)})
    index = 0
    if turn.pieces:
        yield event("content_block_start", {"index": 0, "content_block": {"type": "text",
                                                                          "text": ""}})
        for piece in turn.pieces:
            yield event("content_block_delta", {"index": 0, "delta": {"type": "text_delta",
                                                                      "text": piece}})
        yield event("content_block_stop", {"index": 0})
        index = 1
    for i, call in enumerate(turn.tool_calls, index):
        yield event("content_block_start", {"index": i, "content_block": {
            "type": "tool_use", "id": _call_id(call, i), "name": call.name, "input": {}}})
        text = _arguments(call)
        for start in range(0, len(text), FRAGMENT_CHARS):
            yield event("content_block_delta", {"index": i, "delta": {
                "type": "input_json_delta", "partial_json": text[start:start + FRAGMENT_CHARS]}})
        yield event("content_block_stop", {"index": i})
    yield event("message_delta", {"delta": {"stop_reason": _stop_reason(turn),
                                            "stop_sequence": None},
                                  "usage": {"output_tokens": turn.usage[1]}})
    yield event("message_stop", {})


def _arguments(call: Call) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _message(turn: Turn, model: str) -> dict[str, Any]:
    message = _shell(turn, model)
    content: list[dict[str, Any]] = [{"type": "text", "text": "".join(turn.pieces)}] \
        if turn.pieces else []
    content += [{"type": "tool_use", "id": _call_id(call, i), "name": call.name,
                 "input": call.arguments if isinstance(call.arguments, dict) else {}}
                for i, call in enumerate(turn.tool_calls, len(content))]
    message.update(content=content, stop_reason=_stop_reason(turn))
    message["usage"]["output_tokens"] = turn.usage[1]
    return message
