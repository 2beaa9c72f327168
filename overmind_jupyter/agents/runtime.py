"""ACP runtime, client side: drives agent missions over JSON-RPC on their stdio.

For each spawn of an agent mission: ``initialize`` → ``session/load`` (when the agent
supports it and a session exists from an earlier run) or ``session/new`` (cwd = the
mission's workspace) → one ``session/prompt`` per queued prompt. ``session/update``
notifications become events (``updates.py``); ``fs/read_text_file`` and
``fs/write_text_file`` are served confined to the workspace (``confine.Workspace``);
``session/request_permission`` is answered by the tool policy or becomes a question.
When no prompt is left the agent's stdin is closed and the mission ends. The displayed
liveness (working / waiting / idle / done / dead) comes from the protocol and the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from acp import PROTOCOL_VERSION, RequestError, connect_to_agent, text_block
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    DeniedOutcome,
    FileSystemCapabilities,
    Implementation,
    ReadTextFileResponse,
    RequestPermissionResponse,
    WriteTextFileResponse,
)

from .. import __version__
from ..errors import OvermindError
from ..model import Mission, MissionKind
from ..store import Store
from ..supervisor.process import Child
from ..supervisor.supervisor import Supervisor
from .confine import Workspace
from .mcp_access import McpAccess
from .policy import CommandPolicy, Decision, decide
from .updates import to_event, transcript

log = logging.getLogger("overmind.agents")
CANCEL_GRACE_S = 2.0  # s a cancelled prompt gets to answer before the process is stopped
DRIVER_DRAIN_S = 2.0  # s the supervisor waits for the ACP driver after the agent exits
Ask = Callable[..., Awaitable[str]]  # Questions.ask(kind, text, mission=, options=, data=)


@dataclasses.dataclass(slots=True)
class AgentState:
    """What the runtime keeps per agent mission across restarts of its process."""

    prompts: list[str] = dataclasses.field(default_factory=list)  # head = in flight
    session_id: str | None = None
    conn: Any = None
    turn_usage: bool = False  # the agent reported per-turn usage during this prompt
    log: Any = None  # the mission's log, open for the transcript while it runs
    liveness: str = "idle"
    task: asyncio.Task | None = None  # the ACP driver of the current process
    over: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)  # its session ended
    stop_reason: str | None = None  # of the last answered prompt ("error": the driver failed)


class AgentRuntime:
    """Drives every agent mission of one engine.

    Args:
        store: events go here.
        supervisor: announces agent processes through ``on_spawn``.
        ask: asks a human (the questions inbox).
        policy: the command policy used to answer permission requests.
        mcp: credentials of Overmind's MCP endpoint, offered in ``session/new`` (None:
            no endpoint).
    """

    def __init__(self, store: Store, supervisor: Supervisor, ask: Ask,
                 policy: CommandPolicy, mcp: McpAccess | None = None) -> None:
        self.store, self.ask, self.policy, self.mcp = store, ask, policy, mcp
        self.mailbox: Any = None  # orchestrator.mailbox.Mailbox, set by the engine
        self.agents: dict[str, AgentState] = {}
        supervisor.on_spawn.append(self._spawned)
        supervisor.on_end.append(self._ended)
        supervisor.on_exit.append(self._exited)

    def record(self, m: Mission, event_type: str, data: dict[str, Any]) -> None:
        """Append an event for ``m`` and its readable line to the mission's log."""
        self.store.append_event(event_type, data, mission=m.id)
        line = transcript(event_type, data)
        if line:
            state = self.agents.setdefault(m.id, AgentState())
            if state.log is None:  # one handle per mission, not one open per chunk
                state.log = open(m.log_path, "ab", buffering=0)  # noqa: SIM115
            state.log.write(line.encode("utf-8", "replace"))

    def submit(self, m: Mission, text: str) -> None:
        """Queue a prompt for the mission's ACP session (sent when the agent is ready)."""
        state = self.agents.setdefault(m.id, AgentState())
        state.prompts.append(text)
        self.record(m, "agent-prompt", {"text": text})

    def liveness(self, mission_id: str) -> str | None:
        """working | waiting | idle | done | dead, or None for a non-agent mission."""
        state = self.agents.get(mission_id)
        return state.liveness if state else None

    def _set_liveness(self, mission_id: str, value: str) -> None:
        state = self.agents.setdefault(mission_id, AgentState())
        if state.liveness != value:
            state.liveness = value
            self.store.append_event("agent-liveness", {"state": value}, mission=mission_id)

    def _spawned(self, m: Mission, child: Child) -> None:
        if m.kind is MissionKind.AGENT and child.popen is not None:
            state = self.agents.setdefault(m.id, AgentState())
            state.stop_reason, state.over = None, asyncio.Event()
            state.task = asyncio.get_running_loop().create_task(self._drive(m, child),
                                                                name=f"acp-{m.name}")

    async def work_done(self, mission_id: str) -> bool:
        """Wait until the ACP session of the mission's current process has ended.

        Returns True when the agent answered every queued prompt and the last one ended
        with ``end_turn``: its work is over and its process is only exiting (stdin closed),
        so a caller need not wait for the exit — under load that exit takes 0.1–0.7 s
        (interpreter shutdown, reaping). False when there is no driver (not an agent, the
        spawn failed) or it ended otherwise (error, cancel, crash): wait for the mission.
        """
        state = self.agents.get(mission_id)
        if state is None or state.task is None:
            return False
        await state.over.wait()
        return state.stop_reason == "end_turn" and not state.prompts

    async def _exited(self, m: Mission) -> None:
        """Let the ACP driver record how the session ended before the mission moves on."""
        state = self.agents.get(m.id)
        if state is not None and state.task is not None and not state.task.done():
            await asyncio.wait({state.task}, timeout=DRIVER_DRAIN_S)

    def _ended(self, m: Mission) -> None:
        if self.mcp is not None:
            self.mcp.revoke(m.id)
        if m.id in self.agents:
            self._set_liveness(m.id, "done" if m.status.value == "exited" else "dead")
            self._close_log(self.agents[m.id])

    def close(self) -> None:
        """Close the transcript files still open (engine shutdown)."""
        for state in self.agents.values():
            self._close_log(state)

    @staticmethod
    def _close_log(state: AgentState) -> None:
        if state.log is not None:
            state.log.close()
            state.log = None

    async def _drive(self, m: Mission, child: Child) -> None:
        state = self.agents[m.id]
        try:
            writer, reader = await _pipes(child)
            state.conn = conn = connect_to_agent(EngineClient(self, m), writer, reader)
        except BaseException:
            state.over.set()
            raise
        try:
            await self._session(conn, m)
        except (RequestError, OvermindError, ConnectionError, asyncio.IncompleteReadError) as exc:
            state.stop_reason = "error"
            self.record(m, "agent-finished", {"stop_reason": "error", "error": str(exc)[:500]})
        finally:
            state.over.set()  # before the close below, which waits for the process's exit
            with contextlib.suppress(Exception):
                writer.close()  # EOF on the agent's stdin: it exits when idle
            with contextlib.suppress(Exception):
                await conn.close()

    async def _session(self, conn: Any, m: Mission) -> None:
        state = self.agents[m.id]
        init = await conn.initialize(
            protocol_version=PROTOCOL_VERSION,
            client_capabilities=ClientCapabilities(fs=FileSystemCapabilities(
                read_text_file=True, write_text_file=True), terminal=False),
            client_info=Implementation(name="overmind", title="Overmind", version=__version__))
        loaded = await self._open(conn, m, state, init)
        info = init.agent_info
        self.store.append_event("agent-session", {
            "session_id": state.session_id, "agent": info.name if info else None,
            "title": getattr(info, "title", None) if info else None, "loaded": loaded},
            mission=m.id)
        while state.prompts:
            await self._prompt(conn, m, state)

    async def _open(self, conn: Any, m: Mission, state: AgentState, init: Any) -> bool:
        caps = init.agent_capabilities
        http = bool(caps and caps.mcp_capabilities and caps.mcp_capabilities.http)
        servers = self.mcp.servers(m, http) if self.mcp is not None else []
        if state.session_id and caps is not None and caps.load_session:
            with contextlib.suppress(RequestError):
                await conn.load_session(cwd=m.cwd, session_id=state.session_id,
                                        mcp_servers=servers)
                return True
        state.session_id = (await conn.new_session(cwd=m.cwd, mcp_servers=servers)).session_id
        return False

    async def _prompt(self, conn: Any, m: Mission, state: AgentState) -> None:
        self._set_liveness(m.id, "working")
        state.turn_usage = False
        response = await conn.prompt(session_id=state.session_id,
                                     prompt=[text_block(state.prompts[0])])
        state.prompts.pop(0)  # only once answered: a crash mid-turn retries it
        state.stop_reason = str(response.stop_reason)
        meta = (response.field_meta or {}).get("overmind", {})
        totals = _usage_totals(response.usage, meta)
        if totals is not None and not state.turn_usage:  # agents without per-turn reports
            self.record(m, "agent-usage", {**totals, "scope": "prompt"})
        self.record(m, "agent-finished", {
            "stop_reason": response.stop_reason, "changed": meta.get("changed", []),
            "guard": meta.get("guard"), "usage": totals})
        self._set_liveness(m.id, "idle")
        if meta.get("guard"):
            await self._ask_to_continue(m, state, meta["guard"])

    async def _ask_to_continue(self, m: Mission, state: AgentState, why: str) -> None:
        """A guard or provider stop pauses the agent until the host answers.

        Any answer but ``stop`` becomes the next prompt of the same session.
        """
        self._set_liveness(m.id, "waiting")
        answer = await self.ask("guard", f"{m.name} stopped: {why}. Answer with instructions "
                                "to continue, or `stop`.", mission=m.id)
        self._set_liveness(m.id, "idle")
        if answer.strip().lower() not in ("", "stop"):
            self.submit(m, answer)

    async def cancel_session(self, mission_id: str) -> None:
        """Send ``session/cancel`` for the running prompt and drop queued ones."""
        state = self.agents.get(mission_id)
        if state is None or state.conn is None or state.session_id is None:
            return
        del state.prompts[1:]
        with contextlib.suppress(Exception):
            await state.conn.cancel(session_id=state.session_id)
        deadline = asyncio.get_running_loop().time() + CANCEL_GRACE_S
        while state.liveness in ("working", "waiting") and \
                asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)  # the agent answers the prompt with `cancelled`


class EngineClient:
    """The ACP client methods the engine serves to one agent mission."""

    def __init__(self, runtime: AgentRuntime, mission: Mission) -> None:
        self.runtime, self.mission = runtime, mission
        self.workspace = Workspace(mission.cwd)

    def on_connect(self, conn: Any) -> None:
        """Nothing to keep: the runtime holds the connection."""

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        """``_overmind/usage``: one model turn's tokens and cost → an ``agent-usage`` event."""
        if method != "overmind/usage":
            return
        fields = ("input_tokens", "output_tokens", "cached_tokens", "cost_usd", "model")
        data = {k: params.get(k) for k in fields}
        if not all(isinstance(data[k], int) and data[k] >= 0 for k in fields[:3]):
            return  # malformed: an agent must not be able to corrupt the usage record
        self.runtime.agents.setdefault(self.mission.id, AgentState()).turn_usage = True
        self.runtime.record(self.mission, "agent-usage", {**data, "scope": "turn"})

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The mailbox: ``_overmind/send_message`` ``{to, text}`` → ``{id}``;
        ``_overmind/read_messages`` → ``{messages: [{id, sender, text}]}`` (unread ones to
        this mission's name or task, then marked read).

        Raises:
            RequestError: unknown method, no mailbox, or a bad message.
        """
        mailbox = self.runtime.mailbox
        if mailbox is None or method not in ("overmind/send_message", "overmind/read_messages"):
            raise RequestError.method_not_found(f"_{method}")
        m = self.mission
        if method == "overmind/read_messages":
            names = (m.name, m.name.rsplit("-", 1)[0])  # mission name, or its task's name
            return {"messages": [{"id": r.id, "sender": r.data["sender"], "text": r.data["text"]}
                                 for r in mailbox.inbox(names)]}
        try:
            rec = mailbox.send(m.name, str(params.get("to", "")), str(params.get("text", "")),
                               mission=m.id)
        except OvermindError as exc:
            raise RequestError.invalid_params({"message": exc.message}) from None
        return {"id": rec.id}

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        """Record the update as an event."""
        event = to_event(update)
        if event is not None:
            self.runtime.record(self.mission, *event)

    async def read_text_file(self, session_id: str, path: str, line: int | None = None,
                             limit: int | None = None, **kwargs: Any) -> ReadTextFileResponse:
        """Serve a read confined to the workspace."""
        try:
            return ReadTextFileResponse(content=self.workspace.read_text(path, line, limit))
        except (OvermindError, OSError) as exc:
            raise RequestError.invalid_params({"message": _message(exc)}) from None

    async def write_text_file(self, session_id: str, path: str, content: str,
                              **kwargs: Any) -> WriteTextFileResponse:
        """Serve a write confined to the workspace."""
        try:
            self.workspace.write_text(path, content)
        except (OvermindError, OSError) as exc:
            raise RequestError.invalid_params({"message": _message(exc)}) from None
        return WriteTextFileResponse()

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **kwargs: Any) -> RequestPermissionResponse:
        """Policy says allow/deny for commands; anything else asks the host."""
        allow = _option(options, "allow")
        reject = _option(options, "reject")
        command = (tool_call.raw_input or {}).get("command") \
            if isinstance(tool_call.raw_input, dict) else None
        verdict = decide(self.runtime.policy, command)[0] if isinstance(command, str) else None
        if verdict is None or verdict is Decision.ASK:
            verdict = await self._ask_host(tool_call)
        chosen = allow if verdict is Decision.ALLOW else reject
        if chosen is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected",
                                                                option_id=chosen))

    async def _ask_host(self, tool_call: Any) -> Decision:
        rt = self.runtime
        rt._set_liveness(self.mission.id, "waiting")
        try:
            answer = await rt.ask("tool-approval", f"{self.mission.name} asks to "
                                  f"{tool_call.title or 'use a tool'}", mission=self.mission.id,
                                  options=("allow", "deny"),
                                  data={"tool_call": tool_call.tool_call_id,
                                        "input": tool_call.raw_input})
        finally:
            rt._set_liveness(self.mission.id, "working")
        return Decision.ALLOW if answer == "allow" else Decision.DENY


def _usage_totals(usage: Any, meta: dict[str, Any]) -> dict[str, Any] | None:
    """A prompt's token totals (from ACP ``PromptResponse.usage``) and cost (USD)."""
    if usage is None:
        return None
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_read_tokens or 0, "cost_usd": meta.get("cost_usd"),
            "model": meta.get("model")}


def _option(options: list[Any], prefix: str) -> str | None:
    for option in options:
        if str(option.kind).startswith(prefix):
            return option.option_id
    return None


def _message(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc)


async def _pipes(child: Child) -> tuple[asyncio.StreamWriter, asyncio.StreamReader]:
    """asyncio streams over the agent's stdin (writer) and stdout (reader) pipes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=50 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                 child.popen.stdout)
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(), child.popen.stdin)
    return asyncio.StreamWriter(transport, protocol, None, loop), reader
