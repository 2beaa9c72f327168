"""A loopback server speaking OpenAI's Responses API wire format (what Codex speaks).

``POST /v1/responses`` with ``"stream": true`` answers SSE events, each ``event: TYPE``
with ``data: {"type": TYPE, …}``: ``response.created``, then per output item
``response.output_item.added`` / ``response.output_text.delta`` (text pieces) or
``response.function_call_arguments.delta`` (argument fragments) /
``response.output_item.done``, and ``response.completed`` carrying the whole response
with its ``usage``; without it, one ``response`` object. A ``Fail`` answers OpenAI's error
body ``{"error": {"message", "type", "code"}}``. Format source: OpenAI API reference,
"Responses" and "Streaming events" (https://platform.openai.com/docs/api-reference/responses).

Example::

    with ResponsesWireServer() as server:
        server.script(Turn(tool_calls=[Call("shell", {"command": ["ls"]})]), Turn(text="ok"))
        base_url = server.url  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from ._wire import Call, Fail, Hang, LoopbackServer, Reply, Turn, WireHandler

__all__ = ["Call", "Fail", "Hang", "ResponsesWireServer", "Turn"]

FRAGMENT_CHARS = 7  # function-call arguments are sent in fragments of this many characters
_ids = itertools.count(1)


class ResponsesWireServer(LoopbackServer):
    """Fake Responses endpoint; ``url`` is a provider's ``base_url`` (ends in ``/v1``).

    Args:
        api_key: when set, requests with another bearer key get 401.
    """

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"{self.base_url}/v1"

    def handlers(self) -> list[tuple[str, type, dict]]:
        """The one route: responses."""
        return [(r"/v1/responses", _ResponsesHandler, {"server": self})]


class _ResponsesHandler(WireHandler):
    async def post(self) -> None:
        body = self.record() or {}
        reply = self._reply()
        model = str(body.get("model", "loopback"))
        if isinstance(reply, Fail):
            self.send_json(reply.status, {"error": {
                "message": reply.message, "type": "invalid_request_error"
                if reply.status < 500 else "server_error", "code": None, "param": None}})
        elif isinstance(reply, Hang):
            await self.hang(reply)
        elif body.get("stream"):
            await self.stream_events(reply, _events(reply, model))
        else:
            self.send_json(200, _response(reply, model, _items(reply)))

    def _reply(self) -> Reply:
        expected = self.server.api_key
        sent = self.request.headers.get("Authorization", "")
        if expected is not None and sent != f"Bearer {expected}":
            return Fail(401, "Incorrect API key provided.")
        reply = self.server.next_reply()
        return reply if reply is not None else Fail(500, "loopback server: script exhausted")


def _items(turn: Turn) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if turn.pieces:
        items.append({"type": "message", "id": f"msg_{next(_ids)}", "role": "assistant",
                      "status": "completed", "content": [
                          {"type": "output_text", "text": "".join(turn.pieces),
                           "annotations": []}]})
    for call in turn.tool_calls:
        items.append({"type": "function_call", "id": f"fc_{next(_ids)}",
                      "call_id": call.id or f"call_loopback_{next(_ids)}", "name": call.name,
                      "arguments": _arguments(call), "status": "completed"})
    return items


def _arguments(call: Call) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _response(turn: Turn, model: str, output: list[dict[str, Any]],
              status: str = "completed") -> dict[str, Any]:
    prompt, completion, cached = turn.usage
    return {"id": f"resp_{next(_ids)}", "object": "response", "status": status,
            "model": model, "output": output,
            "usage": {"input_tokens": prompt, "output_tokens": completion,
                      "total_tokens": prompt + completion,
                      "input_tokens_details": {"cached_tokens": cached},
                      "output_tokens_details": {"reasoning_tokens": 0}}}


def _events(turn: Turn, model: str) -> Iterator[tuple[str, str]]:
    sequence = itertools.count()

    def event(name: str, data: dict[str, Any]) -> tuple[str, str]:
        return name, json.dumps({"type": name, "sequence_number": next(sequence), **data})
    items = _items(turn)
    yield event("response.created", {"response": _response(turn, model, [], "in_progress")})
    for index, item in enumerate(items):
        if item["type"] == "message":
            yield event("response.output_item.added", {"output_index": index, "item": {
                **item, "status": "in_progress", "content": []}})
            for piece in turn.pieces:
                yield event("response.output_text.delta", {
                    "output_index": index, "item_id": item["id"], "content_index": 0,
                    "delta": piece})
        else:
            yield event("response.output_item.added", {"output_index": index, "item": {
                **item, "status": "in_progress", "arguments": ""}})
            text = item["arguments"]
            for start in range(0, len(text), FRAGMENT_CHARS):
                yield event("response.function_call_arguments.delta", {
                    "output_index": index, "item_id": item["id"],
                    "delta": text[start:start + FRAGMENT_CHARS]})
        yield event("response.output_item.done", {"output_index": index, "item": item})
    yield event("response.completed", {"response": _response(turn, model, items)})
