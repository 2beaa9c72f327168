"""``<base_url>overmind/api/events?after=SEQ``: the live event stream (and its REST read).

A websocket client first gets everything after ``SEQ`` replayed from the store, then live
events, with no gap and no duplicate: the switch to live happens synchronously right after
a store read that found nothing newer, and every later commit reaches the listener. Frames
(server → client, JSON text)::

    {"type": "events", "events": [Event, …]}     in seq order, grouped per commit
    {"type": "resync", "after": SEQ}             the client fell behind; the server
                                                 continues from the store after SEQ
    {"type": "error", "message": str}            a bad client frame (the socket stays open)
    {"type": "pong"}                             answer to {"type": "ping"}

A slow client only ever holds ``max_buffer`` events in memory: beyond that its live buffer
is dropped and it catches up from the store at its own pace, so it slows nobody else.
Keep-alive: websocket pings every ``ws_ping_interval`` ms (Jupyter's setting).
A plain GET (no Upgrade header) answers ``{"events": […], "last_seq": N}`` instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .. import api, bounds
from ..errors import OvermindError, UsageError
from ..events import Event
from .base import OvermindAuth, OvermindErrorHTTP

if TYPE_CHECKING:
    from ..engine import Engine

FILTERS = ("mission", "objective", "party")
REPLAY_CHUNK = 2000
MAX_SEQ = 2**63 - 1  # SQLite's largest integer
MAX_FRAME_BYTES = 64 * 1024


def matches(event: Event, filters: dict[str, str]) -> bool:
    """True when ``event`` has every ``field == value`` of ``filters``."""
    return all(event.get(k) == v for k, v in filters.items())


class Selection(Protocol):
    """A selection of events wider than field equality (``party.watch.Watch``):
    ``matches`` decides live events (and may learn from them), ``any_of`` gives the
    replay's ``column → values`` (see ``Store.read_events_json``)."""

    def matches(self, event: Event) -> bool: ...
    def any_of(self) -> dict[str, list[str]]: ...


def frame(kind: str, **fields: Any) -> str:
    """One JSON text frame."""
    return json.dumps({"type": kind, **fields}, separators=(",", ":"))


def events_frame(texts: Iterable[str]) -> str:
    """``frame("events", events=…)`` from events already encoded as JSON text."""
    return '{"type":"events","events":[' + ",".join(texts) + "]}"


_encoded: tuple[list[Event] | None, list[str]] = (None, [])


def encoded(batch: list[Event]) -> list[str]:
    """The JSON text of each event of a published batch, encoded once for every stream.

    Every listener receives the same list object for one commit, so the last batch is
    remembered by identity (and kept alive, so its id cannot be reused meanwhile).
    """
    global _encoded
    if _encoded[0] is not batch:
        _encoded = (batch, [json.dumps(e, separators=(",", ":")) for e in batch])
    return _encoded[1]


class EventStream:
    """Replay-then-live delivery of filtered events to one client.

    Args:
        engine: the engine (``events`` reads the store, ``subscribe`` gives live batches).
        filters: field → value that every delivered event must have, or a ``Selection``.
        send: coroutine sending one text frame; awaiting it is the client's backpressure.
        max_buffer: live events held for a slow client before it is resynced from the store.
        send_now: optional; writes a frame at once and returns True, or returns False while
            the previous frame is still being flushed. Live batches then go out from the
            commit callback itself (no task wake-up per client and batch); otherwise, and
            whenever the client lags, they are buffered for the delivery task.
    """

    def __init__(self, engine: Engine, filters: dict[str, str] | Selection,
                 send: Callable[[str], Awaitable[None]], max_buffer: int = 10_000,
                 send_now: Callable[[str], bool] | None = None) -> None:
        self.engine, self.filters, self.send = engine, filters, send
        self.send_now = send_now
        self.max_buffer = max_buffer
        self.buffer: list[tuple[int, str]] = []  # (seq, event JSON) not yet sent
        self.cursor = 0  # seq of the last event handed to the socket
        self.overflow = False
        self.closed = False
        self.wakeup = asyncio.Event()

    async def run(self, after: int) -> None:
        """Deliver events after ``after`` until ``close``."""
        self.cursor = after
        while not self.closed:
            self.cursor = await self._replay(self.cursor)
            if self.closed:
                return
            self.buffer, self.overflow = [], False
            self.engine.subscribe(self._on_batch)  # no await since the last empty read
            try:
                await self._live()
            finally:
                self.engine.unsubscribe(self._on_batch)
            if self.overflow and not self.closed:
                await self.send(frame("resync", after=self.cursor))

    async def _replay(self, cursor: int) -> int:
        while not self.closed:
            # stored JSON text as is: decoding and re-encoding every event would cost 3×
            events = await self.engine.events_json(after=cursor, limit=REPLAY_CHUNK,
                                                   **self._replay_filters())
            if not events:
                return cursor
            await self.send(events_frame(text for _, text in events))
            cursor = events[-1][0]
        return cursor

    async def _live(self) -> None:
        while not self.closed:
            await self.wakeup.wait()
            self.wakeup.clear()
            if self.overflow:
                return
            batch, self.buffer = self.buffer, []
            if batch:
                self.cursor = batch[-1][0]  # before the await: a direct send may follow
                await self.send(events_frame(text for _, text in batch))

    def _on_batch(self, batch: list[Event]) -> None:
        if self.overflow:
            return
        texts = encoded(batch)
        if isinstance(self.filters, dict) and self.filters:
            items = [(e["seq"], t) for e, t in zip(batch, texts, strict=True)
                     if matches(e, self.filters)]
        elif not isinstance(self.filters, dict):
            items = [(e["seq"], t) for e, t in zip(batch, texts, strict=True)
                     if self.filters.matches(e)]
        else:
            items = [(e["seq"], t) for e, t in zip(batch, texts, strict=True)]
        if not items:
            return
        if not self.buffer and self.send_now is not None and \
                self.send_now(events_frame(text for _, text in items)):
            self.cursor = items[-1][0]
            return
        self.buffer.extend(items)
        if len(self.buffer) > self.max_buffer:
            self.buffer, self.overflow = [], True
        self.wakeup.set()

    def _replay_filters(self) -> dict[str, Any]:
        if isinstance(self.filters, dict):
            return dict(self.filters)
        return {"any_of": self.filters.any_of()}

    def close(self) -> None:
        """Stop delivering; ``run`` returns soon after."""
        self.closed = True
        self.wakeup.set()


class EventsHandler(OvermindAuth, WebSocketMixin, WebSocketHandler, JupyterHandler):
    """The event stream (websocket) and, for plain GETs, a JSON page of events."""

    event_stream: EventStream | None = None
    task: asyncio.Task | None = None
    inflight: asyncio.Future | None = None  # the last frame written, until flushed

    @property
    def max_message_size(self) -> int:
        """Client frames above 64 KiB close the socket (code 1009)."""
        return MAX_FRAME_BYTES

    def _query(self) -> tuple[int, dict[str, str]]:
        raw = self.get_argument("after", "0")
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_SEQ:
            raise UsageError(f"after must be a sequence number ≥ 0, not {raw!r}")
        filters = {k: v for k in FILTERS if (v := self.get_argument(k, None)) is not None}
        return int(raw), filters

    @allow_unauthenticated  # OvermindAuth.prepare authenticates every request
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Upgrade to the websocket, or answer a plain GET with JSON."""
        try:
            after, filters = self._query()
        except OvermindError as exc:
            raise web.HTTPError(400, exc.message) from None
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            await self._page()
            return
        self._after, self._filters = after, filters
        await super().get(*args, **kwargs)

    async def _page(self) -> None:
        """A plain GET: the table's ``events`` operation (``api.EVENTS`` answer)."""
        op = api.BY_NAME["events"]
        try:
            params = api.request_of(op, {k: self.get_argument(k) for k in
                                         self.request.query_arguments}, None)
            events = await api.call(self.engine, op, None, params)
        except OvermindError as exc:
            raise OvermindErrorHTTP(exc.http_status, exc.message, exc.reason) from None
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(op.result.encode(events, params)))

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Start replay-then-live delivery."""
        super().open(*args, **kwargs)
        self.set_nodelay(True)  # small live frames: no Nagle / delayed-ACK stalls (~40 ms)
        self.event_stream = EventStream(self.engine, self._filters, self._send,
                                  self.settings.get("overmind_ws_buffer", 10_000),
                                  send_now=self._send_now)
        self.task = asyncio.get_running_loop().create_task(self.event_stream.run(self._after))

    async def _send(self, text: str) -> None:
        try:
            self.inflight = self.write_message(text)
            await self.inflight
        except WebSocketClosedError:
            self.on_close()

    def _send_now(self, text: str) -> bool:
        """Write ``text`` now unless the previous frame is not flushed yet (backpressure)."""
        if self.inflight is not None and not self.inflight.done():
            return False
        try:
            self.inflight = self.write_message(text)
        except WebSocketClosedError:
            self.on_close()
            return True
        self.inflight.add_done_callback(_consume)
        return True

    def on_message(self, message: str | bytes) -> None:
        """Clients may send ``{"type": "ping"}``; anything else gets an error frame."""
        try:
            data = bounds.load_json(message, what="frame", max_bytes=MAX_FRAME_BYTES)
        except UsageError as exc:
            self._reply(frame("error", message=exc.message, reason=exc.reason))
            return
        if isinstance(data, dict) and data.get("type") == "ping":
            self._reply(frame("pong"))
        else:
            self._reply(frame("error", message='unknown frame; only {"type": "ping"} is '
                                               "accepted on this socket"))

    def _reply(self, text: str) -> None:
        try:
            self.write_message(text)
        except WebSocketClosedError:
            self.on_close()

    def on_close(self) -> None:
        """Stop the delivery task and drop the listener."""
        if self.event_stream is not None:
            self.event_stream.close()


def _consume(future: asyncio.Future) -> None:
    """Retrieve a direct write's outcome (a closed socket is handled by ``on_close``)."""
    if not future.cancelled():
        future.exception()
