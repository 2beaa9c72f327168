"""A typed client of the JupyterHub REST API, for the named servers of a hub target.

Only what placement and the doctor need, after the Hub's REST API reference
(https://jupyterhub.readthedocs.io/en/stable/reference/rest-api.html):

    GET    /hub/api/                              {version}
    GET    /hub/api/user                          the token's identity: {name, kind, scopes}
    GET    /hub/api/users/{user}                  {name, servers: {name: {ready, pending, url}}}
    POST   /hub/api/users/{user}/servers/{name}   start a named server (201 started, 202 pending)
    DELETE /hub/api/users/{user}/servers/{name}   stop it; body {"remove": true} deletes it
    ANY    {server url}overmind/api/…             the server's own Overmind (``access:servers``)

Requests carry ``Authorization: token <token>``; the token never appears in an error
message. Every failure is an ``OvermindError``: ``HubUnreachable`` (no answer: connection
refused, DNS, timeout) or ``HubRefused`` (an HTTP error, with the hub's own message).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..errors import OvermindError

REQUEST_TIMEOUT_S = 20.0  # s one Hub API call may take (a spawn answers 202 well before)


class HubUnreachable(OvermindError):
    """The hub did not answer (HTTP 502 when it surfaces through Overmind's API)."""

    reason = "hub-unreachable"
    http_status = 502


class HubRefused(OvermindError):
    """The hub answered with an HTTP error; ``status`` is its code (403: the token lacks
    a scope, 400: e.g. named servers not enabled, 404: no such user or server)."""

    reason = "hub-refused"
    http_status = 502

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class HubIdentity:
    """Who the token is: hub ``name``, ``kind`` ("user" or "service") and its expanded
    ``scopes`` (e.g. ``servers!user=alice``)."""

    name: str
    kind: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class HubServer:
    """One of a user's servers: ``name`` ("" for the default one), ``ready``, ``pending``
    ("spawn", "stop" or None) and ``url`` (its path under the hub's proxy, ending in /)."""

    name: str
    ready: bool
    pending: str | None
    url: str


@dataclass(frozen=True, slots=True)
class HubUser:
    """A hub user and its servers by name."""

    name: str
    servers: dict[str, HubServer] = field(default_factory=dict)


class HubAPI:
    """The JupyterHub REST API at ``url`` (the hub's public URL, e.g.
    ``http://127.0.0.1:8000/``) with API token ``token``.

    Args:
        url: the hub's base URL (the proxy's, where ``/hub/api/`` answers).
        token: an API token (a user's or a service's); kept out of messages and reprs.
        sleep: how polling waits (``asyncio.sleep``; a fake clock's in tests).
    """

    def __init__(self, url: str, token: str,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.url = url.rstrip("/") + "/"
        self._token = token
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"HubAPI({self.url!r})"

    async def version(self) -> str:
        """The hub's JupyterHub version (``GET /hub/api/``; needs no scope)."""
        return str((await self.call("GET", "hub/api/")).get("version", "unknown"))

    async def identity(self) -> HubIdentity:
        """The token's owner and scopes (``GET /hub/api/user``)."""
        found = await self.call("GET", "hub/api/user")
        return HubIdentity(str(found.get("name", "")), str(found.get("kind", "user")),
                           frozenset(found.get("scopes") or ()))

    async def user(self, name: str) -> HubUser:
        """``name``'s servers (``GET /hub/api/users/{name}``; needs ``read:servers``)."""
        found = await self.call("GET", f"hub/api/users/{quote(name)}")
        servers = {key: HubServer(key, bool(s.get("ready")), s.get("pending"),
                                  str(s.get("url") or ""))
                   for key, s in (found.get("servers") or {}).items()}
        return HubUser(str(found.get("name", name)), servers)

    async def start_server(self, user: str, name: str) -> None:
        """Ask the hub to start ``user``'s named server ``name`` (returns once the hub
        accepted: 201 or 202; ``wait_ready`` waits for it to answer).

        Raises:
            HubRefused: e.g. 400 "Named servers are not enabled", 400 "already has the
                maximum of N named servers", 403 without the ``servers`` scope.
        """
        await self.call("POST", _server_path(user, name), {})

    async def wait_ready(self, user: str, name: str, timeout_s: float,
                         poll_s: float = 0.25) -> HubServer:
        """Poll until ``user``'s server ``name`` is ready; returns it.

        Raises:
            HubRefused: the server stopped or vanished while starting (status 0), or it was
                not ready after ``timeout_s`` seconds (status 0).
        """
        for _ in range(max(1, int(timeout_s / poll_s))):
            server = (await self.user(user)).servers.get(name)
            if server is None:
                raise HubRefused(f"{user}'s server {name!r} vanished while starting; see "
                                 "the hub's log for the spawner's error", 0)
            if server.ready:
                return server
            if server.pending is None:
                raise HubRefused(f"{user}'s server {name!r} stopped while starting; see "
                                 "the hub's log for the spawner's error", 0)
            await self._sleep(poll_s)
        raise HubRefused(f"{user}'s server {name!r} was not ready after {timeout_s:.0f} s; "
                         "raise the target's start timeout or see the hub's log", 0)

    async def stop_server(self, user: str, name: str, *, remove: bool = True) -> None:
        """Stop ``user``'s named server ``name`` (and delete it when ``remove``). A server
        that does not exist is already stopped: no error."""
        try:
            await self.call("DELETE", _server_path(user, name), {"remove": remove})
        except HubRefused as err:
            if err.status != 404:
                raise

    async def delete_server(self, user: str, name: str, timeout_s: float) -> bool:
        """Stop and delete ``user``'s server ``name`` and wait until it is gone; asked
        twice when the first request did not take (the hub refuses a stop while a start
        is pending, or a busy hub lets it time out). Whether it is gone; never raises."""
        for _ in range(2):
            with contextlib.suppress(HubRefused, HubUnreachable):
                await self.stop_server(user, name)
            with contextlib.suppress(HubRefused, HubUnreachable):
                await self.wait_gone(user, name, timeout_s / 2)
                return True
        return False

    async def wait_gone(self, user: str, name: str, timeout_s: float,
                        poll_s: float = 0.25) -> None:
        """Poll until ``user`` has no server ``name`` any more.

        Raises:
            HubRefused: it was still listed after ``timeout_s`` seconds (status 0).
        """
        for _ in range(max(1, int(timeout_s / poll_s))):
            if name not in (await self.user(user)).servers:
                return
            await self._sleep(poll_s)
        raise HubRefused(f"{user}'s server {name!r} was still there after {timeout_s:.0f} s", 0)

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request to ``path`` (relative to the hub's URL, or absolute from a server's
        ``url``); returns the decoded JSON answer ({} for an empty one).

        Raises:
            HubUnreachable: no answer.
            HubRefused: an HTTP error status.
        """
        request = HTTPRequest(
            self.url + path.lstrip("/"), method=method,
            body=None if body is None else json.dumps(body),
            headers={"Authorization": f"token {self._token}",
                     "Content-Type": "application/json"},
            request_timeout=REQUEST_TIMEOUT_S, allow_nonstandard_methods=True,
            follow_redirects=False)  # a stopped server's URL redirects to the hub's pages
        try:
            answer = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as err:
            raise _refused(method, path, err) from None
        except OSError as err:
            raise HubUnreachable(f"the hub at {self.url} did not answer ({err}); check the "
                                 "target's URL and that the hub runs") from None
        try:
            return json.loads(answer.body) if answer.body else {}
        except ValueError:
            raise HubRefused(f"{method} /{path} answered {answer.code} with no JSON (is "
                             "the server gone?)", answer.code) from None


def _server_path(user: str, name: str) -> str:
    return f"hub/api/users/{quote(user)}/servers/{quote(name)}"


def _refused(method: str, path: str, err: HTTPClientError) -> OvermindError:
    if err.code == 599:  # tornado's code for a timeout or a dropped connection
        return HubUnreachable(f"the hub did not answer {method} /{path} ({err.message}); "
                              "check that it runs")
    said = _hub_message(err)
    return HubRefused(f"the hub refused {method} /{path}: {err.code} {said}", err.code)


def _hub_message(err: HTTPClientError) -> str:
    """The hub's ``message`` from an error answer's JSON body, else the reason phrase."""
    body = err.response.body if err.response is not None else b""
    try:
        return str(json.loads(body).get("message") or err.message)
    except (ValueError, AttributeError):
        return str(err.message)
