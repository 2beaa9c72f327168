"""The questions inbox: blocking requests to a human (tool approvals, clarifications …).

``ask`` records a ``question-asked`` event and waits for ``answer``; answering records
``question-answered`` and resumes the waiter. Open questions live in memory for now: a
question left open when the engine stops is reported as unanswered to its waiter.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from typing import Any

from ..errors import NotFound, UsageError
from ..store import Store


@dataclasses.dataclass(slots=True)
class Question:
    """An open or answered question. ``options``: the answers offered (free text if empty)."""

    id: str
    kind: str
    text: str
    options: tuple[str, ...]
    mission: str | None
    asked_at: float
    answer: str | None = None
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: ``{id, kind, text, options, mission, asked_at, answer, data}``."""
        return {"id": self.id, "kind": self.kind, "text": self.text,
                "options": list(self.options), "mission": self.mission,
                "asked_at": self.asked_at, "answer": self.answer, "data": self.data}


class Questions:
    """All questions of one engine."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.items: dict[str, Question] = {}
        self._waiters: dict[str, asyncio.Future[str]] = {}

    async def ask(self, kind: str, text: str, *, mission: str | None = None,
                  options: tuple[str, ...] = (), data: dict[str, Any] | None = None) -> str:
        """Ask and wait for the answer text."""
        q = Question(secrets.token_hex(4), kind, text, options, mission, time.time(),
                     data=data or {})
        self.items[q.id] = q
        future = asyncio.get_running_loop().create_future()
        self._waiters[q.id] = future
        self.store.append_event("question-asked", q.to_dict(), mission=mission)
        try:
            return await future
        finally:
            self._waiters.pop(q.id, None)

    def answer(self, ref: str, text: str) -> Question:
        """Answer the open question ``ref`` (id or unique prefix).

        Raises:
            NotFound: no open question matches.
            UsageError: the answer is not one of the offered options.
        """
        q = self._open(ref)
        if q.options and text not in q.options:
            raise UsageError(f"answer one of: {', '.join(q.options)}")
        q.answer = text
        self.store.append_event("question-answered", {"id": q.id, "answer": text},
                                mission=q.mission)
        waiter = self._waiters.get(q.id)
        if waiter is not None and not waiter.done():
            waiter.set_result(text)
        return q

    def _open(self, ref: str) -> Question:
        found = [q for q in self.items.values() if q.answer is None and q.id.startswith(ref)]
        if len(found) != 1:
            what = "no open question" if not found else f"{len(found)} open questions"
            raise NotFound(f"{what} matches {ref!r}; see `overmind questions`")
        return found[0]

    def open(self) -> list[Question]:
        """Questions waiting for an answer, oldest first."""
        return [q for q in self.items.values() if q.answer is None]
