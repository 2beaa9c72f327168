"""A recording pass-through in front of llama-server, for the real-model benchmark.

Every ``POST /v1/chat/completions`` is forwarded unchanged and its answer streamed back
unchanged; on the way the proxy records, per call, which role asked (from the system
prompt, as ``testing.script_replay`` routes), the usage of the final chunk (prompt,
completion and cached prompt tokens: OpenAI's ``usage.prompt_tokens_details.
cached_tokens``) and llama-server's ``timings`` (``prompt_ms``, ``predicted_ms``: the time
the model spent), so the benchmark can tell model time from orchestration time.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from overmind_jupyter.agents.builtin.agent import SYSTEM_PROMPT as AGENT_SYSTEM
from overmind_jupyter.orchestrator import evaluator, planner, referee, scope, story

ROLES = {story.SYSTEM: "story", scope.SYSTEM: "scope", planner.SYSTEM: "planner",
         evaluator.SYSTEM: "evaluator", referee.SYSTEM: "referee", AGENT_SYSTEM: "agent"}


@dataclasses.dataclass
class Call:
    """One model call: ``role``, tokens, cached prompt tokens, model time (ms), wall (s)."""

    role: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    model_ms: float = 0.0
    started: float = 0.0
    ended: float = 0.0


def role_of(body: dict[str, Any]) -> str:
    system = next((m.get("content") or "" for m in body.get("messages", [])
                   if m.get("role") == "system"), "")
    return next((r for s, r in ROLES.items() if isinstance(system, str) and
                 system.startswith(s)), "other")


class Proxy:
    """``Proxy(upstream).start()`` → ``url`` (``http://127.0.0.1:P/v1``); ``calls`` grows."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.forward(self, None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    proxy.forward(self, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller went away (a cancelled turn at close): nothing to relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> Proxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def mark(self) -> int:
        """The number of calls so far (a cursor for ``since``)."""
        with self.lock:
            return len(self.calls)

    def since(self, cursor: int) -> list[Call]:
        with self.lock:
            return list(self.calls[cursor:])

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        call = Call(role_of(json.loads(body)) if body else "other", started=time.monotonic())
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port,
                                          timeout=3600)
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        conn.request(handler.command, handler.path, body=body, headers=headers)
        answer = conn.getresponse()
        handler.send_response(answer.status)
        for k, v in answer.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                handler.send_header(k, v)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        buffered = b""
        while chunk := answer.read1(65536):
            buffered = self._note(call, buffered + chunk)
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")
        self._note(call, buffered + b"\n")
        call.ended = time.monotonic()
        if body:
            with self.lock:
                self.calls.append(call)
        conn.close()

    @staticmethod
    def _note(call: Call, data: bytes) -> bytes:
        """Read complete SSE lines (``data: {...}``) for usage and timings; keep the rest."""
        *lines, rest = data.split(b"\n")
        for line in lines:
            text = line.strip()
            if text.startswith(b"data:"):
                text = text[5:].strip()
            if not text.startswith(b"{"):
                continue
            try:
                event = json.loads(text)
            except ValueError:
                continue
            usage, timings = event.get("usage"), event.get("timings")
            if isinstance(usage, dict):
                call.prompt_tokens = usage.get("prompt_tokens") or 0
                call.completion_tokens = usage.get("completion_tokens") or 0
                details = usage.get("prompt_tokens_details") or {}
                call.cached_tokens = details.get("cached_tokens") or 0
            if isinstance(timings, dict):
                call.model_ms = (timings.get("prompt_ms") or 0) + (timings.get("predicted_ms")
                                                                   or 0)
        return rest
