"""A scripted external ACP agent: ``python -m overmind_jupyter.testing.acp_agent [--like
NAME] [--ignore-eof]``.

Stands in for agent CLIs (Claude Code, Gemini CLI, …) in tests of the ACP runtime. It
reacts to words in the prompt text:

- ``write PATH TEXT``: writes TEXT to PATH through the client's ``fs/write_text_file``
- ``read PATH``: reads PATH through ``fs/read_text_file`` and echoes it as a message
  (a refusal is echoed with its JSON-RPC error code)
- ``ask COMMAND``: asks permission to run COMMAND; reports the kind of the chosen option
  (``allow_once``, ``allow_always``, ``reject_once`` …, or ``cancelled``)
- ``crash``: exits with status 3 in the middle of the turn (after a tool-call update)
- ``fail``: answers the prompt with a JSON-RPC error (a turn that errored, e.g. the
  model's API failed)
- ``slow``: waits 30 s before answering, or ends ``cancelled`` on ``session/cancel``
- ``env NAME``: says whether NAME is set in its environment (never its value)
- ``shell COMMAND``: runs COMMAND with ``/bin/sh -c`` itself, as agents with their own
  shell tool do (no permission asked); answers ``shell exit N: OUTPUT``
- ``mcp TOOL JSON``: calls TOOL with the JSON arguments on the HTTP MCP server the client
  gave in ``session/new`` (it advertises ``mcpCapabilities.http``), with the MCP SDK's
  client; answers ``mcp TOOL: TEXT`` or ``mcp TOOL error: TEXT``
- ``mode``: says the session's current mode
- anything else: answers ``echo: <text>``

Every prompt also reports one tool call (pending → completed) and ends with ``end_turn``.

``--like`` makes it behave on the wire as a real adapter does (notes/real-agents.md):

- ``claude``: no ``authMethods``, but a prompt is refused with -32000 unless
  ``ANTHROPIC_API_KEY`` is set; permission options ``allow_always`` first;
  ``rawInput.command`` a string;
  sessions start in mode ``auto``, where it asks no permission at all (``default`` asks);
  ``usage_update`` with the session's cumulative ``cost`` (USD) and
  ``PromptResponse.usage`` token counts.
- ``codex``: ``authMethods`` ``[api-key]`` (``_meta.api-key.provider = openai``) and
  ``session/new`` refused with -32000 until ``authenticate`` succeeded, which needs
  ``OPENAI_API_KEY`` or ``CODEX_API_KEY``; commands as lists ``["/bin/bash", "-lc", …]``;
  ``allow_once`` first.
- ``gemini``: ``authMethods`` with ``gemini-api-key``; ``session/new`` refused with -32000
  unless ``GEMINI_API_KEY`` is set; permission requests without ``rawInput`` (the command
  is the ``title``, kind ``execute``); ``allow_always`` first; tokens only in
  ``PromptResponse._meta.quota.token_count``.

``--ignore-eof`` keeps it running after its stdin closed (as the ``@zed-industries``
adapters do); it advertises ``session/close`` and exits only on a signal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
from typing import Any

from acp import (
    PROTOCOL_VERSION,
    RequestError,
    run_agent,
    start_tool_call,
    text_block,
    tool_content,
    update_agent_message_text,
    update_tool_call,
)
from acp.schema import (
    AgentCapabilities,
    AuthenticateResponse,
    AuthMethodAgent,
    CloseSessionResponse,
    Cost,
    Implementation,
    InitializeResponse,
    McpCapabilities,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    SessionCapabilities,
    SessionCloseCapabilities,
    SessionMode,
    SessionModeState,
    SetSessionModeResponse,
    ToolCallUpdate,
    Usage,
    UsageUpdate,
)

# (option id, kind) in each adapter's order
OPTIONS = {
    "plain": [("yes", "allow_once"), ("no", "reject_once")],
    "claude": [("allow_always", "allow_always"), ("allow", "allow_once"),
               ("reject", "reject_once")],
    "gemini": [("proceed_always", "allow_always"), ("proceed_once", "allow_once"),
               ("cancel", "reject_once")],
    "codex": [("approved", "allow_once"), ("approved-for-session", "allow_always"),
              ("abort", "reject_once")],
}
CLAUDE_MODES = [SessionMode(id="default", name="Manual",
                            description="Always ask before making changes"),
                SessionMode(id="acceptEdits", name="Accept edits"),
                SessionMode(id="plan", name="Plan"),
                SessionMode(id="auto", name="Auto",
                            description="Claude handles permission decisions")]
COST_PER_PROMPT_USD = 0.0125


class ScriptedAcpAgent:
    """See the module docstring. ``like``: plain | claude | codex | gemini."""

    def __init__(self, like: str = "plain", ignore_eof: bool = False) -> None:
        self.like, self.ignore_eof = like, ignore_eof
        self.conn: Any = None
        self.turns = 0
        self.mcp_servers: list[Any] = []
        self.authenticated = False
        self.mode = "auto" if like == "claude" else "default"
        self.cost = 0.0  # USD, cumulative over the session (as Claude reports it)
        self.cancelled = asyncio.Event()

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        caps = AgentCapabilities(load_session=False,
                                 mcp_capabilities=McpCapabilities(http=True))
        if self.ignore_eof:
            caps.session_capabilities = SessionCapabilities(close=SessionCloseCapabilities())
        methods = {"codex": [AuthMethodAgent(id="api-key", name="API key",
                                             field_meta={"api-key": {"provider": "openai"}})],
                   "gemini": [AuthMethodAgent(id="oauth-personal", name="Log in with Google"),
                              AuthMethodAgent(id="gemini-api-key", name="Gemini API key",
                                              field_meta={"api-key": {"provider": "google"}})]}
        return InitializeResponse(protocol_version=PROTOCOL_VERSION, agent_capabilities=caps,
                                  auth_methods=methods.get(self.like, []),
                                  agent_info=Implementation(name="scripted-acp-agent",
                                                            version="1"))

    async def authenticate(self, method_id: str, **kwargs: Any) -> AuthenticateResponse:
        keys = {"api-key": ("OPENAI_API_KEY", "CODEX_API_KEY"),
                "gemini-api-key": ("GEMINI_API_KEY",)}.get(method_id, ())
        if not any(os.environ.get(k) for k in keys):
            raise RequestError.auth_required({"message": f"{method_id}: no key set"})
        self.authenticated = True
        return AuthenticateResponse()

    async def new_session(self, cwd: str, mcp_servers: list[Any] | None = None,
                          **kwargs: Any) -> NewSessionResponse:
        if (self.like == "codex" and not self.authenticated) or (
                self.like == "gemini" and not os.environ.get("GEMINI_API_KEY")):
            raise RequestError.auth_required({"message": "Authentication required"})
        self.cwd = cwd
        self.mcp_servers = [s for s in mcp_servers or [] if getattr(s, "type", "") == "http"]
        modes = SessionModeState(current_mode_id=self.mode, available_modes=CLAUDE_MODES) \
            if self.like == "claude" else None
        return NewSessionResponse(session_id=f"s{os.getpid()}", modes=modes)

    async def set_session_mode(self, mode_id: str, session_id: str,
                               **kwargs: Any) -> SetSessionModeResponse:
        self.mode = mode_id
        return SetSessionModeResponse()

    async def close_session(self, session_id: str, **kwargs: Any) -> CloseSessionResponse:
        return CloseSessionResponse()  # the session is over; the process stays (ignore_eof)

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        self.cancelled.set()  # a ``slow`` turn ends ``cancelled``

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        self.turns += 1
        text = " ".join(getattr(b, "text", "") for b in prompt).strip()
        words = text.split()
        if self.like == "claude" and not os.environ.get("ANTHROPIC_API_KEY"):
            raise RequestError.auth_required({"message": "Authentication required"})
        if words[:1] == ["fail"]:
            raise RequestError.internal_error({"message": "model API returned 500: overloaded"})
        if words[:1] == ["slow"]:
            self.cancelled.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.cancelled.wait(), 30)
                return PromptResponse(stop_reason="cancelled")
        call_id = f"call-{self.turns}"
        await self._say(session_id, start_tool_call(call_id, f"handle {words[0] if words else ''}",
                                                    kind="other", status="pending"))
        reply = await self._act(session_id, words, text)
        await self._say(session_id, update_tool_call(call_id, status="completed",
                                                     content=[tool_content(text_block(reply))]))
        await self._say(session_id, update_agent_message_text(reply))
        return await self._answer(session_id)

    async def _answer(self, session_id: str) -> PromptResponse:
        if self.like == "claude":
            self.cost += COST_PER_PROMPT_USD
            await self._say(session_id, UsageUpdate(
                session_update="usage_update", used=1200, size=200_000,
                cost=Cost(amount=self.cost, currency="USD")))
            return PromptResponse(stop_reason="end_turn", usage=Usage(
                input_tokens=1000, output_tokens=200, total_tokens=1200,
                cached_read_tokens=50))
        if self.like == "gemini":
            return PromptResponse(stop_reason="end_turn", field_meta={"quota": {
                "token_count": {"input_tokens": 900, "output_tokens": 90},
                "model_usage": [{"model": "gemini-2.5-pro", "token_count": {
                    "input_tokens": 900, "output_tokens": 90}}]}})
        return PromptResponse(stop_reason="end_turn")

    async def _say(self, session_id: str, update: Any) -> None:
        await self.conn.session_update(session_id=session_id, update=update)

    async def _act(self, session_id: str, words: list[str], text: str) -> str:
        verb = words[0] if words else ""
        if verb == "crash":
            sys.stdout.flush()
            os._exit(3)
        if verb == "write" and len(words) >= 3:
            path = os.path.join(self.cwd, words[1])
            try:
                await self.conn.write_text_file(session_id=session_id, path=path,
                                                content=" ".join(words[2:]) + "\n")
                return f"wrote {words[1]}"
            except Exception as exc:  # the refusal is the answer under test
                return f"write refused: {exc}"
        if verb == "read" and len(words) >= 2:
            return await self._read(session_id, words[1])
        if verb == "env" and len(words) >= 2:
            return f"{words[1]} is {'set' if os.environ.get(words[1]) else 'unset'}"
        if verb == "mcp" and len(words) >= 2:
            return await self._mcp(words[1], " ".join(words[2:]) or "{}")
        if verb == "shell":
            return _shell(" ".join(words[1:]))
        if verb == "mode":
            return f"mode: {self.mode}"
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
    async def _read(self, session_id: str, name: str) -> str:
        try:
            response = await self.conn.read_text_file(
                session_id=session_id, path=os.path.join(self.cwd, name))
            return f"read: {response.content.strip()}"
        except RequestError as exc:
            return f"read refused ({exc.code}): {exc}"
        except Exception as exc:
            return f"read refused: {exc}"

    async def _ask(self, session_id: str, command: str) -> str:
        if self.mode == "auto":  # Claude's auto mode decides itself: no request at all
            return f"ran {command} without asking"
        if self.like == "codex":
            call = ToolCallUpdate(tool_call_id="perm", title=command, kind="execute",
                                  raw_input={"command": ["/bin/bash", "-lc", command]})
        elif self.like == "gemini":
            call = ToolCallUpdate(tool_call_id="perm", title=command, kind="execute")
        else:
            call = ToolCallUpdate(tool_call_id="perm", title=f"run {command}",
                                  kind="execute", raw_input={"command": command})
        order = OPTIONS.get(self.like, OPTIONS["plain"])
        response = await self.conn.request_permission(
            session_id=session_id, tool_call=call,
            options=[PermissionOption(option_id=i, name=i, kind=k) for i, k in order])
        chosen = getattr(response.outcome, "option_id", None)
        kind = dict(order).get(chosen, "cancelled") if chosen else "cancelled"
        return f"permission for {command}: {kind}"


async def _main(like: str, ignore_eof: bool) -> None:
    await run_agent(ScriptedAcpAgent(like, ignore_eof), use_unstable_protocol=True)
    while ignore_eof:  # stdin closed: keep running, as the adapters that ignore EOF do
        await asyncio.sleep(3600)


def _shell(command: str) -> str:
    run = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=60, check=False)
    return f"shell exit {run.returncode}: {(run.stdout + run.stderr).strip()}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--like", choices=sorted(OPTIONS), default="plain")
    parser.add_argument("--ignore-eof", action="store_true")
    args = parser.parse_args()
    asyncio.run(_main(args.like, args.ignore_eof))
