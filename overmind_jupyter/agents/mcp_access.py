"""Credentials for Overmind's MCP endpoint: one per agent mission, scoped to its objective.

When an agent opens its ACP session, ``McpAccess.servers`` issues a fresh bearer token for
the mission and describes the endpoint as an ACP ``HttpMcpServer`` entry of ``session/new``
``mcpServers`` (ACP schema: ``{type: "http", name, url, headers}``), given only to agents
whose ``initialize`` response advertises ``mcpCapabilities.http``. The server side
(``server/mcp.py``) resolves a token back to its ``McpGrant`` with ``verify``.

Only SHA-256 digests of tokens are kept (security.md: store hashes of secrets); a token
lives until its mission ends (``revoke``) or the engine stops (kept in memory only: a
re-adopted agent gets a new one at its next session). The objective a mission serves is
``OVERMIND_OBJECTIVE`` in its environment (set by the task runner); the role is
``manager`` when ``OVERMIND_ROLE=manager`` (set by the host), else ``worker``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from acp.schema import HttpHeader, HttpMcpServer

from ..config import OBJECTIVE_ENV, ROLE_ENV
from ..model import Mission

SERVER_NAME = "overmind"
# the tools ``server/mcp.py`` serves (its test checks they match)
TOOLS = frozenset({"ask_user", "send_message", "read_messages", "report_progress",
                   "spawn_task", "cancel_task", "mark_objective_done"})
OBJECTIVE_ENV = OBJECTIVE_ENV
ROLE_ENV = ROLE_ENV


class McpRole(str, Enum):
    """What a credential may do: ``worker`` tools, or also the ``manager`` tools."""

    WORKER = "worker"
    MANAGER = "manager"


@dataclass(frozen=True, slots=True)
class McpGrant:
    """Who holds a credential: the mission (id and name), its objective (None for a
    mission outside any objective) and its role."""

    mission_id: str
    mission_name: str
    objective: str | None
    role: McpRole


class McpAccess:
    """Issues and checks the per-mission credentials of one engine.

    Args:
        url: returns the endpoint's absolute URL (e.g. ``http://127.0.0.1:8888/overmind/mcp``),
            or None where no server runs (embedded/local engines offer no MCP endpoint).
    """

    def __init__(self, url: Callable[[], str | None] = lambda: None) -> None:
        self.url = url
        self._grants: dict[bytes, McpGrant] = {}  # sha256(token) → grant

    def issue(self, m: Mission) -> str:
        """A new token for ``m`` (its earlier ones are revoked)."""
        self.revoke(m.id)
        token = secrets.token_urlsafe(32)
        role = McpRole.MANAGER if m.env.get(ROLE_ENV) == McpRole.MANAGER.value \
            else McpRole.WORKER
        self._grants[_digest(token)] = McpGrant(m.id, m.name, m.env.get(OBJECTIVE_ENV) or None,
                                                role)
        return token

    def verify(self, token: str) -> McpGrant | None:
        """The grant of ``token``, or None for an unknown or revoked one."""
        return self._grants.get(_digest(token)) if token else None

    def revoke(self, mission_id: str) -> None:
        """Invalidate every token of the mission (it ended, or got a new one)."""
        for key in [k for k, g in self._grants.items() if g.mission_id == mission_id]:
            del self._grants[key]

    def servers(self, m: Mission, agent_supports_http: bool) -> list[HttpMcpServer]:
        """The ``mcpServers`` of ``m``'s ``session/new``: the endpoint with a fresh
        credential, or [] when there is no endpoint or the agent cannot use HTTP MCP."""
        url = self.url()
        if not url or not agent_supports_http:
            return []
        header = HttpHeader(name="Authorization", value=f"Bearer {self.issue(m)}")
        return [HttpMcpServer(type="http", name=SERVER_NAME, url=url, headers=[header])]


def own_tool(title: str | None) -> str | None:
    """The Overmind tool a permission request's tool-call ``title`` names, or None.

    Agents name an MCP server's tools their own way: Claude Code
    ``mcp__overmind__ask_user`` (seen on the wire), Gemini CLI its display name
    ``ask_user (overmind MCP Server)`` (gemini-cli 0.61 source), others ``overmind__…``.
    """
    text = (title or "").strip()
    for prefix in (f"mcp__{SERVER_NAME}__", f"{SERVER_NAME}__"):
        if text.startswith(prefix) and text[len(prefix):] in TOOLS:
            return text[len(prefix):]
    name, _, rest = text.partition(" ")
    return name if name in TOOLS and rest == f"({SERVER_NAME} MCP Server)" else None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()
