"""Party endpoints of guests (``GUEST_ROUTES``); the host's ``party…`` routes come from
the operation table (``server/routes.py``).

Guest endpoints live under ``<base_url>overmind/party/``: the only routes a guest reaches.

Guests are never Jupyter users. These handlers are ``@allow_unauthenticated`` for
Jupyter and check party credentials themselves; they never read the Jupyter user or a
cookie, and never set one. Routes (relative to ``overmind/party/``):

- ``POST join`` — header ``X-Overmind-Invite: <code>.<secret>``, body ``{"name"}`` →
  201 ``{party, member: {id, name, role, state}, credential}``; the credential
  (``<member id>.<secret>``) is shown once (``Cache-Control: no-store``).
- ``GET status`` — header ``X-Overmind-Credential`` → the member's view of the party.
- ``GET ws`` — the party websocket (protocol in ``party/wire.py``).

Every call is rate limited (``ratelimit.AuthGuard``): join attempts per client address
and overall; failed credential checks per address, blocking that address (429 with
``Retry-After``) after a few; accepted ones per credential. No budget a valid credential
needs is shared with other addresses, so nobody's failures lock out an approved guest.
Origin: a REST call from a browser page of another origin is refused (Jupyter's rule
for API handlers, and a custom header forces a CORS preflight we never grant); the
websocket accepts any Origin at the upgrade but nothing flows before a valid credential
arrives in its first frame, so a foreign page without a credential gets nothing (no
ambient cookie is consulted).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..api import GuestJoinBody
from ..errors import NotAvailable, NotFound, OvermindError
from ..model import PromptOptions
from ..party import wire as wire
from ..party.invites import CREDENTIAL_HEADER, INVITE_HEADER, Unauthorized
from ..party.party import Party
from ..party.ratelimit import AuthGuard, RateLimited
from ..party.view import event_view, member_row, prompt_view
from ..party.watch import Watch
from ..store.records import only
from .base import OvermindHandler, endpoint
from .events_ws import EventStream

log = logging.getLogger("overmind.party")
GUARD_SETTING = "overmind_party_guard"


def guard_of(settings: dict[str, Any]) -> AuthGuard:
    """The server's ``AuthGuard`` (created on first use; tests put their own in)."""
    return settings.setdefault(GUARD_SETTING, AuthGuard())


class GuestHandler(OvermindHandler):
    """Base of the guest REST endpoints: no Jupyter authentication; party credentials."""

    async def prepare(self, **kwargs: Any) -> None:
        """Jupyter's API checks (host header, Origin) without any login."""
        await APIHandler.prepare(self)  # not OvermindAuth.prepare: guests are not users

    def check_xsrf_cookie(self) -> None:
        """Credentials come in headers only, never from cookies: nothing to forge."""

    @property
    def party(self) -> Party:
        """The engine's party."""
        return self.engine.party

    def guarded(self, check: Callable[[str], None]) -> None:
        """Run a rate-limit check for this client; 429 + ``Retry-After`` when over."""
        try:
            check(self.request.remote_ip or "?")
        except RateLimited as exc:
            self.set_header("Retry-After", exc.retry_after_header)
            raise

    def failed(self) -> None:
        """Count a failed credential check of this client."""
        guard_of(self.settings).failed(self.request.remote_ip or "?")


class JoinHandler(GuestHandler):
    """``POST join``: a guest joins with an invite."""

    @endpoint
    async def post(self) -> None:
        self.guarded(guard_of(self.settings).before_join)
        body = self.body(GuestJoinBody)
        try:
            member, credential = self.party.join(self.request.headers.get(INVITE_HEADER, ""),
                                                 body.name)
        except Unauthorized:
            self.failed()
            raise
        self.set_header("Cache-Control", "no-store")
        party = self.party.require()
        self.send_json({"party": {"id": party.id, "name": party.data.name},
                        "member": member_row(member), "credential": credential}, 201)


class GuestStatusHandler(GuestHandler):
    """``GET status``: the member's view of the party."""

    @endpoint
    async def get(self) -> None:
        self.guarded(guard_of(self.settings).before_check)
        try:
            member = self.party.authenticate(self.request.headers.get(CREDENTIAL_HEADER, ""))
        except Unauthorized:
            self.failed()
            raise
        self.guarded(lambda _address: guard_of(self.settings).accepted(member.id))
        self.send_json(self.party.guest_status(member.id))


class PartySocket(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """The party websocket of one guest (see ``party_wire`` for the protocol)."""

    member_id: str | None = None
    stream: EventStream | None = None
    task: asyncio.Task | None = None
    _detach: Callable[[], None] | None = None
    _hello_timer: asyncio.TimerHandle | None = None
    _reviews: set[asyncio.Task[None]] | None = None  # review frames being answered

    @property
    def max_message_size(self) -> int:
        """Frames above ``party_wire.MAX_FRAME_BYTES`` close the socket (1009)."""
        return wire.MAX_FRAME_BYTES

    @property
    def party(self) -> Party:
        """The engine's party."""
        return self.settings["overmind_engine"].party

    def check_origin(self, origin: str | None = None) -> bool:
        """Any Origin may open the socket; nothing flows before a valid credential
        arrives in the first frame (and no cookie is ever consulted)."""
        return True

    def check_xsrf_cookie(self) -> None:
        """No cookie-based credential here: nothing to forge."""

    @allow_unauthenticated  # the party credential is checked in the first frame
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Refuse rate-limited addresses before the upgrade (429), then upgrade."""
        try:
            guard_of(self.settings).before_check(self.request.remote_ip or "?")
        except RateLimited as exc:
            self.set_status(429)
            self.set_header("Retry-After", exc.retry_after_header)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(exc.to_json()))
            return
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Wait for the hello frame (at most ``HELLO_TIMEOUT_S``)."""
        super().open(*args, **kwargs)
        self.set_nodelay(True)
        self._hello_timer = asyncio.get_running_loop().call_later(
            wire.HELLO_TIMEOUT_S, self.close, wire.CLOSE_NO_HELLO, "no hello frame")

    async def on_message(self, message: str | bytes) -> None:
        """The hello first; then requests, each checked against the sender's role."""
        ref = None
        try:
            if self.member_id is None:
                await self._hello(message)
                return
            request = wire.parse(message)
            ref = request.ref
            if request.type == "ping":
                self._write(wire.frame("pong", ref=ref))
                return
            if request.type in wire.REVIEW:  # a merge runs the tests: later frames go on
                self.party.require_role(self.member_id, "reviewer",
                                        wire.ACTION_WORDS[request.type])
                self._start_review(request)
                return
            self._write(wire.frame("reply", ref=ref, data=self._answer(request)))
            if request.type == "leave":
                self.close(wire.CLOSE_REMOVED, "left the party")
        except OvermindError as exc:
            self._write(wire.frame("error", ref=ref, **exc.to_json()))

    async def _hello(self, message: str | bytes) -> None:
        address = self.request.remote_ip or "?"
        guard = guard_of(self.settings)
        try:
            guard.before_check(address)
            hello = wire.parse(message, wire.Hello)
            member = self.party.authenticate(hello.credential)
            guard.accepted(member.id)
        except OvermindError as exc:
            if not isinstance(exc, RateLimited):
                guard.failed(address)
            self._write(wire.frame("error", **exc.to_json()))
            code = wire.CLOSE_LIMITED if isinstance(exc, RateLimited) else wire.CLOSE_REFUSED
            self.close(code, exc.reason)
            return
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        self.member_id = member.id
        self._detach = self.party.attach(member.id, self._removed)
        self._welcome(member)
        self.task = asyncio.ensure_future(self._deliver(hello.after))

    def _welcome(self, member: Any) -> None:
        party = self.party.require()
        self._write(wire.frame("welcome", party={"id": party.id, "name": party.data.name,
                                                 "state": party.state},
                               member=member_row(member)))

    async def _deliver(self, after: int) -> None:
        """Once approved: the party's events after ``after``, redacted for this member."""
        try:
            pending = self.party.records.get("member", self.member_id).state == "pending"
            member = await self.party.admitted(self.member_id)
        except OvermindError:
            return  # denied or gone: _removed closes the socket
        if pending:
            self._welcome(member)
        engine = self.settings["overmind_engine"]
        watch = Watch(self.party.records, member.parent, member.id)  # party + its objectives
        self.stream = EventStream(engine, watch, self._send_events)
        await self.stream.run(after)

    async def _send_events(self, text: str) -> None:
        events = [shown for e in json.loads(text)["events"]
                  if (shown := event_view(e, self.member_id)) is not None]
        if events:
            self._write(wire.frame("events", events=events))

    def _start_review(self, request: wire.Request) -> None:
        task = asyncio.ensure_future(self._review(request))
        self._reviews = self._reviews or set()
        self._reviews.add(task)
        task.add_done_callback(self._reviews.discard)

    async def _review(self, request: wire.Request) -> None:
        """A reviewer's ``merge`` / ``close-change`` / ``request-changes`` of a change of
        an objective it follows (others are not found, as if they did not exist)."""
        try:
            self._write(wire.frame("reply", ref=request.ref, data=await self._reviewed(
                request)))
        except OvermindError as exc:
            self._write(wire.frame("error", ref=request.ref, **exc.to_json()))

    async def _reviewed(self, request: wire.Request) -> Any:
        assert self.member_id is not None
        engine = self.settings["overmind_engine"]
        member = self.party.require_role(self.member_id, "reviewer",
                                         wire.ACTION_WORDS[request.type])
        followed = Watch(self.party.records, member.parent, member.id).objectives
        ref = request.change or ""
        found = [c for c in engine.review.changes_.list(None)
                 if ref and c.id.startswith(ref) and c.parent in followed]
        if not found:  # the same answer whether it exists elsewhere or not at all
            raise NotFound(f"no change {ref[:64]!r} among the objectives you follow")
        change = only(found, "change", ref, "overmind party status")
        if request.type == "merge":
            return await engine.review.merge(change.id)
        if request.type == "close-change":
            return await engine.review.close_change(change.id, by=member.data.name)
        return await engine.review.request_changes(change.id, request.text or "",
                                                   member.data.name)

    def _answer(self, request: wire.Request) -> Any:
        role = wire.REQUIRED_ROLE.get(request.type)
        if role is None:
            raise OvermindError(f"unknown frame type {request.type[:40]!r}; see "
                                "party_wire for the protocol")
        self.party.require_role(self.member_id, role, wire.ACTION_WORDS[request.type])
        if request.type == "status":
            return self.party.guest_status(self.member_id)
        if request.type == "prompt":
            rec = self.party.submit_prompt(self.member_id, request.text or "",
                                           PromptOptions(request.agent))
            return prompt_view(rec, self.member_id)
        if request.type == "leave":
            return member_row(self.party.leave(self.member_id))
        raise NotAvailable("host actions go through the host's REST API")  # host role only

    def _removed(self, why: str) -> None:
        self._write(wire.frame("error", message=why, reason="removed"))
        self.close(wire.CLOSE_REMOVED, why[:100])

    def _write(self, text: str) -> None:
        try:
            self.write_message(text)
        except WebSocketClosedError:
            self.on_close()

    def on_close(self) -> None:
        """Stop the delivery and forget the connection."""
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        if self.stream is not None:
            self.stream.close()
        if self.task is not None and self.stream is None:
            self.task.cancel()  # still waiting for approval
        if self._detach is not None:
            self._detach()


GUEST_ROUTES = [("join", JoinHandler), ("status", GuestStatusHandler), ("ws", PartySocket)]
