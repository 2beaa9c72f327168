"""Reports the built-in agent's progress to the ACP client with ``session/update``."""

from __future__ import annotations

from typing import Any

from acp import (
    plan_entry,
    start_tool_call,
    text_block,
    tool_content,
    update_agent_message_text,
    update_agent_thought_text,
    update_plan,
    update_tool_call,
)
from acp.schema import PermissionOption, ToolCallLocation, ToolCallUpdate

from ...llm.contract import ToolCall, Usage
from .loop import LoopOutcome
from .tools import KINDS, ToolResult

RESULT_PREVIEW_CHARS = 4000


class AcpReporter:
    """``loop.Reporter`` over an ACP connection for one session."""

    def __init__(self, conn: Any, session_id: str, model_label: str) -> None:
        self.conn, self.session_id, self.model_label = conn, session_id, model_label
        self.current_call: ToolCall | None = None

    async def _update(self, update: Any) -> None:
        await self.conn.session_update(session_id=self.session_id, update=update)

    async def text(self, delta: str) -> None:
        await self._update(update_agent_message_text(delta))

    async def discard_text(self, reason: str) -> None:
        await self._update(update_agent_thought_text(f"(retrying the model call: {reason})"))

    async def tool_start(self, call: ToolCall) -> None:
        self.current_call = call
        path = call.arguments.get("path")
        await self._update(start_tool_call(
            call.id, _title(call), kind=KINDS.get(call.name, "other"), status="in_progress",
            raw_input=call.arguments,
            locations=[ToolCallLocation(path=str(path))] if isinstance(path, str) else None))

    async def tool_end(self, call: ToolCall, result: ToolResult) -> None:
        preview = result.text[:RESULT_PREVIEW_CHARS]
        await self._update(update_tool_call(
            call.id, status="completed" if result.ok else "failed",
            content=[tool_content(text_block(preview))],
            raw_output={"ok": result.ok, "changed": list(result.changed),
                        "chars": len(result.text)}))
        self.current_call = None

    async def plan(self, entries: list[dict[str, str]]) -> None:
        """Send the plan as an ACP ``plan`` update (the whole list, as ACP requires)."""
        await self._update(update_plan([plan_entry(e["content"], status=e["status"])
                                        for e in entries]))

    async def usage(self, usage: Usage, cost: float | None) -> None:
        """One turn's tokens and cost (USD), as the ACP extension notification
        ``_overmind/usage`` (ACP has no per-turn token counts of its own)."""
        await self.conn.ext_notification("overmind/usage", {
            "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens, "cost_usd": cost, "model": self.model_label})

    async def ask(self, command: str, reason: str) -> bool:
        """Ask the client (→ the host) whether to run ``command``; True when allowed."""
        call_id = self.current_call.id if self.current_call else "run_command"
        response = await self.conn.request_permission(
            session_id=self.session_id,
            tool_call=ToolCallUpdate(tool_call_id=call_id, title=f"run `{command}`",
                                     kind="execute", raw_input={"command": command,
                                                                "policy": reason}),
            options=[PermissionOption(option_id="allow", name="Allow once", kind="allow_once"),
                     PermissionOption(option_id="deny", name="Deny", kind="reject_once")])
        outcome = response.outcome
        return getattr(outcome, "outcome", "") == "selected" and outcome.option_id == "allow"

    async def summary(self, outcome: LoopOutcome) -> None:
        """A closing message: files changed, or why the loop stopped."""
        lines = []
        if outcome.guard:
            lines.append(f"Stopped: {outcome.guard}.")
        if outcome.changed:
            lines.append("Files changed: " + ", ".join(outcome.changed))
        elif outcome.stop_reason == "end_turn":
            lines.append("No files changed.")
        if lines:
            await self.text("\n\n" + "\n".join(lines))


def _title(call: ToolCall) -> str:
    args = call.arguments
    target = args.get("path") or args.get("command") or args.get("pattern") or ""
    return f"{call.name} {target}".strip()
