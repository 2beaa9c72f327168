"""The built-in agent's MCP tools: those of the HTTP MCP servers the client offered in
``session/new`` ``mcpServers`` (Overmind's own: ``ask_user``, ``report_progress``, the
manager tools), called with the official MCP SDK's client.

The tool list is fetched once per session, at the first prompt; a tool the built-in agent
has itself (``send_message``, ``read_messages`` over ACP) keeps its own version. Each call
opens a short Streamable HTTP exchange with the server's headers (its bearer credential);
a failure comes back to the model as an error result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ...llm.contract import ToolSpec
from .tools import ToolResult

log = logging.getLogger("overmind.agent")
ANSWER_WAIT_S = 24 * 3600.0  # s a tool call may wait for its answer (ask_user)


class McpTools:
    """The tools of the first HTTP MCP server in ``servers`` (ACP ``HttpMcpServer``s).

    Args:
        servers: ``session/new``'s ``mcpServers``; entries of other types are ignored.
        own: names of tools the agent has itself (not taken from the server).
    """

    def __init__(self, servers: Iterable[Any], own: Iterable[str] = ()) -> None:
        http = [s for s in servers or () if getattr(s, "type", "") == "http"]
        self.server = http[0] if http else None
        self.own = set(own)
        self.specs: list[ToolSpec] | None = None  # None: not listed yet

    async def list(self) -> list[ToolSpec]:
        """The server's tools as ``ToolSpec``s (fetched once; [] without a server or when
        the server cannot be reached)."""
        if self.specs is None:
            self.specs = []
            if self.server is not None:
                try:
                    listed = await self._session(lambda s: s.list_tools())
                    self.specs = [ToolSpec(t.name, t.description or t.name, t.input_schema)
                                  for t in listed.tools if t.name not in self.own]
                except Exception as exc:  # no MCP: the agent still works with its own tools
                    log.warning("MCP server %s unreachable: %s", self.server.url, exc)
        return self.specs

    def has(self, name: str) -> bool:
        """Whether ``name`` is one of the listed server tools."""
        return any(spec.name == name for spec in self.specs or ())

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call the server's tool ``name``; its text content is the result."""
        try:
            result = await self._session(lambda s: s.call_tool(name, arguments))
        except Exception as exc:
            return ToolResult(False, f"{name} failed: {type(exc).__name__}: {exc}")
        text = "\n".join(getattr(c, "text", "") for c in result.content) or "(no output)"
        return ToolResult(not result.is_error, text)

    async def _session(self, use: Any) -> Any:
        import httpx2
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client
        headers = {h.name: h.value for h in self.server.headers}
        # ask_user waits for a human: the answer may take hours, not the SDK's 300 s
        timeout = httpx2.Timeout(30.0, read=ANSWER_WAIT_S)
        async with create_mcp_http_client(headers=headers, timeout=timeout) as http, \
                streamable_http_client(self.server.url, http_client=http) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            return await use(session)
