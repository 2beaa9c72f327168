"""The mailbox: messages between agents and humans (after Overstory's SQLite mailbox).

A message is a record (kind ``message``) and a ``message`` event. Addresses are names:
an agent mission's name (e.g. ``docs-1a2b``), a task name, or ``host``. Agents send and
read through ACP extension methods (``_overmind/send_message``, ``_overmind/read_messages``
served by ``agents.acp_client.EngineClient``); humans through the engine's
``send_message`` / ``messages``.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import UsageError
from ..store.records import EventSpec, Record, Records

KIND = "message"
MAX_CHARS = 20_000


class Mailbox:
    """Messages of one engine."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def send(self, sender: str, recipient: str, text: str, *, objective: str | None = None,
             mission: str | None = None) -> Record:
        """Deliver ``text`` from ``sender`` to ``recipient`` (names); append a ``message`` event.

        Raises:
            UsageError: empty recipient or text, or text over ``MAX_CHARS`` characters.
        """
        if not recipient.strip() or not text.strip() or len(text) > MAX_CHARS:
            raise UsageError(f"a message needs a recipient and 1 to {MAX_CHARS} characters "
                             "of text")
        mid = secrets.token_hex(4)
        doc = {"sender": sender, "recipient": recipient.strip(), "text": text, "read": False}
        return self.records.insert(KIND, mid, "sent", doc, parent=objective, event=EventSpec(
            "message", {"id": mid, **doc}, mission=mission, objective=objective))

    def inbox(self, recipients: tuple[str, ...], *, unread_only: bool = True,
              mark_read: bool = True) -> list[Record]:
        """Messages to any of ``recipients``, oldest first (then marked read)."""
        found = [r for r in self.records.list(KIND) if r.data.recipient in recipients
                 and not (unread_only and r.data.read)]
        if mark_read:
            for rec in found:
                self.records.update(KIND, rec.id, read=True)
        return found

    def all(self, recipient: str | None = None) -> list[dict[str, Any]]:
        """Every message (to ``recipient`` only, if given), oldest first."""
        return [r.to_dict() for r in self.records.list(KIND)
                if recipient is None or r.data.recipient == recipient]
