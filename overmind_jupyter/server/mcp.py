"""Overmind's tools over MCP (Streamable HTTP) at ``<base_url>overmind/mcp``.

Built on the official MCP Python SDK (``mcp``): an ``MCPServer`` whose tools act for the
mission holding the bearer credential (``agents.mcp_access``; the SDK's bearer middleware
answers 401 to a missing or unknown one). Tools for every agent: ``ask_user`` (a question
to the host; waits for the answer), ``send_message`` / ``read_messages`` (the mailbox),
``report_progress`` (an ``agent-progress`` event); for a ``manager`` credential also
``spawn_task`` (a worker agent in its own worktree, same objective), ``cancel_task`` and
``mark_objective_done``. Every tool stays inside the credential's objective: a message to,
or a cancel of, a mission of another objective is refused.

Mounting: jupyter-server is tornado, not ASGI, so ``McpHandler`` (a Jupyter API handler,
``@allow_unauthenticated`` for Jupyter since agents are not Jupyter users) hands each
request to the SDK's Starlette app through a minimal ASGI bridge (one request body in,
status/headers/body chunks out, flushed as they come). The SDK runs stateless with JSON
responses (``stateless_http=True, json_response=True``): no session state survives a
request, so nothing leaks between missions and a server restart loses nothing. The
session manager's task group runs for the extension's lifetime (``McpEndpoint.start``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

from .._version import __version__
from ..agents.mcp_access import OBJECTIVE_ENV, McpAccess, McpGrant, McpRole
from ..errors import OvermindError
from ..model import Mission, MissionKind, MissionSpec

if TYPE_CHECKING:
    from ..engine import Engine

log = logging.getLogger("overmind.mcp")
PATH = "/mcp"  # inside the SDK's app; the handler sits at <base_url>overmind/mcp
MANAGER_TOOLS = ("spawn_task", "cancel_task", "mark_objective_done")


class _Verifier:
    """The SDK's ``TokenVerifier``: a mission credential → an ``AccessToken`` whose
    ``client_id`` is the mission id and ``claims`` carry the grant."""

    def __init__(self, access: McpAccess) -> None:
        self.access = access

    async def verify_token(self, token: str) -> AccessToken | None:
        grant = self.access.verify(token)
        if grant is None:
            return None
        return AccessToken(token="", client_id=grant.mission_id, scopes=[grant.role.value],
                           claims={"grant": grant})


def _grant() -> McpGrant:
    token = get_access_token()
    if token is None or not token.claims or "grant" not in token.claims:
        raise ToolError("no Overmind credential on this request")
    return token.claims["grant"]


def _manager() -> tuple[McpGrant, str]:
    """The calling manager's grant and the objective it serves."""
    grant = _grant()
    if grant.role is not McpRole.MANAGER:
        raise ToolError("only a manager agent may use this tool")
    if grant.objective is None:
        raise ToolError("this manager serves no objective")
    return grant, grant.objective


def _objective_of(m: Mission) -> str | None:
    return m.env.get(OBJECTIVE_ENV) or None


def build_server(engine: Engine) -> MCPServer:
    """The MCP server whose tools act on ``engine`` for the calling mission."""
    server = MCPServer("overmind", version=__version__, token_verifier=_Verifier(engine.mcp),
                       auth=AuthSettings(issuer_url="http://127.0.0.1/",
                                         resource_server_url="http://127.0.0.1/overmind/mcp",
                                         validate_token_resource=False),  # ours, opaque
                       instructions="Overmind's team tools: ask the host, message your team, "
                                    "report progress.")

    @server.tool()
    async def ask_user(question: str, options: list[str] | None = None) -> str:
        """Ask the host a question and wait for the answer (the answer text)."""
        grant = _grant()
        return await engine.questions.ask(
            "clarification", f"{grant.mission_name} asks: {question}",
            mission=grant.mission_id, objective=grant.objective, options=tuple(options or ()))

    @server.tool()
    async def send_message(to: str, text: str) -> str:
        """Send a message to another agent of your objective (its task name) or to the
        host (``host``); returns the message id."""
        grant = _grant()
        if to != "host" and not _same_objective(engine, grant, to):
            raise ToolError(f"no agent named {to!r} works on your objective")
        try:
            rec = engine.mailbox.send(grant.mission_name, to, text, objective=grant.objective,
                                      mission=grant.mission_id)
        except OvermindError as exc:
            raise ToolError(exc.message) from None
        return rec.id

    @server.tool()
    async def read_messages() -> list[dict[str, str]]:
        """The unread messages sent to you (then marked read): ``[{id, sender, text}]``."""
        grant = _grant()
        names = (grant.mission_name, grant.mission_name.rsplit("-", 1)[0])
        return [{"id": r.id, "sender": r.data.sender, "text": r.data.text}
                for r in engine.mailbox.inbox(names)]

    @server.tool()
    async def report_progress(text: str, percent: float | None = None) -> str:
        """Tell the team how far you are (``percent`` in 0..100, optional)."""
        grant = _grant()
        if percent is not None and not 0 <= percent <= 100:
            raise ToolError("percent must be between 0 and 100")
        engine.missions.store.append_event(
            "agent-progress", {"text": text[:2000], "percent": percent},
            mission=grant.mission_id, objective=grant.objective)
        return "recorded"

    _manager_tools(server, engine)
    return server


def _manager_tools(server: MCPServer, engine: Engine) -> None:
    @server.tool()
    async def spawn_task(name: str, prompt: str, agent: str | None = None) -> dict[str, str]:
        """(manager) Start a worker agent on ``prompt`` in its own worktree, for your
        objective; returns ``{id, name}`` of its mission."""
        grant, objective = _manager()
        spec = MissionSpec(prompt.split(), name=name, kind=MissionKind.AGENT, agent=agent,
                           parent=grant.mission_id, worktree=True,
                           env={OBJECTIVE_ENV: objective})
        try:
            m = await engine.run(spec)
        except OvermindError as exc:
            raise ToolError(exc.message) from None
        return {"id": m.id, "name": m.name}

    @server.tool()
    async def cancel_task(mission: str) -> str:
        """(manager) Stop a mission of your objective (id, id prefix or name)."""
        _, objective = _manager()
        target = _resolve(engine, mission)
        if _objective_of(target) != objective:
            raise ToolError(f"{mission} is not part of your objective")
        await engine.stop(target.id)
        return f"{target.name} stopped"

    @server.tool()
    async def mark_objective_done(summary: str) -> str:
        """(manager) Declare your objective done, with a summary for the host."""
        _, objective = _manager()
        try:
            engine.orchestrator.set_state(objective, "done", summary[:500])
        except OvermindError as exc:
            raise ToolError(exc.message) from None
        return f"objective {objective} is done"


def _resolve(engine: Engine, ref: str) -> Mission:
    try:
        return engine.resolve(ref)
    except OvermindError as exc:
        raise ToolError(exc.message) from None


def _same_objective(engine: Engine, grant: McpGrant, name: str) -> bool:
    """Whether a mission named ``name`` (or of task ``name``) serves the grant's objective."""
    return any(_objective_of(m) == grant.objective
               for m in engine.missions.store.missions(live_only=False)
               if name in (m.name, m.name.rsplit("-", 1)[0]))


class McpEndpoint:
    """The SDK app and the lifetime of its session manager (one per server)."""

    def __init__(self, engine: Engine) -> None:
        self.server = build_server(engine)
        # Jupyter's own host checks run first (APIHandler.prepare); the SDK's DNS
        # rebinding check would only repeat them with a fixed host list
        self.app = self.server.streamable_http_app(
            streamable_http_path=PATH, stateless_http=True, json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    def start(self) -> None:
        """Run the session manager in a task until ``stop``."""
        self._task = asyncio.get_running_loop().create_task(self._serve(), name="overmind-mcp")

    async def _serve(self) -> None:
        async with self.server.session_manager.run():
            self.ready.set()
            await self._stop.wait()

    async def stop(self) -> None:
        """End the session manager (requests in flight are cancelled)."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5)


class McpHandler(APIHandler):
    """``GET/POST/DELETE <base_url>overmind/mcp``: the SDK's Streamable HTTP app."""

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self._closed = asyncio.Event()

    def check_xsrf_cookie(self) -> None:
        """The credential is a bearer header, never a cookie: nothing to forge."""

    def on_connection_close(self) -> None:
        self._closed.set()

    @allow_unauthenticated  # agents are not Jupyter users; the SDK checks their bearer
    async def get(self) -> None:
        await self._asgi()

    @allow_unauthenticated
    async def post(self) -> None:
        await self._asgi()

    @allow_unauthenticated
    async def delete(self) -> None:
        await self._asgi()

    async def _asgi(self) -> None:
        endpoint: McpEndpoint | None = self.settings.get("overmind_mcp")
        if endpoint is None:
            self.set_status(503)
            self.finish({"message": "Overmind's MCP endpoint is not running", "reason": "mcp"})
            return
        await endpoint.ready.wait()
        await endpoint.app(self._scope(), self._receive_once(), self._send)
        if not self._finished:
            self.finish()

    def _scope(self) -> dict[str, Any]:
        req = self.request
        host, _, port = (req.host or "127.0.0.1").rpartition(":")
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": req.method, "scheme": req.protocol, "path": PATH,
                "raw_path": PATH.encode(), "query_string": req.query.encode("latin-1"),
                "root_path": "", "client": (req.remote_ip or "", 0),
                "server": (host or req.host, int(port) if port.isdigit() else 80),
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                            for k, v in req.headers.get_all()]}

    def _receive_once(self):
        body = [self.request.body or b""]

        async def receive() -> dict[str, Any]:
            if body:
                return {"type": "http.request", "body": body.pop(), "more_body": False}
            await self._closed.wait()
            return {"type": "http.disconnect"}
        return receive

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.set_status(message["status"])
            self.clear_header("Content-Type")
            for key, value in message.get("headers", []):
                self.add_header(key.decode("latin-1"), value.decode("latin-1"))
        elif message["type"] == "http.response.body" and not self._finished:
            if message.get("body"):
                self.write(message["body"])
                await self.flush()
            if not message.get("more_body"):
                self.finish()
