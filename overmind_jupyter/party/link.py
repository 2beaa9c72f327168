"""The guest side of a party: one engine's membership in a host's party.

``PartyLink(invite, name, on_events).join()`` posts the invite to the host
(``POST <url>overmind/party/join``), keeps the member credential in memory only (never
stored, never logged), opens the party websocket with tornado's websocket client and
says hello (protocol: ``party_wire``). Afterwards it reads frames until closed: events
go to ``on_events`` (the engine mirrors them into its own store), replies resolve
pending requests. A dropped connection is re-opened with exponential backoff (0.5 s
doubling to 30 s) and resumes after the last event seen; a refusal (kicked, denied,
left, party closed) ends the link for good, anything else is retried forever: a host
restarted on its address (``overmind start`` keeps the port) is rejoined by itself.
After a restart of this (the guest's) engine the credential is gone: join again with a
new invite.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from ..errors import EngineUnavailable, OvermindError, UsageError, from_json
from ..events import Event
from . import wire as wire
from .invites import INVITE_HEADER, Invite, Unauthorized
from .party import Forbidden
from .ratelimit import RateLimited

log = logging.getLogger("overmind.party")
REQUEST_TIMEOUT_S = 30.0
REVIEW_TIMEOUT_S = 3_600.0  # s: a merge runs the project's tests on the host
BACKOFF_S = (0.5, 30.0)  # first delay, cap (s)
_BY_REASON: dict[str, type[OvermindError]] = {"unauthorized": Unauthorized,
                                              "forbidden": Forbidden}


def error_from(body: Any, status: int = 500, retry_after: str | None = None) -> OvermindError:
    """The error a host sent as ``{message, reason}`` (party reasons included)."""
    body = body if isinstance(body, dict) else {}
    reason, message = str(body.get("reason")), str(body.get("message") or f"HTTP {status}")
    if reason == "rate-limited":
        return RateLimited(message, float(retry_after or 1))
    cls = _BY_REASON.get(reason)
    return cls(message) if cls is not None else from_json(body, status)


class PartyLink:
    """One guest membership (see the module docstring).

    Args:
        invite: the parsed invite.
        name: this member's name in the party.
        on_events: called with each batch of (already redacted) host events.

    Attributes:
        info: ``{party, member: {id, name, role, state}, host, connected, ended}``.
    """

    def __init__(self, invite: Invite, name: str,
                 on_events: Callable[[list[Event]], None]) -> None:
        self.invite, self.name, self.on_events = invite, name, on_events
        self.info: dict[str, Any] = {"host": invite.url, "connected": False, "ended": None}
        self.last_seq = 0
        self._credential = ""
        self._ws: WebSocketClientConnection | None = None
        self._task: asyncio.Task | None = None
        self._refs = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}

    def __repr__(self) -> str:
        return f"PartyLink({self.name!r} at {self.invite.url})"

    async def join(self) -> dict[str, Any]:
        """Join, connect, and keep the link alive in the background; returns ``info``.

        Raises:
            Unauthorized: the invite was refused. RateLimited: too many attempts.
            UsageError: a bad or taken name. EngineUnavailable: the host is unreachable.
        """
        request = HTTPRequest(self.invite.url + "overmind/party/join", method="POST",
                              body=json.dumps({"name": self.name}),
                              headers={INVITE_HEADER: self.invite.header,
                                       "Content-Type": "application/json"},
                              request_timeout=REQUEST_TIMEOUT_S)
        answer = await _fetch(request)
        self._credential = answer.pop("credential")
        self.info.update(party=answer["party"], member=answer["member"])
        await self._connect()
        self._task = asyncio.ensure_future(self._run())
        return dict(self.info)

    async def _connect(self) -> None:
        url = "ws" + self.invite.url[4:] + "overmind/party/ws"
        try:
            self._ws = await websocket_connect(HTTPRequest(url, request_timeout=REQUEST_TIMEOUT_S),
                                               ping_interval=20, ping_timeout=60,
                                               max_message_size=64 * 1024 * 1024)
        except HTTPClientError as exc:
            raise _http_error(exc) from None
        except OSError as exc:
            raise EngineUnavailable(f"cannot reach the party at {self.invite.url}: {exc}") \
                from None
        await self._ws.write_message(wire.frame("hello", credential=self._credential,
                                                after=self.last_seq))
        first = await self._read()
        if first is None or first.get("type") != "welcome":
            raise error_from(first or {"message": "the host closed the party connection",
                                       "reason": "unauthorized"})
        self.info.update(party=first["party"], member=first["member"], connected=True)

    async def _read(self) -> dict[str, Any] | None:
        assert self._ws is not None
        message = await self._ws.read_message()
        return None if message is None else json.loads(message)

    async def _run(self) -> None:
        delay = BACKOFF_S[0]
        while True:
            with contextlib.suppress(OSError, OvermindError):
                await self._pump()
            code = self._ws.close_code if self._ws is not None else None
            self._fail_waiting(EngineUnavailable("the party connection dropped; try again"))
            if code in wire.FINAL_CLOSE_CODES:
                self.info.update(connected=False, ended=self._ws.close_reason or "ended")
                return
            self.info["connected"] = False
            if self._ws is not None:  # a failed reconnect must not pump the old socket
                self._ws.close()  # again: reading a closed one waits forever
                self._ws = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_S[1])
            try:
                await self._connect()
                delay = BACKOFF_S[0]
            except (OSError, OvermindError):
                pass  # the host is still away: try again after the delay
            except Exception:  # e.g. the socket closed mid-handshake: never end the loop
                log.warning("%r: reconnect failed; retrying", self, exc_info=True)

    async def _pump(self) -> None:
        while self._ws is not None and (msg := await self._read()) is not None:
            self._dispatch(msg)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "events" and msg["events"]:
            self.last_seq = msg["events"][-1]["seq"]
            self._follow_own_member(msg["events"])
            self.on_events(msg["events"])
        elif kind == "welcome":
            self.info.update(party=msg["party"], member=msg["member"])
        elif kind in ("reply", "pong", "error") and msg.get("ref") in self._waiting:
            future = self._waiting.pop(msg["ref"])
            if not future.done():
                future.set_result(msg)
        elif kind == "error":
            log.info("party %s: %s", self.invite.url, msg.get("message"))

    def _follow_own_member(self, events: list[dict[str, Any]]) -> None:
        """Keep ``info["member"]`` current: the host may change this member's role."""
        me = (self.info.get("member") or {}).get("id")
        for e in events:
            d = e.get("data") or {}
            if e.get("type", "").startswith("member-") and me and d.get("member") == me:
                self.info["member"] = {**self.info["member"], "role": d.get("role"),
                                       "state": d.get("state")}

    async def request(self, type_: str, timeout_s: float = REQUEST_TIMEOUT_S,
                      **fields: Any) -> Any:
        """Send one request frame and return its reply's ``data`` (within ``timeout_s``).

        Raises:
            OvermindError subclasses the host answered with (``Forbidden`` …);
            EngineUnavailable: not connected, or no answer in ``REQUEST_TIMEOUT_S``.
        """
        if self._ws is None or not self.info["connected"]:
            why = self.info["ended"] or "reconnecting"
            raise EngineUnavailable(f"not connected to the party ({why})")
        ref = next(self._refs)
        future = self._waiting[ref] = asyncio.get_running_loop().create_future()
        await self._ws.write_message(wire.frame(type_, ref=ref, **fields))
        try:
            answer = await asyncio.wait_for(future, timeout_s)
        except asyncio.TimeoutError:
            raise EngineUnavailable("the party host did not answer in time") from None
        finally:
            self._waiting.pop(ref, None)
        if answer["type"] == "error":
            raise error_from(answer)
        return answer.get("data")

    async def review(self, action: str, change: str, text: str | None = None) -> Any:
        """As a reviewer of the party: ``merge``, ``close-change`` or ``request-changes``
        (with ``text``) a change of an objective this member follows; the host's answer
        (a merge waits for the project's tests, up to ``REVIEW_TIMEOUT_S``).

        Raises:
            Forbidden: not a reviewer. NotFound: no such change among those it follows.
            UsageError: a merged or closed change, an empty request.
        """
        return await self.request(action, timeout_s=REVIEW_TIMEOUT_S, change=change,
                                  text=text)

    async def prompt(self, text: str, agent: str | None = None) -> dict[str, Any]:
        """Submit a prompt (``agent``: one of the host's agents, None: its default);
        returns it as queued by the host.

        Raises:
            UsageError: no text, or the host does not have ``agent``. Forbidden: a viewer.
        """
        if not text.strip():
            raise UsageError("a prompt needs some text")
        return await self.request("prompt", text=text,
                                  **({"agent": agent} if agent is not None else {}))

    async def status(self) -> dict[str, Any]:
        """``info`` plus the host's view for this member (if connected), or in
        ``view_error`` why the host would not show it (e.g. still awaiting approval)."""
        view, error = None, None
        if self.info["connected"]:
            try:
                view = await self.request("status")
            except OvermindError as exc:  # the link itself is fine: report, do not fail
                error = exc.message
        return {**self.info, "name": self.name, "view": view, "view_error": error}

    async def leave(self) -> dict[str, Any]:
        """Tell the host this member leaves, then close."""
        with contextlib.suppress(OvermindError):
            await self.request("leave")
        self.close()
        return {**self.info, "ended": "left"}

    def close(self) -> None:
        """Stop the link (no reconnect); the credential is forgotten."""
        if self._task is not None:
            self._task.cancel()
        if self._ws is not None:
            self._ws.close()
        self._credential = ""
        self.info.update(connected=False, ended=self.info["ended"] or "closed")
        self._fail_waiting(EngineUnavailable("the party link was closed"))

    def _fail_waiting(self, exc: OvermindError) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_result({"type": "error", **exc.to_json()})
        self._waiting.clear()


async def _fetch(request: HTTPRequest) -> dict[str, Any]:
    try:
        response = await AsyncHTTPClient().fetch(request)
    except HTTPClientError as exc:
        raise _http_error(exc) from None
    except OSError as exc:
        raise EngineUnavailable(f"cannot reach the party host ({exc}); check the invite's "
                                "address") from None
    return json.loads(response.body)


def _http_error(exc: HTTPClientError) -> OvermindError:
    response = exc.response
    try:
        body = json.loads(response.body) if response is not None else {}
    except ValueError:
        body = {}
    retry = response.headers.get("Retry-After") if response is not None else None
    return error_from(body, exc.code, retry)
