"""REST client with the engine's interface, for kernels and the CLI.

Its methods are ``api.EngineAPI``'s, derived from ``api.OPERATIONS`` (the few the table
cannot derive are written here), so the command layer cannot tell it from the engine.
Errors the server sends as ``{"message", "reason"}`` are
raised again as the matching ``OvermindError``; a refused connection raises
``EngineUnavailable``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncGenerator, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from . import api, runtime_files
from .config import TOKEN_ENV, URL_ENV
from .errors import EngineUnavailable, OvermindError, from_json
from .events import Event
from .model import Mission, MissionSpec, mission_from_dict
from .orchestrator.questions import Question
from .runtime_files import TOKEN_HEADER

API = "overmind/api/"
LONG_POLL_S = 60.0


class Client:
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
        url, token = os.environ.get(URL_ENV), os.environ.get(TOKEN_ENV)
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

    def ensure_running(self) -> None:
        """Nothing to check here: the server's engine guards its own operations."""

    async def operate(self, op: api.Operation, ref: str | None = None, **kwargs: Any) -> Any:
        """Call ``op`` over REST with the keyword arguments of its ``EngineAPI`` method
        (``ref``: the path's ``{ref}``); returns the method's value (decoded by the
        operation's result codec).

        Raises:
            UsageError: arguments the operation does not take (before any request).
            OvermindError: what the server answered (``NotFound``, ``InvalidTransition`` …).
            EngineUnavailable: no server at ``url``.
        """
        params = op.params.of_call(**kwargs)
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

    # -- derived from api.OPERATIONS by `python -m overmind_jupyter.server.codegen` --
    async def status(self) -> dict[str, Any]:
        """``GET status``: see ``EngineAPI.status``."""
        return await self.operate(api.BY_NAME["status"])

    async def ps_stats(self, all: bool = False) -> list[dict[str, Any]]:
        """``GET missions``: see ``EngineAPI.ps_stats``."""
        return await self.operate(api.BY_NAME["ps_stats"], all=all)

    async def ps(self, all: bool = False) -> list[Mission]:
        """``GET missions``: see ``EngineAPI.ps``."""
        return await self.operate(api.BY_NAME["ps"], all=all)

    async def run(self, spec: MissionSpec) -> Mission:
        """``POST missions``: see ``EngineAPI.run``."""
        return await self.operate(api.BY_NAME["run"], spec=spec)

    async def info(self, ref: str) -> dict[str, Any]:
        """``GET missions/{ref}``: see ``EngineAPI.info``."""
        return await self.operate(api.BY_NAME["info"], ref=ref)

    async def logs(self, ref: str, tail: int | None = None) -> str:
        """``GET missions/{ref}/logs``: see ``EngineAPI.logs``."""
        return await self.operate(api.BY_NAME["logs"], ref=ref, tail=tail)

    async def send(self, ref: str, text: str) -> Mission:
        """``POST missions/{ref}/send``: see ``EngineAPI.send``."""
        return await self.operate(api.BY_NAME["send"], ref=ref, text=text)

    async def stop(self, ref: str, force: bool = False) -> Mission:
        """``POST missions/{ref}/stop``: see ``EngineAPI.stop``."""
        return await self.operate(api.BY_NAME["stop"], ref=ref, force=force)

    async def restart(self, ref: str) -> Mission:
        """``POST missions/{ref}/restart``: see ``EngineAPI.restart``."""
        return await self.operate(api.BY_NAME["restart"], ref=ref)

    async def kill(self, ref: str, cascade: bool = False, force: bool = True) -> list[Mission]:
        """``POST missions/{ref}/kill``: see ``EngineAPI.kill``."""
        return await self.operate(api.BY_NAME["kill"], ref=ref, cascade=cascade, force=force)

    async def apply(
        self,
        text: str,
        source: str,
        base_dir: str | None = None,
        name: str | None = None,
    ) -> Mission:
        """``POST blueprints``: see ``EngineAPI.apply``."""
        return await self.operate(api.BY_NAME["apply"], text=text, source=source,
            base_dir=base_dir, name=name)

    async def events(
        self,
        after: int = 0,
        limit: int = 1000,
        latest: bool = False,
        mission: str | None = None,
        objective: str | None = None,
        party: str | None = None,
    ) -> list[Event]:
        """``GET events``: see ``EngineAPI.events``."""
        return await self.operate(api.BY_NAME["events"], after=after, limit=limit, latest=latest,
            mission=mission, objective=objective, party=party)

    async def list_agents(self) -> list[dict[str, Any]]:
        """``GET agents``: see ``EngineAPI.list_agents``."""
        return await self.operate(api.BY_NAME["list_agents"])

    async def model_status(self) -> dict[str, Any]:
        """``GET model``: see ``EngineAPI.model_status``."""
        return await self.operate(api.BY_NAME["model_status"])

    async def list_questions(self) -> list[Question]:
        """``GET questions``: see ``EngineAPI.list_questions``."""
        return await self.operate(api.BY_NAME["list_questions"])

    async def needs_you(self) -> list[dict[str, Any]]:
        """``GET needs-you``: see ``EngineAPI.needs_you``."""
        return await self.operate(api.BY_NAME["needs_you"])

    async def answer(self, ref: str, text: str) -> Question:
        """``POST questions/{ref}/answer``: see ``EngineAPI.answer``."""
        return await self.operate(api.BY_NAME["answer"], ref=ref, text=text)

    async def shutdown(self) -> list[Mission]:
        """``POST shutdown``: see ``EngineAPI.shutdown``."""
        return await self.operate(api.BY_NAME["shutdown"])

    async def party_status(self) -> dict[str, Any]:
        """``GET party``: see ``EngineAPI.party_status``."""
        return await self.operate(api.BY_NAME["party_status"])

    async def host(
        self,
        name: str | None = None,
        auto_approve: Iterable[str] = (),
        auto_approve_prompts: bool = False,
        auto_merge: bool = False,
    ) -> dict[str, Any]:
        """``POST party``: see ``EngineAPI.host``."""
        return await self.operate(api.BY_NAME["host"], name=name, auto_approve=auto_approve,
            auto_approve_prompts=auto_approve_prompts, auto_merge=auto_merge)

    async def invite(self, ttl_s: float = 86400.0, role: str = 'collaborator') -> dict[str, Any]:
        """``POST party/invites``: see ``EngineAPI.invite``."""
        return await self.operate(api.BY_NAME["invite"], ttl_s=ttl_s, role=role)

    async def revoke_invite(self, ref: str) -> dict[str, Any]:
        """``POST party/invites/{ref}/revoke``: see ``EngineAPI.revoke_invite``."""
        return await self.operate(api.BY_NAME["revoke_invite"], ref=ref)

    async def member_action(self, ref: str, action: str, role: str | None = None) -> dict[str, Any]:
        """``POST party/members/{ref}``: see ``EngineAPI.member_action``."""
        return await self.operate(api.BY_NAME["member_action"], ref=ref, action=action, role=role)

    async def party_prompt(
        self,
        text: str,
        member: str | None = None,
        agent: str | None = None,
    ) -> dict[str, Any]:
        """``POST party/prompts``: see ``EngineAPI.party_prompt``."""
        return await self.operate(api.BY_NAME["party_prompt"], text=text, member=member,
            agent=agent)

    async def party_review(
        self,
        action: str,
        change: str,
        text: str | None = None,
        member: str | None = None,
    ) -> dict[str, Any]:
        """``POST party/review``: see ``EngineAPI.party_review``."""
        return await self.operate(api.BY_NAME["party_review"], action=action, change=change,
            text=text, member=member)

    async def prompt_action(
        self,
        ref: str,
        action: str,
        position: int | None = None,
    ) -> dict[str, Any]:
        """``POST party/prompts/{ref}``: see ``EngineAPI.prompt_action``."""
        return await self.operate(api.BY_NAME["prompt_action"], ref=ref, action=action,
            position=position)

    async def targets(self) -> list[dict[str, Any]]:
        """``GET targets``: see ``EngineAPI.targets``."""
        return await self.operate(api.BY_NAME["targets"])

    async def target_add(
        self,
        name: str,
        url: str,
        user: str,
        capacity: int = 2,
        token_env: str | None = None,
        doctor: bool = True,
        warm: int = 0,
    ) -> dict[str, Any]:
        """``POST targets``: see ``EngineAPI.target_add``."""
        return await self.operate(api.BY_NAME["target_add"], name=name, url=url, user=user,
            capacity=capacity, token_env=token_env, doctor=doctor, warm=warm)

    async def target_action(self, ref: str, action: str) -> dict[str, Any]:
        """``POST targets/{ref}``: see ``EngineAPI.target_action``."""
        return await self.operate(api.BY_NAME["target_action"], ref=ref, action=action)

    async def target_doctor(self, ref: str) -> dict[str, Any]:
        """``POST targets/{ref}/doctor``: see ``EngineAPI.target_doctor``."""
        return await self.operate(api.BY_NAME["target_doctor"], ref=ref)

    async def remote_receive(self, name: str, bundle: str) -> dict[str, Any]:
        """``POST remote/workspaces``: see ``EngineAPI.remote_receive``."""
        return await self.operate(api.BY_NAME["remote_receive"], name=name, bundle=bundle)

    async def remote_result(self, ref: str) -> dict[str, Any]:
        """``POST remote/workspaces/{ref}/result``: see ``EngineAPI.remote_result``."""
        return await self.operate(api.BY_NAME["remote_result"], ref=ref)

    async def remote_discard(self, ref: str) -> dict[str, Any]:
        """``POST remote/workspaces/{ref}/remove``: see ``EngineAPI.remote_discard``."""
        return await self.operate(api.BY_NAME["remote_discard"], ref=ref)

    async def join(self, invite: str, name: str) -> dict[str, Any]:
        """``POST party/join``: see ``EngineAPI.join``."""
        return await self.operate(api.BY_NAME["join"], invite=invite, name=name)

    async def leave(self, member: str | None = None) -> dict[str, Any]:
        """``POST party/leave``: see ``EngineAPI.leave``."""
        return await self.operate(api.BY_NAME["leave"], member=member)

    async def close_party(self) -> dict[str, Any]:
        """``POST party/close``: see ``EngineAPI.close_party``."""
        return await self.operate(api.BY_NAME["close_party"])

    async def prompt(
        self,
        text: str,
        agent: str | None = None,
        wait: bool = False,
        member: str = 'host',
        shared: bool = False,
        auto_merge: bool | None = None,
        max_tokens: int | None = None,
        max_cost_usd: float | None = None,
        target: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """``POST prompts``: see ``EngineAPI.prompt``."""
        return await self.operate(api.BY_NAME["prompt"], text=text, agent=agent, wait=wait,
            member=member, shared=shared, auto_merge=auto_merge, max_tokens=max_tokens,
            max_cost_usd=max_cost_usd, target=target, model=model)

    async def objectives(self) -> list[dict[str, Any]]:
        """``GET objectives``: see ``EngineAPI.objectives``."""
        return await self.operate(api.BY_NAME["objectives"])

    async def objective(self, ref: str) -> dict[str, Any]:
        """``GET objectives/{ref}``: see ``EngineAPI.objective``."""
        return await self.operate(api.BY_NAME["objective"], ref=ref)

    async def wait_objective(
        self,
        ref: str,
        timeout_s: float | None = None,
        or_question: bool = False,
    ) -> dict[str, Any]:
        """``POST objectives/{ref}/wait``: see ``EngineAPI.wait_objective``."""
        return await self.operate(api.BY_NAME["wait_objective"], ref=ref, timeout_s=timeout_s,
            or_question=or_question)

    async def cancel_objective(self, ref: str) -> dict[str, Any]:
        """``POST objectives/{ref}/cancel``: see ``EngineAPI.cancel_objective``."""
        return await self.operate(api.BY_NAME["cancel_objective"], ref=ref)

    async def messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        """``GET messages``: see ``EngineAPI.messages``."""
        return await self.operate(api.BY_NAME["messages"], recipient=recipient)

    async def send_message(self, to: str, text: str, sender: str = 'host') -> dict[str, Any]:
        """``POST messages``: see ``EngineAPI.send_message``."""
        return await self.operate(api.BY_NAME["send_message"], to=to, text=text, sender=sender)

    async def changes(self, objective: str | None = None) -> list[dict[str, Any]]:
        """``GET changes``: see ``EngineAPI.changes``."""
        return await self.operate(api.BY_NAME["changes"], objective=objective)

    async def change(self, ref: str) -> dict[str, Any]:
        """``GET changes/{ref}``: see ``EngineAPI.change``."""
        return await self.operate(api.BY_NAME["change"], ref=ref)

    async def diff(self, ref: str, path: str | None = None) -> str:
        """``GET changes/{ref}/diff``: see ``EngineAPI.diff``."""
        return await self.operate(api.BY_NAME["diff"], ref=ref, path=path)

    async def change_files(self, ref: str) -> dict[str, Any]:
        """``GET changes/{ref}/files``: see ``EngineAPI.change_files``."""
        return await self.operate(api.BY_NAME["change_files"], ref=ref)

    async def request_changes(self, ref: str, text: str, member: str = 'host') -> dict[str, Any]:
        """``POST changes/{ref}/request-changes``: see ``EngineAPI.request_changes``."""
        return await self.operate(api.BY_NAME["request_changes"], ref=ref, text=text, member=member)

    async def merge(self, ref: str) -> dict[str, Any]:
        """``POST changes/{ref}/merge``: see ``EngineAPI.merge``."""
        return await self.operate(api.BY_NAME["merge"], ref=ref)

    async def check_change(self, ref: str) -> dict[str, Any]:
        """``POST changes/{ref}/check``: see ``EngineAPI.check_change``."""
        return await self.operate(api.BY_NAME["check_change"], ref=ref)

    async def close_change(self, ref: str) -> dict[str, Any]:
        """``POST changes/{ref}/close``: see ``EngineAPI.close_change``."""
        return await self.operate(api.BY_NAME["close_change"], ref=ref)

    async def reopen_change(self, ref: str) -> dict[str, Any]:
        """``POST changes/{ref}/reopen``: see ``EngineAPI.reopen_change``."""
        return await self.operate(api.BY_NAME["reopen_change"], ref=ref)
    # -- end of the derived methods --

    # -- what the table cannot derive: raw, streamed and long-polled answers --------------
    async def ps_json(self, all: bool = False) -> str:
        """See ``Engine.ps_json``: the JSON array text, as the server built it."""
        text = await self._call("GET", "missions", query={"all": "1" if all else None},
                                raw=True)
        prefix = '{"missions":'
        if not (text.startswith(prefix) and text.endswith("}")):
            raise OvermindError("unexpected answer to GET missions")
        return text[len(prefix):-1]

    async def follow(self, ref: str, tail: int | None = 10) -> AsyncGenerator[str, None]:
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
                            ) -> AsyncGenerator[dict[str, Any], None]:
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
