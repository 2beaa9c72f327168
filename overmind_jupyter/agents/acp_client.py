"""The ACP client side one agent mission talks to: what the engine serves an agent.

``session/update`` → events (``updates.py``); ``fs/read_text_file`` / ``fs/write_text_file``
confined to the mission's workspace (``confine.Workspace``; errors as the ACP schema
specifies: a missing file is resource-not-found, -32002, anything else refused is
invalid-params, -32602); ``session/request_permission`` answered by the command policy or
the host (``permissions.py``); Overmind's extensions ``_overmind/usage`` (per-turn usage)
and the mailbox ``_overmind/send_message`` / ``_overmind/read_messages``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acp import RequestError
from acp.schema import (
    AllowedOutcome,
    DeniedOutcome,
    ReadTextFileResponse,
    RequestPermissionResponse,
    WriteTextFileResponse,
)

from ..errors import OvermindError
from ..model import Mission
from .confine import Workspace
from .mcp_access import own_tool
from .permissions import Answer, command_of, judge, option_for
from .policy import Decision
from .updates import to_event

if TYPE_CHECKING:
    from .runtime import AgentRuntime


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
        self.runtime.state(self.mission.id).turn_usage = True
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
            return {"messages": [{"id": r.id, "sender": r.data.sender, "text": r.data.text}
                                 for r in mailbox.inbox(names)]}
        try:
            rec = mailbox.send(m.name, str(params.get("to", "")), str(params.get("text", "")),
                               mission=m.id)
        except OvermindError as exc:
            raise RequestError.invalid_params({"message": exc.message}) from None
        return {"id": rec.id}

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        """Record the update as an event; keep the session's cost (USD) for its usage."""
        state = self.runtime.state(self.mission.id)
        cost = getattr(update, "cost", None)
        if cost is not None and cost.currency == "USD" and cost.amount >= 0:
            state.session_cost = float(cost.amount)
        model = (getattr(update, "field_meta", None) or {}).get("_claude/model")
        if isinstance(model, str):
            state.model = model[:100]
        event = to_event(update)
        if event is not None:
            self.runtime.record(self.mission, *event)

    async def read_text_file(self, session_id: str, path: str, line: int | None = None,
                             limit: int | None = None, **kwargs: Any) -> ReadTextFileResponse:
        """Serve a read confined to the workspace."""
        try:
            return ReadTextFileResponse(content=self.workspace.read_text(path, line, limit))
        except FileNotFoundError:
            raise RequestError.resource_not_found(path) from None
        except (OvermindError, OSError) as exc:
            raise RequestError.invalid_params({"message": message_of(exc)}) from None

    async def write_text_file(self, session_id: str, path: str, content: str,
                              **kwargs: Any) -> WriteTextFileResponse:
        """Serve a write confined to the workspace."""
        try:
            self.workspace.write_text(path, content)
        except (OvermindError, OSError) as exc:
            raise RequestError.invalid_params({"message": message_of(exc)}) from None
        return WriteTextFileResponse()

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **kwargs: Any) -> RequestPermissionResponse:
        """The policy allows (once) or denies commands it can judge (event
        ``tool-decision`` {tool_call, command, decision, reason}); the host answers the
        rest. The answer is the agent's option of the matching kind (``permissions.py``)."""
        command = command_of(tool_call)
        if own_tool(tool_call.title) and self.runtime.mcp is not None:
            # Overmind's own tools act only through the mission's scoped credential
            # (ask_user is itself a question to the host): asking first adds nothing
            decision, reason = Decision.ALLOW, f"Overmind's own tool {tool_call.title}"
        else:
            decision, reason = judge(self.runtime.policy, command)
        if decision is Decision.ASK:
            always = any(str(o.kind) == "allow_always" for o in options)
            answer = await self._ask_host(tool_call, command.text if command else None,
                                          reason, always)
        else:  # decided by the policy: recorded, as the host's answers are
            answer = Answer.ALLOW if decision is Decision.ALLOW else Answer.DENY
            self.runtime.record(self.mission, "tool-decision", {
                "tool_call": tool_call.tool_call_id, "command": command.text if command
                else None, "decision": decision.value, "reason": reason})
        chosen = option_for(answer, options)
        if chosen is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected",
                                                                option_id=chosen))

    async def _ask_host(self, tool_call: Any, command: str | None, why: str,
                        always: bool) -> Answer:
        """Ask the host; ``always`` is offered when the agent has such an option."""
        rt = self.runtime
        rt.set_liveness(self.mission.id, "waiting")
        try:
            answer = await rt.ask("tool-approval", f"{self.mission.name} asks to "
                                  f"{tool_call.title or 'use a tool'}", mission=self.mission.id,
                                  options=tuple(a.value for a in Answer
                                                if always or a is not Answer.ALWAYS),
                                  data={"tool_call": tool_call.tool_call_id,
                                        "input": tool_call.raw_input, "command": command,
                                        "policy": why})
        finally:
            rt.set_liveness(self.mission.id, "working")
        try:
            return Answer(answer.strip().lower())
        except ValueError:
            return Answer.DENY  # free text is no permission


def message_of(exc: Exception) -> str:
    """An exception's human message: ``OvermindError.message``, or a JSON-RPC error's text
    with the detail its ``data`` carries (agents put the real reason there)."""
    if isinstance(exc, RequestError):
        data = exc.data
        detail = data.get("message") or data.get("details") if isinstance(data, dict) else data
        return f"{exc}: {detail}" if detail else str(exc)
    return getattr(exc, "message", None) or str(exc)
