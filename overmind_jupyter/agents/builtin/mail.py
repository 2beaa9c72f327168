"""The built-in agent's side of the mailbox: ACP extension methods to the engine
(``_overmind/send_message`` / ``_overmind/read_messages``, served by
``agents.acp_client.EngineClient``)."""

from __future__ import annotations

from typing import Any

from acp import RequestError

from .tools import ToolResult


class AcpMail:
    """Send and read mailbox messages over the agent's ACP connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def send(self, to: str, text: str) -> ToolResult:
        """Deliver ``text`` to ``to`` (an agent's name, a task name or ``host``)."""
        try:
            reply = await self.conn.ext_method("overmind/send_message", {"to": to, "text": text})
        except RequestError as exc:
            return ToolResult(False, f"message not sent: {exc}")
        return ToolResult(True, f"message {reply.get('id')} sent to {to}")

    async def read(self) -> ToolResult:
        """Unread messages to this agent (then marked read)."""
        try:
            reply = await self.conn.ext_method("overmind/read_messages", {})
        except RequestError as exc:
            return ToolResult(False, f"cannot read messages: {exc}")
        found = reply.get("messages") or []
        if not found:
            return ToolResult(True, "no new messages")
        return ToolResult(True, "\n\n".join(f"from {m['sender']}:\n{m['text']}" for m in found))
