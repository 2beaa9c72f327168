"""REST client with the engine's interface, for kernels and the CLI.

Its methods are ``api.EngineAPI``'s, derived from ``api.OPERATIONS`` (the few the table
cannot derive are written here), so the command layer cannot tell it from the engine.
Errors the server sends as ``{"message", "reason"}`` are
raised again as the matching ``OvermindError``; a refused connection raises
``EngineUnavailable``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from . import api, runtime_files
from .errors import EngineUnavailable, OvermindError, from_json
from .model import Mission, mission_from_dict
from .runtime_files import TOKEN_HEADER

API = "overmind/api/"
LONG_POLL_S = 60.0


class Client(api.EngineAPI):
    """Talks to the engine in a Jupyter server at ``url`` (with base URL, ending in ``/``).

    Args:
        url: server URL including its base URL, e.g. ``http://127.0.0.1:8888/``.
        token: the scoped Overmind token.
        timeout_s: timeout of ordinary requests (s).
    """

    mode = "server"

    def __init__(self, url: str, token: str, timeout_s: float = 30.0) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.timeout_s = timeout_s
        self.http = AsyncHTTPClient()

    @classmethod
    def discover(cls, cwd: str | Path | None = None) -> Client | None:
        """From ``OVERMIND_URL``/``OVERMIND_TOKEN``, else the runtime file of ``cwd``'s project."""
        url, token = os.environ.get("OVERMIND_URL"), os.environ.get("OVERMIND_TOKEN")
        if url and token:
            return cls(url, token)
        info = runtime_files.find(runtime_files.project_root(cwd or os.getcwd()))
        return cls(info["url"], info["token"]) if info else None

    def _request(self, method: str, path: str, body: Any = None, query: dict | None = None,
                 timeout_s: float | None = None, **kw: Any) -> HTTPRequest:
        q = {k: v for k, v in (query or {}).items() if v is not None}
        url = self.url + API + path + (f"?{urlencode(q)}" if q else "")
        data = None if body is None else json.dumps(body)
        return HTTPRequest(url, method=method, body=data, request_timeout=timeout_s or
                           self.timeout_s, headers={TOKEN_HEADER: self.token,
                                                    "Content-Type": "application/json"}, **kw)

    async def _call(self, method: str, path: str, body: Any = None, query: dict | None = None,
                    timeout_s: float | None = None, raw: bool = False) -> Any:
        request = self._request(method, path, body, query, timeout_s)
        try:
            response = await self.http.fetch(request)
        except HTTPClientError as exc:
            raise _error(exc) from None
        except OSError as exc:
            raise EngineUnavailable(f"cannot reach Overmind at {self.url} ({exc.strerror or exc})"
                                    "; is the server running? try `overmind start`") from None
        text = response.body.decode("utf-8", "replace")
        return text if raw else json.loads(text)

    async def operate(self, op: api.Operation, *args: Any, **kwargs: Any) -> Any:
        """Call ``op`` over REST with the arguments of its ``EngineAPI`` method; returns the
        method's value (decoded by the operation's result codec).

        Raises:
            UsageError: arguments the operation does not take (before any request).
            OvermindError: what the server answered (``NotFound``, ``InvalidTransition`` …).
            EngineUnavailable: no server at ``url``.
        """
        bound = inspect.signature(getattr(api.EngineAPI, op.name)).bind(None, *args, **kwargs)
        call = {k: v for k, v in bound.arguments.items() if k != "self"}
        call.update(call.pop("filters", {}))  # EngineAPI.events(**filters)
        ref = call.pop(next(iter(call))) if op.takes_ref else None
        params = op.params.of_call(**call)
        path = op.path.replace("{ref}", _q(str(ref))) if op.takes_ref else op.path
        text = op.result.media is not api.Media.JSON
        timeout_s = op.client_timeout_s(params)
        if op.method == "GET":
            answer = await self._call("GET", path, query=_query(params), raw=text,
                                      timeout_s=timeout_s)
        else:
            answer = await self._call("POST", path, params.wire(), raw=text,
                                      timeout_s=timeout_s)
        return answer if text else op.result.decode(answer)

    # -- what the table cannot derive: raw, streamed and long-polled answers --------------
    async def ps_json(self, all: bool = False) -> str:
        """See ``Engine.ps_json``: the JSON array text, as the server built it."""
        text = await self._call("GET", "missions", query={"all": "1" if all else None},
                                raw=True)
        prefix = '{"missions":'
        if not (text.startswith(prefix) and text.endswith("}")):
            raise OvermindError("unexpected answer to GET missions")
        return text[len(prefix):-1]

    async def follow(self, ref: str, tail: int | None = 10) -> AsyncIterator[str]:
        """See ``Engine.follow``: chunks of text streamed over one HTTP response."""
        ref = (await self.info(ref))["id"]  # a bad ref fails here with a clean error
        queue: asyncio.Queue[str | Exception | None] = asyncio.Queue()
        request = self._request("GET", f"missions/{_q(ref)}/logs",
                                query={"follow": "1", "tail": tail}, timeout_s=10 ** 7,
                                streaming_callback=lambda b: queue.put_nowait(
                                    b.decode("utf-8", "replace")))
        fetch = asyncio.ensure_future(self.http.fetch(request, raise_error=False))
        fetch.add_done_callback(lambda f: queue.put_nowait(_fetch_outcome(f)))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            fetch.cancel()

    async def wait(self, ref: str, timeout_s: float | None = None) -> Mission:
        """See ``Engine.wait``; long-polls in slices of ``LONG_POLL_S`` s."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while True:
            left = LONG_POLL_S if deadline is None else max(0.0, deadline - loop.time())
            part = min(LONG_POLL_S, left)
            m = mission_from_dict(await self._call("POST", f"missions/{_q(ref)}/wait",
                                                   {"timeout_s": part}, timeout_s=part + 30))
            if m.status.terminal or (deadline is not None and loop.time() >= deadline):
                return m

    async def stream_events(self, after: int = 0, **filters: str | None
                            ) -> AsyncIterator[dict[str, Any]]:
        """Frames of the live event websocket (``events_ws`` documents them), forever.

        Raises:
            EngineUnavailable: the connection failed or dropped.
        """
        from tornado.websocket import websocket_connect
        request = self._request("GET", "events", query={"after": after, **filters})
        request.url = "ws" + request.url[4:]
        try:
            conn = await websocket_connect(request)
        except (OSError, HTTPClientError) as exc:
            raise EngineUnavailable(f"cannot open the event stream: {exc}") from None
        try:
            while (message := await conn.read_message()) is not None:
                yield json.loads(message)
        finally:
            conn.close()
        raise EngineUnavailable("the event stream closed; reconnect with after=<last seq>")

    async def attach(self, ref: str) -> Any:
        """A websocket to a session mission's terminal (see ``server/attach_ws.py``):
        ``read_message()`` gives raw output bytes (None once it ended), ``write_message(b,
        binary=True)`` types keys.

        Raises:
            UsageError / NotFound: the mission cannot be attached to.
        """
        from tornado.websocket import websocket_connect
        ref = (await self.info(ref))["id"]
        request = self._request("GET", f"missions/{_q(ref)}/attach", timeout_s=10 ** 7)
        request.url = "ws" + request.url[4:]
        try:
            return await websocket_connect(request)
        except HTTPClientError as exc:
            raise _error(exc) from None
        except OSError as exc:
            raise EngineUnavailable(f"cannot attach: {exc}") from None


def _derived(op: api.Operation) -> Callable[..., Any]:
    """The ``Client`` method of ``op``: its ``EngineAPI`` signature, over REST."""
    async def method(self: Client, *args: Any, **kwargs: Any) -> Any:
        return await self.operate(op, *args, **kwargs)
    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = f"See ``EngineAPI.{op.name}``: ``{op.method} {op.path}``."
    method.__signature__ = inspect.signature(getattr(api.EngineAPI, op.name))  # type: ignore[attr-defined]
    return method


for _op in api.OPERATIONS:  # every engine operation the class does not write by hand
    if _op.engine and _op.name not in vars(Client):
        setattr(Client, _op.name, _derived(_op))


def _query(params: api.Params) -> dict[str, str]:
    """A GET's query: set values only, booleans as ``1``."""
    return {k: "1" if v is True else str(v) for k, v in params.wire().items()
            if v is not None and v is not False}


def _q(ref: str) -> str:
    return quote(str(ref), safe="")


def _error(exc: HTTPClientError) -> OvermindError:
    body = exc.response.body if exc.response is not None else b""
    try:
        return from_json(json.loads(body), exc.code)
    except ValueError:
        return OvermindError(f"Overmind server answered HTTP {exc.code}: {exc.message}")


def _fetch_outcome(future: asyncio.Future) -> Exception | None:
    if future.cancelled():
        return None
    if future.exception() is not None:
        return EngineUnavailable(f"lost the connection to Overmind: {future.exception()}")
    response = future.result()
    if response.code >= 400:
        return _error(HTTPClientError(response.code, response=response))
    return None
