"""A scripted external ACP agent: ``python -m overmind_jupyter.testing.acp_agent``.

Stands in for agent CLIs (Claude Code, Gemini CLI, …) in tests of the ACP runtime. It
reacts to words in the prompt text:

- ``write PATH TEXT``: writes TEXT to PATH through the client's ``fs/write_text_file``
- ``read PATH``: reads PATH through ``fs/read_text_file`` and echoes it as a message
- ``ask COMMAND``: asks permission to run COMMAND; reports the outcome as a message
- ``crash``: exits with status 3 in the middle of the turn (after a tool-call update)
- ``slow``: sleeps 30 s before answering (for cancel / stop tests)
- ``env NAME``: says whether NAME is set in its environment (never its value)
- ``shell COMMAND``: runs COMMAND with ``/bin/sh -c`` itself, as agents with their own
  shell tool do (no permission asked); answers ``shell exit N: OUTPUT``
- ``mcp TOOL JSON``: calls TOOL with the JSON arguments on the HTTP MCP server the client
  gave in ``session/new`` (it advertises ``mcpCapabilities.http``), with the MCP SDK's
  client; answers ``mcp TOOL: TEXT`` or ``mcp TOOL error: TEXT``
- anything else: answers ``echo: <text>``

Every prompt also reports one tool call (pending → completed) and ends with ``end_turn``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

from acp import (
    PROTOCOL_VERSION,
    run_agent,
    start_tool_call,
    text_block,
    tool_content,
    update_agent_message_text,
    update_tool_call,
)
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    McpCapabilities,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    ToolCallUpdate,
)


class ScriptedAcpAgent:
    """See the module docstring."""

    def __init__(self) -> None:
        self.conn: Any = None
        self.turns = 0
        self.mcp_servers: list[Any] = []

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        return InitializeResponse(protocol_version=PROTOCOL_VERSION,
                                  agent_capabilities=AgentCapabilities(
                                      load_session=False,
                                      mcp_capabilities=McpCapabilities(http=True)),
                                  agent_info=Implementation(name="scripted-acp-agent",
                                                            version="1"))

    async def new_session(self, cwd: str, mcp_servers: list[Any] | None = None,
                          **kwargs: Any) -> NewSessionResponse:
        self.cwd = cwd
        self.mcp_servers = [s for s in mcp_servers or [] if getattr(s, "type", "") == "http"]
        return NewSessionResponse(session_id=f"s{os.getpid()}")

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        return None

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        self.turns += 1
        text = " ".join(getattr(b, "text", "") for b in prompt).strip()
        words = text.split()
        call_id = f"call-{self.turns}"
        await self._say(session_id, start_tool_call(call_id, f"handle {words[0] if words else ''}",
                                                    kind="other", status="pending"))
        reply = await self._act(session_id, words, text)
        await self._say(session_id, update_tool_call(call_id, status="completed",
                                                     content=[tool_content(text_block(reply))]))
        await self._say(session_id, update_agent_message_text(reply))
        return PromptResponse(stop_reason="end_turn")

    async def _say(self, session_id: str, update: Any) -> None:
        await self.conn.session_update(session_id=session_id, update=update)

    async def _act(self, session_id: str, words: list[str], text: str) -> str:
        verb = words[0] if words else ""
        if verb == "crash":
            sys.stdout.flush()
            os._exit(3)
        if verb == "slow":
            await asyncio.sleep(30)
        if verb == "write" and len(words) >= 3:
            path = os.path.join(self.cwd, words[1])
            try:
                await self.conn.write_text_file(session_id=session_id, path=path,
                                                content=" ".join(words[2:]) + "\n")
                return f"wrote {words[1]}"
            except Exception as exc:  # the refusal is the answer under test
                return f"write refused: {exc}"
        if verb == "read" and len(words) >= 2:
            path = os.path.join(self.cwd, words[1])
            try:
                response = await self.conn.read_text_file(session_id=session_id, path=path)
                return f"read: {response.content.strip()}"
            except Exception as exc:
                return f"read refused: {exc}"
        if verb == "env" and len(words) >= 2:
            return f"{words[1]} is {'set' if os.environ.get(words[1]) else 'unset'}"
        if verb == "mcp" and len(words) >= 2:
            return await self._mcp(words[1], " ".join(words[2:]) or "{}")
        if verb == "shell":
            return _shell(" ".join(words[1:]))
        if verb == "ask":
            return await self._ask(session_id, " ".join(words[1:]))
        return f"echo: {text}"

    async def _mcp(self, tool: str, arguments: str) -> str:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client
        if not self.mcp_servers:
            return f"mcp {tool} error: no HTTP MCP server was given"
        server = self.mcp_servers[0]
        headers = {h.name: h.value for h in server.headers}
        try:
            async with create_mcp_http_client(headers=headers) as http, \
                    streamable_http_client(server.url, http_client=http) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                result = await session.call_tool(tool, json.loads(arguments))
        except Exception as exc:  # the refusal is the answer under test
            return f"mcp {tool} error: {type(exc).__name__}: {exc}"
        text = " ".join(getattr(c, "text", "") for c in result.content)
        return f"mcp {tool}{' error' if result.is_error else ''}: {text}"

    async def _ask(self, session_id: str, command: str) -> str:
        response = await self.conn.request_permission(
            session_id=session_id,
            tool_call=ToolCallUpdate(tool_call_id="perm", title=f"run {command}",
                                     kind="execute", raw_input={"command": command}),
            options=[PermissionOption(option_id="yes", name="Allow", kind="allow_once"),
                     PermissionOption(option_id="no", name="Reject", kind="reject_once")])
        outcome = response.outcome
        chosen = getattr(outcome, "option_id", None)
        return f"permission for {command}: {'allowed' if chosen == 'yes' else 'denied'}"


def _shell(command: str) -> str:
    run = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=60, check=False)
    return f"shell exit {run.returncode}: {(run.stdout + run.stderr).strip()}"


if __name__ == "__main__":
    asyncio.run(run_agent(ScriptedAcpAgent()))
