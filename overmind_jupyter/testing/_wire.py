"""What the loopback LLM wire servers share: the reply script and a tornado server thread.

A test queues replies (``Turn``, ``Fail``, ``Hang``); each HTTP request to the model
endpoint takes the next one. Requests are recorded (``server.requests``) so tests can
assert what the SDK sent. The server runs on its own thread with its own event loop,
bound to 127.0.0.1 on a free port, so any test (sync or async) can use it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web


@dataclasses.dataclass(frozen=True)
class Call:
    """A tool call the fake model makes.

    Attributes:
        arguments: sent as JSON; a string is sent verbatim (OpenAI only: malformed JSON).
        id: the call id to send (OpenAI default ``call_loopback_N``; Gemini sends none).
        thought_signature: Gemini only: base64 ``thoughtSignature`` sent with the call.
    """

    name: str
    arguments: dict[str, Any] | str
    id: str | None = None
    thought_signature: str | None = None


@dataclasses.dataclass(frozen=True)
class Turn:
    """A successful streamed turn.

    Attributes:
        text: the assistant text; a sequence is sent one piece per event.
        tool_calls: calls the model makes (OpenAI: arguments sent in fragments).
        usage: (input, output, cached input) tokens reported at the end.
        finish: finish reason to send instead of the natural one.
        cut_after: stop after this many events (a stream cut midway).
        cut_mode: "reset" closes the connection mid-body; "eof" ends the HTTP body
            cleanly but without the protocol's final events.
        delay_s: pause before each event (s).
    """

    text: str | Sequence[str] = ""
    tool_calls: Sequence[Call] = ()
    usage: tuple[int, int, int] = (12, 7, 0)
    finish: str | None = None
    cut_after: int | None = None
    cut_mode: Literal["reset", "eof"] = "reset"
    delay_s: float = 0.0

    @property
    def pieces(self) -> list[str]:
        """The text as the list of pieces to send."""
        if isinstance(self.text, str):
            return [self.text] if self.text else []
        return list(self.text)


@dataclasses.dataclass(frozen=True)
class Fail:
    """An HTTP error reply.

    Attributes:
        status: HTTP status (429, 500, 401, …).
        message: the error message in the provider's JSON error body.
        retry_after: value of a ``Retry-After`` header (seconds or HTTP date), if any.
        retry_info: Gemini only: a ``RetryInfo.retryDelay`` such as ``"3s"``, if any.
        code: OpenAI only: the error body's ``code``, e.g. ``"insufficient_quota"``.
        quota_id: Gemini only: a ``QuotaFailure`` violation's ``quotaId``, e.g.
            ``"GenerateRequestsPerDayPerProjectPerModel-FreeTier"``.
    """

    status: int
    message: str = "scripted failure"
    retry_after: str | None = None
    retry_info: str | None = None
    code: str | None = None
    quota_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Hang:
    """Accept the request and answer nothing for ``seconds`` s (or until the server stops)."""

    seconds: float = 30.0


Reply = Turn | Fail | Hang


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: header names lower-cased, ``body`` parsed JSON."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class LoopbackServer:
    """Base of the wire servers: script queue, recording, thread and loop lifecycle.

    Use as a context manager, or ``start()`` / ``stop()``. ``base_url`` is
    ``http://127.0.0.1:PORT``. Subclasses give ``handlers()``.
    """

    def __init__(self, api_key: str | None = None,
                 responder: Callable[[RecordedRequest], Reply] | None = None) -> None:
        self.api_key = api_key
        self.responder = responder  # answers what the script does not (see next_reply)
        self.requests: list[RecordedRequest] = []
        self.port = 0
        self._replies: collections.deque[Reply] = collections.deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def handlers(self) -> list[tuple[str, type, dict]]:
        """Tornado URL specs; subclasses override."""
        raise NotImplementedError

    def script(self, *replies: Reply) -> LoopbackServer:
        """Queue replies, one per upcoming request, in order."""
        with self._lock:
            self._replies.extend(replies)
        return self

    def next_reply(self) -> Reply | None:
        """The next queued reply; when the script is empty, the ``responder``'s reply to
        the last recorded request (real CLIs make side calls no fixed script foresees);
        else None."""
        with self._lock:
            if self._replies:
                return self._replies.popleft()
            last = self.requests[-1] if self.requests else None
        return self.responder(last) if self.responder and last else None

    @property
    def pending(self) -> int:
        """Replies still queued."""
        with self._lock:
            return len(self._replies)

    def record(self, request: RecordedRequest) -> None:
        """Append ``request`` to ``requests`` (thread-safe)."""
        with self._lock:
            self.requests.append(request)

    def start(self) -> LoopbackServer:
        """Start serving on a free port; returns once it accepts connections.

        Raises:
            RuntimeError: the server thread did not start within 10 s.
        """
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__,
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start within 10 s")
        return self

    def stop(self) -> None:
        """Release hanging requests, close every connection and join the thread."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def wait_released(self, seconds: float) -> None:
        """Sleep ``seconds`` s, or less if the server is stopping (for ``Hang``)."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = tornado.web.Application(self.handlers(), log_function=_quiet)
        server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.stop()
        await asyncio.sleep(0)  # let released hangs finish their handlers
        await asyncio.wait_for(server.close_all_connections(), 5)


def _quiet(handler: tornado.web.RequestHandler) -> None:
    """Access-log function that logs nothing (tests script errors on purpose)."""


class WireHandler(tornado.web.RequestHandler):
    """Base request handler: records the request and writes replies in either protocol."""

    server: LoopbackServer

    def initialize(self, server: LoopbackServer) -> None:
        self.server = server

    def record(self) -> Any:
        """Record this request and return its JSON body (None if not JSON)."""
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            body = None
        query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        self.server.record(RecordedRequest(self.request.method or "", self.request.path,
                                           query, _lower(self.request.headers), body))
        return body

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer ``status`` with a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        self.finish(json.dumps(body))

    async def hang(self, reply: Hang) -> None:
        """Answer nothing for ``reply.seconds`` s, then close the connection."""
        await self.server.wait_released(reply.seconds)
        self.request.connection.close()  # type: ignore[union-attr]

    async def stream_events(self, turn: Turn, events: Iterable[str | tuple[str, str]]
                            ) -> None:
        """Write SSE events in chunked encoding, honouring ``turn.cut_after``: a string is
        a ``data:`` line, an ``(event, data)`` pair adds an ``event:`` line (Anthropic)."""
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        try:
            for number, event in enumerate(events):
                if turn.cut_after is not None and number >= turn.cut_after:
                    return self._cut(turn)
                if turn.delay_s:
                    await asyncio.sleep(turn.delay_s)
                name, data = event if isinstance(event, tuple) else (None, event)
                self.write((f"event: {name}\n" if name else "") + f"data: {data}\n\n")
                await self.flush()
            self.finish()
        except tornado.iostream.StreamClosedError:
            pass

    def _cut(self, turn: Turn) -> None:
        if turn.cut_mode == "eof":
            self.finish()
        else:
            self.request.connection.close()  # type: ignore[union-attr]


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
