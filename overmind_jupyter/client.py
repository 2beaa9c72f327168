"""REST client with the engine's interface, for kernels and the CLI.

Methods mirror ``engine.Engine`` (same names, arguments and return types) so the command
layer cannot tell them apart. Errors the server sends as ``{"message", "reason"}`` are
raised again as the matching ``OvermindError``; a refused connection raises
``EngineUnavailable``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from . import runtime_files
from .client_work import WorkClient
from .errors import EngineUnavailable, OvermindError, from_json
from .events import Event
from .model import Mission, MissionSpec, mission_from_dict
from .runtime_files import TOKEN_HEADER

API = "overmind/api/"
LONG_POLL_S = 60.0


class Client(WorkClient):
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

    # -- the engine interface ------------------------------------------------------------
    async def status(self) -> dict[str, Any]:
        """See ``Engine.status``."""
        return await self._call("GET", "status")

    async def run(self, spec: MissionSpec) -> Mission:
        """See ``Engine.run``."""
        return mission_from_dict(await self._call("POST", "missions", spec_to_body(spec)))

    async def ps(self, all: bool = False) -> list[Mission]:
        """See ``Engine.ps``."""
        data = await self._call("GET", "missions", query={"all": "1" if all else None})
        return [mission_from_dict(d) for d in data["missions"]]

    async def ps_json(self, all: bool = False) -> str:
        """See ``Engine.ps_json``: the JSON array text, as the server built it."""
        text = await self._call("GET", "missions", query={"all": "1" if all else None},
                                raw=True)
        prefix = '{"missions":'
        if not (text.startswith(prefix) and text.endswith("}")):
            raise OvermindError("unexpected answer to GET missions")
        return text[len(prefix):-1]

    async def info(self, ref: str) -> dict[str, Any]:
        """See ``Engine.info``."""
        return await self._call("GET", f"missions/{_q(ref)}")

    async def logs(self, ref: str, tail: int | None = None) -> str:
        """See ``Engine.logs``."""
        return await self._call("GET", f"missions/{_q(ref)}/logs", query={"tail": tail},
                                raw=True)

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

    async def send(self, ref: str, text: str) -> Mission:
        """See ``Engine.send``."""
        return mission_from_dict(await self._call("POST", f"missions/{_q(ref)}/send",
                                                  {"text": text}))

    async def stop(self, ref: str, force: bool = False) -> Mission:
        """See ``Engine.stop``."""
        data = await self._call("POST", f"missions/{_q(ref)}/stop", {"force": force},
                                timeout_s=self.timeout_s + 3600)
        return mission_from_dict(data)

    async def restart(self, ref: str) -> Mission:
        """See ``Engine.restart``."""
        data = await self._call("POST", f"missions/{_q(ref)}/restart", {},
                                timeout_s=self.timeout_s + 3600)
        return mission_from_dict(data)

    async def ps_stats(self, all: bool = False) -> list[dict[str, Any]]:
        """See ``Engine.ps_stats``."""
        query = {"all": "1" if all else None, "stats": "1"}
        return (await self._call("GET", "missions", query=query))["missions"]

    async def kill(self, ref: str, cascade: bool = False) -> list[Mission]:
        """See ``Engine.kill``."""
        data = await self._call("POST", f"missions/{_q(ref)}/kill", {"cascade": cascade},
                                timeout_s=self.timeout_s + 600)
        return [mission_from_dict(d) for d in data["missions"]]

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

    async def apply(self, text: str, source: str, base_dir: str | None = None,
                    name: str | None = None) -> Mission:
        """See ``Engine.apply``."""
        body = {"text": text, "source": source, "base_dir": base_dir, "name": name}
        return mission_from_dict(await self._call("POST", "blueprints", body))

    async def events(self, after: int = 0, limit: int = 1000, latest: bool = False,
                     **filters: str | None) -> list[Event]:
        """See ``Engine.events``."""
        data = await self._call("GET", "events", query={"after": after, "limit": limit,
                                                        **({"latest": 1} if latest else {}),
                                                        **filters})
        return data["events"]

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

    async def list_agents(self) -> list[dict[str, Any]]:
        """See ``Engine.list_agents``."""
        return (await self._call("GET", "agents"))["agents"]

    async def list_questions(self) -> list[dict[str, Any]]:
        """See ``Engine.list_questions`` (as JSON dicts)."""
        return (await self._call("GET", "questions"))["questions"]

    async def answer(self, ref: str, text: str) -> dict[str, Any]:
        """See ``Engine.answer`` (as a JSON dict)."""
        return await self._call("POST", f"questions/{_q(ref)}/answer", {"text": text})

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

    # -- party (see engine_party.PartyFacade) -------------------------------------------
    async def host(self, name: str | None = None, auto_approve: Iterable[str] = (),
                   auto_approve_prompts: bool = False) -> dict[str, Any]:
        """See ``Engine.host``."""
        return await self._call("POST", "party", {"name": name,
                                                  "auto_approve": list(auto_approve),
                                                  "auto_approve_prompts": auto_approve_prompts})

    async def party_status(self) -> dict[str, Any]:
        """See ``Engine.party_status``."""
        return await self._call("GET", "party")

    async def invite(self, ttl_s: float = 86_400.0, role: str = "collaborator"
                     ) -> dict[str, Any]:
        """See ``Engine.invite``."""
        return await self._call("POST", "party/invites", {"ttl_s": ttl_s, "role": role})

    async def revoke_invite(self, ref: str) -> dict[str, Any]:
        """See ``Engine.revoke_invite``."""
        return await self._call("POST", f"party/invites/{_q(ref)}/revoke", {})

    async def member_action(self, ref: str, action: str, role: str | None = None
                            ) -> dict[str, Any]:
        """See ``Engine.member_action``."""
        return await self._call("POST", f"party/members/{_q(ref)}",
                                {"action": action, "role": role})

    async def prompt_action(self, ref: str, action: str, position: int | None = None
                            ) -> dict[str, Any]:
        """See ``Engine.prompt_action``."""
        return await self._call("POST", f"party/prompts/{_q(ref)}",
                                {"action": action, "position": position})

    async def join(self, invite: str, name: str) -> dict[str, Any]:
        """See ``Engine.join``."""
        return await self._call("POST", "party/join", {"invite": invite, "name": name})

    async def party_prompt(self, text: str, member: str | None = None,
                           agent: str | None = None) -> dict[str, Any]:
        """See ``Engine.party_prompt``."""
        return await self._call("POST", "party/prompts",
                                {"text": text, "member": member, "agent": agent})

    async def leave(self, member: str | None = None) -> dict[str, Any]:
        """See ``Engine.leave``."""
        return await self._call("POST", "party/leave", {"member": member})

    async def close_party(self) -> dict[str, Any]:
        """See ``Engine.close_party``."""
        return await self._call("POST", "party/close", {})

    async def shutdown(self) -> list[Mission]:
        """See ``Engine.shutdown``; a daemon server also stops itself."""
        data = await self._call("POST", "shutdown", {}, timeout_s=self.timeout_s + 600)
        return [mission_from_dict(d) for d in data["missions"]]


def spec_to_body(spec: MissionSpec) -> dict:
    """``MissionSpec`` → JSON body of ``POST /missions`` (``server.schemas.RunBody``)."""
    r = spec.restart
    return {"command": spec.command, "name": spec.name, "cwd": spec.cwd, "env": spec.env,
            "kind": spec.kind.value, "parent": spec.parent, "agent": spec.agent,
            "restart": {"mode": r.mode.value, "max_restarts": r.max_restarts,
                        "window_s": r.window_s, "backoff_ms": r.backoff_ms, "cap_s": r.cap_s,
                        "stable_s": r.stable_s, "jitter": r.jitter},
            "activity_timeout_s": spec.activity_timeout_s, "grace_s": spec.grace_s,
            "worktree": spec.worktree}


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
