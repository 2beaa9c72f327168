"""The host REST routes (relative to ``<base_url>overmind/api/``), derived from the
engine contract's operation table (``api.OPERATIONS``).

Every path gets one handler: ``OperationHandler`` serves its operations generically
(validate the query or JSON body with the operation's request model, call the engine
method, encode the result with its codec, answer with its status); the few whose answer
is a stream, a websocket or a server action have their own handler class in ``CUSTOM``.
A test checks that each operation is served by exactly one of the two.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from tornado import iostream, web

from .. import api
from ..errors import OvermindError
from .attach_ws import AttachHandler
from .base import OvermindErrorHTTP, OvermindHandler, endpoint
from .events_ws import EventsHandler
from .member_handlers import MeHandler, MyPromptsHandler


class OperationHandler(OvermindHandler):
    """Serves the table's operations of one path (``ops``; set per path by ``routes``)."""

    ops: ClassVar[tuple[api.Operation, ...]] = ()

    async def prepare(self, **kwargs: Any) -> None:
        """Authenticate, then the engine's entry guard for every operation served here
        (the ``fast`` listing, log following and shutdown do not go through ``api.call``):
        503 ``engine-unavailable`` while it is not running."""
        await super().prepare(**kwargs)
        try:
            self.engine.ensure_running()
        except OvermindError as exc:
            raise OvermindErrorHTTP(exc.http_status, exc.message, exc.reason) from None

    @endpoint
    async def get(self, ref: str | None = None) -> None:
        await self.serve("GET", ref)

    @endpoint
    async def post(self, ref: str | None = None) -> None:
        await self.serve("POST", ref)

    def query(self) -> dict[str, str]:
        """The query string's parameters (the last value of a repeated one)."""
        return {k: self.get_argument(k) for k in self.request.query_arguments}

    async def serve(self, method: str, ref: str | None) -> None:
        """Select the operation, validate its request, call the engine, answer."""
        query = self.query()
        op = api.select(self.ops, method, query)
        if op is None:
            raise web.HTTPError(405)
        params = api.request_of(op, query, self.json_body() if method == "POST" else None)
        if op.fast is not None:  # the engine encodes this answer itself (e.g. in SQLite)
            text = await getattr(self.engine, op.fast)(**params.args())
            self.set_status(op.status)
            self.finish(f'{{"{op.result.key}":{text}}}', set_content_type=api.Media.JSON.value)
            return
        value = await api.call(self.engine, op, ref, params)
        if op.result.media is api.Media.TEXT:
            self.set_status(op.status)
            self.finish(value, set_content_type=api.Media.TEXT.value)
            return
        self.send_json(op.result.encode(value, params), op.status)


class LogsHandler(OperationHandler):
    """``GET missions/{ref}/logs[?tail=N][&follow=1]``: text; ``follow`` streams chunks."""

    @endpoint
    async def get(self, ref: str | None = None) -> None:
        params = api.request_of(api.BY_NAME["logs"], self.query(), None)
        assert isinstance(params, api.LogsQuery) and ref is not None
        if not params.follow:
            await self.serve("GET", ref)
            return
        self.set_header("Content-Type", api.Media.TEXT.value)
        self.set_header("X-Accel-Buffering", "no")
        stream = self.engine.follow(ref, 10 if params.tail is None else params.tail)
        try:
            async for text in stream:
                if text:
                    self.write(text)
                    await self.flush()
        except iostream.StreamClosedError:
            return
        finally:
            await stream.aclose()
        self.finish(set_content_type=api.Media.TEXT.value)


class ShutdownHandler(OperationHandler):
    """``POST shutdown``: stop every mission; a daemon server then stops itself
    (``server_stopping``)."""

    @endpoint
    async def post(self, ref: str | None = None) -> None:
        op = api.BY_NAME["shutdown"]
        ended = await self.engine.shutdown()
        app = self.settings["overmind_app"]
        self.send_json({**op.result.encode(ended, None), "server_stopping": app.daemon})
        if app.daemon:
            asyncio.get_running_loop().call_later(0.2, app.serverapp.stop)


class OpenAPIHandler(OvermindHandler):
    """``GET openapi.json``: the OpenAPI 3.1 document of these routes."""

    @endpoint
    async def get(self) -> None:
        from .openapi import document
        self.send_json(document())


CUSTOM: dict[str, type[web.RequestHandler]] = {
    "missions/{ref}/logs": LogsHandler, "missions/{ref}/attach": AttachHandler,
    "events": EventsHandler, "shutdown": ShutdownHandler, "openapi.json": OpenAPIHandler,
    "party/me": MeHandler, "party/me/prompts": MyPromptsHandler}


def routes() -> list[tuple[str, Any]]:
    """``(path regex, handler class)`` for every path of the table."""
    found = []
    for path, ops in api.by_path().items():
        handler = CUSTOM.get(path)
        if handler is None or issubclass(handler, OperationHandler):
            base = handler or OperationHandler
            served = {op.method.lower() for op in ops}
            stubs = {m: getattr(web.RequestHandler, m) for m in ("get", "post")
                     if m not in served}  # tornado's stubs answer 405
            handler = type(f"{base.__name__}_{_ident(path)}", (base,),
                           {"ops": tuple(ops), **stubs})
        found.append((path.replace("{ref}", r"(?P<ref>[^/]+)"), handler))
    return found


def _ident(path: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in path)


ROUTES = routes()
