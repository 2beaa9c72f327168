"""The built-in coding agent as an ACP agent (``python -m overmind_jupyter.agents.builtin``).

Implements ACP's agent side with the ``agent-client-protocol`` SDK: ``initialize``,
``session/new``, ``session/load`` (when ``OVERMIND_AGENT_STATE`` names a directory to keep
transcripts in), ``session/prompt`` and ``session/cancel``. Progress is reported with
``session/update``: agent message chunks, thoughts (retries), tool calls with status, and a
final summary listing the files changed. The prompt response's ``_meta.overmind`` carries
usage, cost (USD), the guard reason if a loop guard stopped it, and the files changed.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    LoadSessionResponse,
    McpCapabilities,
    NewSessionResponse,
    PromptResponse,
)
from acp.schema import Usage as AcpUsage

from ..._version import __version__
from ...config import AGENT_STATE_ENV, FALLBACK_MODEL_ENV
from ...errors import OvermindError
from ...llm.contract import ChatModel, Message, ProviderError
from ..admin_policy import BoundPolicy
from ..confine import Workspace
from ..guards import LoopGuard, LoopLimits
from ..policy import DEFAULT_POLICY, CommandPolicy
from .commands import CommandRunner
from .files import ClientFiles, LocalFiles
from .loop import LoopOutcome, run_loop
from .mail import AcpMail
from .mcp_tools import McpTools
from .reporter import AcpReporter
from .tools import Toolbox

# byte-stable across sessions (a provider's prefix cache holds it and the tool list); what
# varies, the workspace, follows in a second system message
SYSTEM_PROMPT = """You are a careful software engineer working in a git worktree, your workspace.
Use the tools to read the code before changing it, make small, correct edits with
edit_file (write_file only for new files), add or update tests, and run the project's tests
with run_command when useful. Every path is relative to the workspace root, for example
src/app.py: never an absolute path. After a tool call succeeds, go on to the next step
instead of repeating it. When done, reply with a short summary of what you changed."""
WORKSPACE_NOTE = "Your workspace root is {cwd}: give every path relative to it."


class Session:
    """One ACP session: its workspace, transcript and cancellation flag."""

    def __init__(self, session_id: str, cwd: Path, mcp_servers: Any = ()) -> None:
        self.id, self.cwd = session_id, cwd
        self.mcp = McpTools(mcp_servers or (), own=("send_message", "read_messages"))
        self.messages: list[Message] = [Message("system", SYSTEM_PROMPT),
                                        Message("system", WORKSPACE_NOTE.format(cwd=cwd))]
        self.cancelled = False
        self.lock = asyncio.Lock()
        self.task: asyncio.Future[LoopOutcome] | None = None


class BuiltinAgent:
    """ACP agent running Overmind's tool loop over a ``ChatModel``.

    Args:
        model_id: e.g. ``openai:gpt-4.1`` or ``scripted:/path/script.json``.
        limits: loop guard budgets per prompt.
        policy: the command policy of ``run_command`` (default ``DEFAULT_POLICY``; the
            process entry point binds it with ``OVERMIND_COMMAND_POLICY``, see
            ``admin_policy``).
        state_dir: where transcripts are kept for ``session/load`` (None: in memory only).
    """

    def __init__(self, model_id: str, limits: LoopLimits | None = None,
                 policy: CommandPolicy | BoundPolicy | None = None,
                 state_dir: Path | None = None) -> None:
        self.model_id, self.limits = model_id, limits or LoopLimits()
        self.policy, self.state_dir = policy or DEFAULT_POLICY, state_dir
        self.sessions: dict[str, Session] = {}
        self.conn: Any = None
        self.client_fs = False
        self._model: ChatModel | None = None

    def on_connect(self, conn: Any) -> None:
        """Keep the connection to the client (the engine)."""
        self.conn = conn

    def model(self) -> ChatModel:
        """The chat model, created on first use (keeps start-up fast)."""
        if self._model is None:
            from ...llm.registry import resolve_model
            fallback = os.environ.get(FALLBACK_MODEL_ENV) or None
            self._model = resolve_model(self.model_id, fallback=fallback)
        return self._model

    async def initialize(self, protocol_version: int, client_capabilities: Any = None,
                         client_info: Any = None, **kwargs: Any) -> InitializeResponse:
        """Agree on the protocol; note whether the client serves text files."""
        fs = getattr(client_capabilities, "fs", None)
        self.client_fs = bool(fs and fs.read_text_file and fs.write_text_file)
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(load_session=self.state_dir is not None,
                                                 mcp_capabilities=McpCapabilities(http=True)),
            agent_info=Implementation(name="overmind-builtin", title="Overmind built-in agent",
                                      version=__version__))

    async def new_session(self, cwd: str, mcp_servers: Any = None,
                          **kwargs: Any) -> NewSessionResponse:
        """Open a session whose workspace is ``cwd``."""
        session = Session(secrets.token_hex(8), Path(cwd).resolve(), mcp_servers)
        self.sessions[session.id] = session
        return NewSessionResponse(session_id=session.id)

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None,
                           **kwargs: Any) -> LoadSessionResponse | None:
        """Resume a session from its saved transcript (after an agent restart)."""
        path = self._transcript(session_id)
        if path is None or not path.exists():
            raise OvermindError(f"no saved transcript for session {session_id}")
        session = Session(session_id, Path(cwd).resolve(), mcp_servers)
        session.messages = [_message(d) for d in json.loads(path.read_text())]
        self.sessions[session_id] = session
        return LoadSessionResponse()

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        """Run the tool loop on the prompt's text; report progress; summarise at the end.

        A provider failure that retries could not cure ends the prompt with stop reason
        ``max_turn_requests`` and ``_meta.overmind.guard`` saying why (the engine asks the
        host); ``session/cancel`` interrupts it at once with stop reason ``cancelled``.
        """
        session = self.sessions[session_id]
        async with session.lock:
            session.cancelled = False
            text = "\n".join(getattr(block, "text", "") for block in prompt).strip()
            session.messages.append(Message("user", text))
            reporter = AcpReporter(self.conn, session_id, self.model().label)
            session.task = asyncio.ensure_future(run_loop(
                self.model(), session.messages, self._toolbox(session, reporter), reporter,
                LoopGuard(self.limits), lambda: session.cancelled))
            outcome = await _outcome(session.task)
            session.task = None
            await reporter.summary(outcome)
            self._save(session)
            return _response(outcome, self.model().label)

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        """Interrupt the running prompt of ``session_id`` (it answers ``cancelled``)."""
        session = self.sessions.get(session_id)
        if session is not None:
            session.cancelled = True
            if session.task is not None:
                session.task.cancel()

    def _toolbox(self, session: Session, reporter: AcpReporter) -> Toolbox:
        workspace = Workspace(session.cwd)
        files = (ClientFiles(self.conn, session.id, session.cwd, workspace) if self.client_fs
                 else LocalFiles(workspace))
        return Toolbox(session.cwd, files, CommandRunner(self.policy, reporter.ask),
                       plan=reporter.plan, mail=AcpMail(self.conn), mcp=session.mcp)

    def _transcript(self, session_id: str) -> Path | None:
        return None if self.state_dir is None else self.state_dir / f"{session_id}.json"

    def _save(self, session: Session) -> None:
        path = self._transcript(session.id)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps([_message_dict(m) for m in session.messages]))


async def _outcome(task: asyncio.Future[LoopOutcome]) -> LoopOutcome:
    """The loop's outcome; a cancelled loop or a provider failure become outcomes too."""
    try:
        return await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # we ourselves are being cancelled
        return LoopOutcome("cancelled")
    except ProviderError as exc:
        return LoopOutcome("max_turn_requests", guard=f"the model provider failed "
                                                      f"({exc.kind}): {exc.message}")


def _response(outcome: LoopOutcome, label: str) -> PromptResponse:
    u = outcome.usage
    usage = AcpUsage(total_tokens=u.input_tokens + u.output_tokens, input_tokens=u.input_tokens,
                     output_tokens=u.output_tokens, cached_read_tokens=u.cached_tokens)
    meta = {"overmind": {"model": label, "cost_usd": outcome.cost_usd, "guard": outcome.guard,
                         "changed": outcome.changed}}
    return PromptResponse(stop_reason=outcome.stop_reason, usage=usage, field_meta=meta)


def _message_dict(m: Message) -> dict[str, Any]:
    return {"role": m.role, "content": m.content, "tool_call_id": m.tool_call_id,
            "name": m.name, "tool_calls": [{"id": c.id, "name": c.name,
                                            "arguments": c.arguments} for c in m.tool_calls]}


def _message(d: dict[str, Any]) -> Message:
    from ...llm.contract import ToolCall
    calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in d["tool_calls"])
    return Message(d["role"], d["content"], calls, d["tool_call_id"], d["name"])


def state_dir_from_env() -> Path | None:
    """``$OVERMIND_AGENT_STATE`` as a path, if set."""
    value = os.environ.get(AGENT_STATE_ENV)
    return Path(value) if value else None
