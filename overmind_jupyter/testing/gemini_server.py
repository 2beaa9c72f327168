"""A loopback server speaking the Gemini API wire format, for adapter tests.

``POST /{v1,v1beta}/models/MODEL:streamGenerateContent?alt=sse`` answers SSE events
(``data: {GenerateContentResponse}``, no ``[DONE]``): one event per text piece, one event
with every ``functionCall`` part, and a last event carrying ``finishReason`` and
``usageMetadata``. ``:generateContent`` answers one ``GenerateContentResponse``. Errors
use Google's body ``{"error": {"code", "message", "status", "details"}}``; a ``Fail`` with
``retry_info`` adds a ``google.rpc.RetryInfo`` detail. Format source: Gemini API
reference, "Generating content" (https://ai.google.dev/api/generate-content) and
https://cloud.google.com/apis/design/errors.

Example::

    with GeminiWireServer() as server:
        server.script(Turn(tool_calls=[Call("read_file", {"path": "a"})]))
        model = GeminiModel("gemini-2.5-pro", api_key="k", base_url=server.url)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._wire import Call, Fail, Hang, LoopbackServer, Reply, Turn, WireHandler

__all__ = ["Call", "Fail", "GeminiWireServer", "Hang", "Turn"]

_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class GeminiWireServer(LoopbackServer):
    """Fake Gemini API; ``url`` is the SDK's ``HttpOptions.base_url``.

    Args:
        api_key: when set, requests with another ``x-goog-api-key`` get 400
            ``API_KEY_INVALID``, as the real service answers.
    """

    @property
    def url(self) -> str:
        """The base URL to give the SDK: ``http://127.0.0.1:PORT/``."""
        return f"{self.base_url}/"

    def handlers(self) -> list[tuple[str, type, dict]]:
        """Routes: ``models/MODEL:METHOD`` under ``v1`` and ``v1beta``."""
        return [(r"/(?:v1|v1beta)/models/([^/:]+):(\w+)", _GenerateHandler, {"server": self})]


class _GenerateHandler(WireHandler):
    async def post(self, model: str, method: str) -> None:
        self.record()
        reply = self._reply()
        if isinstance(reply, Fail):
            self.send_json(reply.status, _error_body(reply), _error_headers(reply))
        elif isinstance(reply, Hang):
            await self.hang(reply)
        elif method == "streamGenerateContent":
            await self.stream_events(reply, _events(reply, model))
        elif method == "generateContent":
            self.send_json(200, _response(reply, model))
        else:
            self.send_json(404, _error_body(Fail(404, f"unknown method {method}")))

    def _reply(self) -> Reply:
        expected = self.server.api_key
        if expected is not None and self.request.headers.get("x-goog-api-key") != expected:
            return Fail(400, "API key not valid. Please pass a valid API key.")
        reply = self.server.next_reply()
        return reply if reply is not None else Fail(500, "loopback server: script exhausted")


def _error_body(fail: Fail) -> dict[str, Any]:
    error: dict[str, Any] = {"code": fail.status, "message": fail.message,
                             "status": _STATUS_NAMES.get(fail.status, "UNKNOWN")}
    details: list[dict[str, Any]] = []
    if fail.quota_id is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{"quotaMetric": "generativelanguage.googleapis.com/"
                                        "generate_content_requests", "quotaId": fail.quota_id}]})
    if fail.retry_info is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": fail.retry_info})
    if details:
        error["details"] = details
    if "API key not valid" in fail.message:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]
    return {"error": error}


def _error_headers(fail: Fail) -> dict[str, str]:
    return {"Retry-After": fail.retry_after} if fail.retry_after is not None else {}


def _candidate(parts: list[dict], finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return candidate


def _events(turn: Turn, model: str) -> Iterator[str]:
    for piece in turn.pieces:
        yield json.dumps({"candidates": [_candidate([{"text": piece}])], "modelVersion": model})
    if turn.tool_calls:
        parts = [_call_part(call) for call in turn.tool_calls]
        yield json.dumps({"candidates": [_candidate(parts)], "modelVersion": model})
    yield json.dumps({"candidates": [_candidate([{"text": ""}], _finish(turn))],
                      "usageMetadata": _usage(turn), "modelVersion": model})


def _call_part(call: Call) -> dict[str, Any]:
    function_call: dict[str, Any] = {"name": call.name, "args": call.arguments}
    if call.id is not None:
        function_call["id"] = call.id
    part: dict[str, Any] = {"functionCall": function_call}
    if call.thought_signature is not None:
        part["thoughtSignature"] = call.thought_signature
    return part


def _finish(turn: Turn) -> str:
    return turn.finish if turn.finish is not None else "STOP"


def _usage(turn: Turn) -> dict[str, int]:
    prompt, output, cached = turn.usage
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": output,
             "totalTokenCount": prompt + output}
    if cached:
        usage["cachedContentTokenCount"] = cached
    return usage


def _response(turn: Turn, model: str) -> dict[str, Any]:
    parts: list[dict] = [{"text": "".join(turn.pieces)}] if turn.pieces else []
    parts += [_call_part(call) for call in turn.tool_calls]
    return {"candidates": [_candidate(parts, _finish(turn))], "usageMetadata": _usage(turn),
            "modelVersion": model}
