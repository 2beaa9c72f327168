"""ACP runtime, client side: drives agent missions over JSON-RPC on their stdio.

For each spawn of an agent mission: ``initialize`` → ``authenticate`` (with the first
advertised method whose key the mission has, ``auth.py``; when ``session/new`` then says
-32000 auth required, a question names the variables to set) → ``session/load`` (when
the agent supports it and a session exists from an earlier run) or ``session/new`` (cwd =
the mission's workspace) → ``session/set_mode`` to the mode that asks permission when the
agent starts in one that does not (Claude's ``auto``) → one ``session/prompt`` per queued
prompt. ``session/update`` notifications become events (``updates.py``);
``fs/read_text_file`` and ``fs/write_text_file`` are served confined to the workspace
(``confine.Workspace``; a missing file is ACP's resource-not-found, -32002);
``session/request_permission`` is answered by the command policy or becomes a question
(``permissions.py``).

When no prompt is left the session is closed (``session/close``, where the agent supports
it), the agent's stdin is closed, and an agent still running ``END_GRACE_S`` later (some
ignore EOF) gets SIGTERM, then SIGKILL: the mission ends ``exited``. A turn answered with
an error ends it ``failed`` with the error as the reason (``judge_exit``). The displayed
liveness (working / waiting / idle / done / dead) comes from the protocol and the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from acp import PROTOCOL_VERSION, RequestError, connect_to_agent, text_block
from acp.schema import (
    ClientCapabilities,
    FileSystemCapabilities,
    Implementation,
)

from .._version import __version__
from ..errors import OvermindError, UsageError
from ..model import ExitCause, ExitInfo, Mission, MissionKind
from ..store import Store
from ..store.records import Record
from ..supervisor.listener import MissionListener
from ..supervisor.process import Child, signal_group
from ..supervisor.supervisor import Supervisor
from . import auth
from .acp_client import EngineClient, message_of
from .mcp_access import OBJECTIVE_ENV, McpAccess
from .policy import CommandPolicy
from .updates import prompt_usage, spent, transcript

log = logging.getLogger("overmind.agents")
CANCEL_GRACE_S = 2.0  # s a cancelled prompt gets to answer before the process is stopped
DRIVER_DRAIN_S = 2.0  # s the supervisor waits for the ACP driver after the agent exits
END_GRACE_S = 3.0  # s an agent gets to exit after its stdin closed (then SIGTERM, SIGKILL)
AUTH_REQUIRED = -32000  # ACP's JSON-RPC error code for "authentication required"
# ids of the session modes that ask before acting, preferred first: Claude's and Gemini's
# "default"; Codex's "read-only" ("requires approval to edit files"; its default "agent"
# lets a reviewer model approve instead of the client)
ASKING_MODES = ("default", "manual", "ask", "read-only")


class AgentFailed(OvermindError):
    """An agent mission cannot go on (authentication refused, …); the message says why."""

    reason = "agent-failed"
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
    accepting: bool = True  # prompts are still delivered (False once the session ended)
    failure: str | None = None  # why the current run failed though its process may exit 0
    ended_by_us: bool = False  # the runtime signalled the process after its session ended
    session_cost: float | None = None  # USD, the agent's cumulative ``usage_update.cost``
    model: str | None = None  # the model an agent names in its updates (Claude's _meta)


class Mailbox(Protocol):
    """The agents' mailbox (``orchestrator.mailbox.Mailbox``) as the ACP client uses it."""

    def send(self, sender: str, recipient: str, text: str, *, objective: str | None = None,
             mission: str | None = None) -> Record: ...

    def inbox(self, recipients: tuple[str, ...], *, unread_only: bool = True,
              mark_read: bool = True) -> list[Record]: ...


class AgentRuntime(MissionListener):
    """Drives every agent mission of one engine (a ``MissionListener`` of its supervisor).

    Args:
        store: events go here.
        supervisor: runs the agent processes and tells this runtime about them.
        ask: asks a human (the questions inbox).
        policy: the command policy used to answer permission requests.
        key_names: the variables that would hold a mission's API key (named in the
            question an agent's "authentication required" becomes).
        mcp: credentials of Overmind's MCP endpoint, offered in ``session/new`` (None:
            no endpoint).
        mailbox: the agents' mailbox behind ``_overmind/send_message`` and
            ``_overmind/read_messages`` (None: those methods are unknown).
    """

    def __init__(self, store: Store, supervisor: Supervisor, ask: Ask,
                 policy: CommandPolicy,
                 key_names: Callable[[Mission], list[str]] = lambda m: [],
                 mcp: McpAccess | None = None, mailbox: Mailbox | None = None) -> None:
        self.store, self.policy, self.key_names = store, policy, key_names
        self.ask = self._of_objective(ask)
        self.supervisor, self.mcp = supervisor, mcp
        self.mailbox = mailbox
        self.agents: dict[str, AgentState] = {}
        supervisor.listen(self)

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
        """Queue a prompt for the mission's ACP session (sent when the agent is ready).

        Raises:
            UsageError: the mission's ACP session has ended (its process is winding down).
        """
        state = self.agents.setdefault(m.id, AgentState())
        if not state.accepting:
            raise UsageError(f"{m.name} no longer takes prompts: its ACP session ended "
                             "after its last prompt; start a new agent mission")
        state.prompts.append(text)
        self.record(m, "agent-prompt", {"text": text})

    def liveness(self, mission_id: str) -> str | None:
        """working | waiting | idle | done | dead, or None for a non-agent mission."""
        state = self.agents.get(mission_id)
        return state.liveness if state else None

    def set_liveness(self, mission_id: str, value: str) -> None:
        """Set a mission's liveness and announce a change (event ``agent-liveness``)."""
        state = self.agents.setdefault(mission_id, AgentState())
        if state.liveness != value:
            state.liveness = value
            self.store.append_event("agent-liveness", {"state": value}, mission=mission_id)

    def state(self, mission_id: str) -> AgentState:
        """The runtime's state of one agent mission (created on first use)."""
        return self.agents.setdefault(mission_id, AgentState())

    def spawned(self, m: Mission, child: Child) -> None:
        if m.kind is MissionKind.AGENT and child.popen is not None:
            state = self.agents.setdefault(m.id, AgentState())
            state.stop_reason, state.over = None, asyncio.Event()
            state.accepting, state.failure, state.ended_by_us = True, None, False
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

    async def exited(self, m: Mission) -> None:
        """Let the ACP driver record how the session ended before the mission moves on."""
        state = self.agents.get(m.id)
        if state is not None and state.task is not None and not state.task.done():
            await asyncio.wait({state.task}, timeout=DRIVER_DRAIN_S)

    def _of_objective(self, ask: Ask) -> Ask:
        """``ask`` that files a mission's question under the objective the mission serves
        (``OVERMIND_OBJECTIVE``): a task agent's tool approval is the objective's question
        too, for the views and waiters that list an objective's questions."""
        async def asking(kind: str, text: str, *, mission: str | None = None,
                         **kwargs: Any) -> str:
            if mission and kwargs.get("objective") is None:
                env = self.store.get_mission(mission).env
                kwargs["objective"] = env.get(OBJECTIVE_ENV) or None
            return await ask(kind, text, mission=mission, **kwargs)
        return asking

    def judge_exit(self, m: Mission, cause: ExitCause, info: ExitInfo
                   ) -> tuple[ExitCause, ExitInfo]:
        """How an agent's run really ended (``MissionListener.judge_exit``): a failed turn or
        authentication fails it even when the process exits 0; an agent the runtime ended
        after its last prompt (it ignored EOF) exited cleanly."""
        state = self.agents.get(m.id)
        if state is None:
            return cause, info
        if state.failure is not None and cause in (ExitCause.CLEAN, ExitCause.SIGNAL,
                                                   ExitCause.ERROR):
            return ExitCause.ERROR, dataclasses.replace(info, reason=state.failure)
        if state.ended_by_us and cause is ExitCause.SIGNAL:
            return ExitCause.CLEAN, ExitInfo(returncode=0, reason=(
                "ended by Overmind after its last prompt (the agent kept running after "
                "its input closed)"))
        return cause, info

    def ended(self, m: Mission) -> None:
        if self.mcp is not None:
            self.mcp.revoke(m.id)
        if m.id in self.agents:
            self.set_liveness(m.id, "done" if m.status.value == "exited" else "dead")
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
        cancelled = False
        try:
            await self._session(conn, m)
        except asyncio.CancelledError:  # the engine is closing: the process is left alone
            cancelled = True
            raise
        except (RequestError, OvermindError, ConnectionError, asyncio.IncompleteReadError) as exc:
            state.stop_reason = "error"
            error = message_of(exc)[:500]
            if isinstance(exc, (RequestError, OvermindError)):  # an answer, not a crash
                state.failure = f"agent failed: {error}"
            self.record(m, "agent-finished", {"stop_reason": "error", "error": error})
        finally:
            state.accepting = False
            state.over.set()  # before the close below, which waits for the process's exit
            with contextlib.suppress(Exception):
                writer.close()  # EOF on the agent's stdin: it exits when idle
            if not cancelled:
                await self._end_process(m, child, state)
            with contextlib.suppress(Exception):
                await conn.close()

    async def _end_process(self, m: Mission, child: Child, state: AgentState) -> None:
        """Give the agent ``END_GRACE_S`` to exit after EOF, then SIGTERM, then SIGKILL."""
        rt = self.supervisor.runtimes.get(m.id)
        if rt is None or rt.child is not child:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(rt.gone.wait()), END_GRACE_S)
                return
            state.ended_by_us = True
            log.info("%s still runs %.1f s after its input closed: %s", m.name, END_GRACE_S,
                     sig.name)
            signal_group(child.pid, sig)

    async def _session(self, conn: Any, m: Mission) -> None:
        state = self.agents[m.id]
        init = await conn.initialize(
            protocol_version=PROTOCOL_VERSION,
            client_capabilities=ClientCapabilities(fs=FileSystemCapabilities(
                read_text_file=True, write_text_file=True), terminal=False),
            client_info=Implementation(name="overmind", title="Overmind", version=__version__))
        await self._authenticate(conn, m, init)
        loaded, modes = await self._open_authenticated(conn, m, state, init)
        info = init.agent_info
        self.store.append_event("agent-session", {
            "session_id": state.session_id, "agent": info.name if info else None,
            "title": getattr(info, "title", None) if info else None, "loaded": loaded},
            mission=m.id)
        await self._asking_mode(conn, m, state, modes)
        while state.prompts:
            try:
                await self._prompt(conn, m, state)
            except RequestError as exc:  # Claude asks for its key only when prompted
                if exc.code != AUTH_REQUIRED:
                    raise
                await self._ask_auth(m, init)
                await self._authenticate(conn, m, init)
        caps = init.agent_capabilities
        if caps is not None and caps.session_capabilities is not None and \
                caps.session_capabilities.close is not None:
            with contextlib.suppress(RequestError, ConnectionError):  # best effort: a
                await conn.close_session(session_id=state.session_id)  # stop may race it

    async def _authenticate(self, conn: Any, m: Mission, init: Any) -> bool:
        """``authenticate`` with the first advertised method whose key is set in the
        mission's environment; False when none is (or the agent refused it)."""
        choice = auth.choose(init.auth_methods, self.supervisor.env_for(m))
        if choice is None:
            return False
        try:
            await conn.authenticate(method_id=choice.method_id)
        except RequestError as exc:
            log.info("%s refused authentication with %s: %s", m.name, choice.method_id, exc)
            return False
        self.store.append_event("agent-auth", {"method": choice.method_id,
                                               "variables": list(choice.variables)},
                                mission=m.id)
        return True

    async def _open_authenticated(self, conn: Any, m: Mission, state: AgentState, init: Any
                                  ) -> tuple[bool, Any]:
        """``_open``; on "authentication required" ask the host to configure a key.

        Raises:
            AgentFailed: the host answered ``stop``.
        """
        while True:
            try:
                return await self._open(conn, m, state, init)
            except RequestError as exc:
                if exc.code != AUTH_REQUIRED:
                    raise
                await self._ask_auth(m, init)
                await self._authenticate(conn, m, init)

    async def _ask_auth(self, m: Mission, init: Any) -> None:
        names = auth.wanted(init.auth_methods) or self.key_names(m) or ["the agent's API key"]
        need = " or ".join(names)
        self.set_liveness(m.id, "waiting")
        answer = await self.ask(
            "agent-auth", f"{m.name} cannot start: the agent needs authentication. Set "
            f"{need} in the Overmind server's environment (or log in with the agent's own "
            "CLI), then answer `retry`; `stop` ends the mission.", mission=m.id,
            options=("retry", "stop"), data={"variables": names})
        self.set_liveness(m.id, "idle")
        if answer.strip().lower() != "retry":
            raise AgentFailed(f"authentication required: set {need}")

    async def _open(self, conn: Any, m: Mission, state: AgentState, init: Any
                    ) -> tuple[bool, Any]:
        """``session/load`` or ``session/new``; returns (loaded, the session's modes)."""
        caps = init.agent_capabilities
        http = bool(caps and caps.mcp_capabilities and caps.mcp_capabilities.http)
        servers = self.mcp.servers(m, http) if self.mcp is not None else []
        if state.session_id and caps is not None and caps.load_session:
            with contextlib.suppress(RequestError):
                loaded = await conn.load_session(cwd=m.cwd, session_id=state.session_id,
                                                 mcp_servers=servers)
                return True, getattr(loaded, "modes", None)
        response = await conn.new_session(cwd=m.cwd, mcp_servers=servers)
        state.session_id = response.session_id
        return False, response.modes

    async def _asking_mode(self, conn: Any, m: Mission, state: AgentState, modes: Any) -> None:
        """Switch to the advertised mode that asks permission (``asking_mode``)."""
        wanted = asking_mode(modes)
        if wanted is None:
            return
        await conn.set_session_mode(mode_id=wanted, session_id=state.session_id)
        self.store.append_event("agent-mode", {"from": modes.current_mode_id, "to": wanted},
                                mission=m.id)

    async def _prompt(self, conn: Any, m: Mission, state: AgentState) -> None:
        self.set_liveness(m.id, "working")
        state.turn_usage = False
        cost_before = state.session_cost
        response = await conn.prompt(session_id=state.session_id,
                                     prompt=[text_block(state.prompts[0])])
        state.prompts.pop(0)  # only once answered: a crash mid-turn retries it
        state.stop_reason = str(response.stop_reason)
        meta = (response.field_meta or {}).get("overmind", {})
        totals = prompt_usage(response, meta, spent(cost_before, state.session_cost))
        if totals is not None and totals["model"] is None:
            totals["model"] = state.model
        if totals is not None and not state.turn_usage:  # agents without per-turn reports
            self.record(m, "agent-usage", {**totals, "scope": "prompt"})
        self.record(m, "agent-finished", {
            "stop_reason": response.stop_reason, "changed": meta.get("changed", []),
            "guard": meta.get("guard"), "usage": totals})
        self.set_liveness(m.id, "idle")
        if meta.get("guard"):
            await self._ask_to_continue(m, state, meta["guard"])

    async def _ask_to_continue(self, m: Mission, state: AgentState, why: str) -> None:
        """A guard or provider stop pauses the agent until the host answers.

        Any answer but ``stop`` becomes the next prompt of the same session.
        """
        self.set_liveness(m.id, "waiting")
        answer = await self.ask("guard", f"{m.name} stopped: {why}. Answer with instructions "
                                "to continue, or `stop`.", mission=m.id)
        self.set_liveness(m.id, "idle")
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

def asking_mode(modes: Any) -> str | None:
    """The mode to switch a new session to (ACP ``SessionModeState``), or None to keep
    its current one: Claude starts in ``auto`` and Codex in ``agent``, where neither the
    policy nor the host sees their commands; the first advertised of ``ASKING_MODES``."""
    if modes is None or modes.current_mode_id in ASKING_MODES:
        return None
    ids = [mode.id for mode in modes.available_modes]
    return next((i for i in ASKING_MODES if i in ids), None)


async def _pipes(child: Child) -> tuple[asyncio.StreamWriter, asyncio.StreamReader]:
    """asyncio streams over the agent's stdin (writer) and stdout (reader) pipes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=50 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                 child.popen.stdout)
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(), child.popen.stdin)
    return asyncio.StreamWriter(transport, protocol, None, loop), reader
