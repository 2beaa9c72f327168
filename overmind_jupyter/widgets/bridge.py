"""The kernel side of the widgets' comm fallback (the view side is ``labextension/src/comm.ts``).

Used where the view cannot reach a Jupyter server with Overmind (an engine embedded in
the kernel, pages that are not Jupyter's). Custom widget messages:

    view → kernel  {type: "call", id, method, args}      method in ``METHODS``
                                                          ("request": a REST route)
                   {type: "subscribe", after}            events after seq, then live
                   {type: "follow", id, ref, tail} / {type: "unfollow", id}
    kernel → view  {type: "reply", id, ok, result | error}
                   {type: "events", events: [Event, …]}
                   {type: "log", id, text} / {type: "log-end", id, error?}

Work runs as tasks on the magics' portal loop, so handling a message never blocks the
kernel; replies are sent from that loop's thread (ipykernel's iopub socket is
thread-safe). Messages from the view only arrive while the kernel is idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .. import api as contract
from ..api import EngineAPI
from ..client import Client
from ..engine import Engine
from ..errors import OvermindError
from ..model import mission_to_dict

log = logging.getLogger("overmind.widgets")
REPLAY_CHUNK = 1000


def _plain(value: Any) -> Any:
    """JSON-ready form of what the engine interface returns (missions, questions …)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "status") and hasattr(value, "restart"):
        return mission_to_dict(value)
    return value


async def request(api: EngineAPI, method: str, path: str, body: Any = None) -> Any:
    """A view's REST call served in the kernel (``api.dispatch``); ``path`` may carry a
    query string."""
    parts = urlsplit(str(path))
    return await contract.dispatch(api, str(method), parts.path, dict(parse_qsl(parts.query)),
                                   body)


async def _ps(api: EngineAPI, all: bool = False) -> Any:
    return json.loads(await api.ps_json(all=bool(all)))


METHODS: dict[str, Callable[..., Awaitable[Any]]] = {
    "status": lambda api: api.status(),
    "ps": _ps,
    "ps_stats": lambda api, all=False: api.ps_stats(all=bool(all)),  # with agents' usage
    "info": lambda api, ref: api.info(str(ref)),
    "stop": lambda api, ref: api.stop(str(ref)),
    "kill": lambda api, ref: api.kill(str(ref)),
    "questions": lambda api: api.list_questions(),
    "answer": lambda api, ref, text: api.answer(str(ref), str(text)),
    "request": request,  # [http method, path, body]: the REST routes (api.dispatch)
}


class Bridge:
    """Serves one widget's comm messages with ``api`` (an ``Engine`` or a ``Client``).

    Args:
        widget: the widget (its ``send`` / ``on_msg``).
        api: the engine interface.
        portal: the ``Portal`` running ``api``'s loop.
    """

    def __init__(self, widget: Any, api: EngineAPI, portal: Any) -> None:
        self.widget, self.api, self.portal = widget, api, portal
        self.tasks: dict[Any, asyncio.Task] = {}
        self.listener: Callable[[list], None] | None = None
        widget.on_msg(self._on_msg)

    def _on_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "call":
            self._spawn(("call", content.get("id")), self._call(content))
        elif kind == "subscribe":
            self._spawn("events", self._events(int(content.get("after") or 0)))
        elif kind == "follow":
            self._spawn(("log", content.get("id")), self._follow(content))
        elif kind == "unfollow":
            self._cancel(("log", content.get("id")))

    def _spawn(self, key: Any, coro: Awaitable[None]) -> None:
        async def start() -> None:
            self._cancel_now(key)
            task = asyncio.ensure_future(coro)
            self.tasks[key] = task
            task.add_done_callback(lambda t: self.tasks.pop(key, None) if
                                   self.tasks.get(key) is t else None)
        self.portal.call(start)

    def _cancel(self, key: Any) -> None:
        async def cancel() -> None:
            self._cancel_now(key)
        self.portal.call(cancel)

    def _cancel_now(self, key: Any) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            task.cancel()
        if key == "events" and self.listener is not None and isinstance(self.api, Engine):
            self.api.unsubscribe(self.listener)
            self.listener = None

    async def _call(self, msg: dict[str, Any]) -> None:
        method = METHODS.get(str(msg.get("method")))
        reply: dict[str, Any] = {"type": "reply", "id": msg.get("id")}
        try:
            if method is None:
                raise OvermindError(f"unknown method {msg.get('method')!r}")
            reply.update(ok=True, result=_plain(await method(self.api, *msg.get("args", []))))
        except OvermindError as exc:
            reply.update(ok=False, error=exc.message)
        except Exception as exc:  # the view shows it; the kernel keeps going
            log.exception("widget call failed")
            reply.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        self.widget.send(reply)

    async def _events(self, after: int) -> None:
        if isinstance(self.api, Engine):
            await self._engine_events(self.api, after)
            return
        assert isinstance(self.api, Client)
        while True:
            try:
                async for frame in self.api.stream_events(after=after):
                    if frame.get("type") == "events" and frame["events"]:
                        self.widget.send(frame)
                        after = frame["events"][-1]["seq"]
            except OvermindError:
                await asyncio.sleep(1.0)  # the server is away: try again

    async def _engine_events(self, engine: Engine, after: int) -> None:
        """Replay from the store, then live batches from the engine (no gap: the switch
        happens right after a read that found nothing newer, with no await between)."""
        while events := await engine.events(after=after, limit=REPLAY_CHUNK):
            self.widget.send({"type": "events", "events": events})
            after = events[-1]["seq"]
        cursor = after

        def listener(batch: list) -> None:
            fresh = [e for e in batch if e["seq"] > cursor]
            if fresh:
                self.widget.send({"type": "events", "events": fresh})
        self.listener = listener
        engine.subscribe(listener)
        await asyncio.Event().wait()  # until cancelled

    async def _follow(self, msg: dict[str, Any]) -> None:
        stream = self.api.follow(str(msg.get("ref")), int(msg.get("tail") or 0))
        error = None
        try:
            async for text in stream:
                if text:
                    self.widget.send({"type": "log", "id": msg.get("id"), "text": text})
        except OvermindError as exc:
            error = exc.message
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()
        self.widget.send({"type": "log-end", "id": msg.get("id"), "error": error})

    def close(self) -> None:
        """Cancel every task (and the engine listener)."""
        async def cancel_all() -> None:
            for key in list(self.tasks):
                self._cancel_now(key)
            self._cancel_now("events")
        with contextlib.suppress(Exception):
            self.portal.call(cancel_all)
