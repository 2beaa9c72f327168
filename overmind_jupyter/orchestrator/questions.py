"""The questions inbox: blocking requests to a human (tool approvals, clarifications,
conflicts, budget stops), durable in the store (records of kind ``question``).

Two ways to ask:

- ``ask`` records a question and waits for its answer (an agent's permission request).
  Such a question dies with the engine: on the next start it is ``cancelled``, because
  the asker is gone.
- ``post`` records a question whose answer is dispatched to the handler registered for
  its ``kind`` (``handle``), so it survives an engine restart (merge conflicts, budget
  stops, failed verifications).

Answering records ``question-answered`` and resumes the waiter or runs the handler.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import AmbiguousReference, NotFound, UsageError
from ..store import Store
from ..store.records import EventSpec, Record, Records

log = logging.getLogger("overmind.questions")
KIND = "question"
Handler = Callable[["Question", str], Awaitable[None]]
Validator = Callable[["Question", str], None]  # raises UsageError for an answer refused


@dataclasses.dataclass(slots=True)
class Question:
    """A question. ``options``: the answers offered (free text if empty); ``state``:
    open | answered | cancelled; ``data``: what the UI shows beside it (e.g. a conflict)."""

    id: str
    kind: str
    text: str
    options: tuple[str, ...]
    mission: str | None
    asked_at: float
    answer: str | None = None
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    objective: str | None = None
    state: str = "open"
    answered_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: ``{id, kind, text, options, mission, objective, asked_at, state,
        answer, answered_by, data}``."""
        return {"id": self.id, "kind": self.kind, "text": self.text,
                "options": list(self.options), "mission": self.mission,
                "objective": self.objective, "asked_at": self.asked_at, "state": self.state,
                "answer": self.answer, "answered_by": self.answered_by, "data": self.data}


def _leave(waiters: list[asyncio.Future[Question]]) -> Callable[[asyncio.Future[Question]],
                                                                None]:
    def leave(future: asyncio.Future[Question]) -> None:
        if future in waiters:
            waiters.remove(future)
    return leave


def question_from_dict(d: dict[str, Any]) -> Question:
    """Inverse of ``Question.to_dict`` (what a REST client gets back).

    Raises:
        KeyError: a field is missing.
    """
    return Question(id=d["id"], kind=d["kind"], text=d["text"], options=tuple(d["options"]),
                    mission=d["mission"], asked_at=d["asked_at"], answer=d["answer"],
                    data=d["data"], objective=d["objective"], state=d["state"],
                    answered_by=d["answered_by"])


class Questions:
    """All questions of one engine (durable), with waiters and per-kind handlers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.records = Records(store)
        self._waiters: dict[str, asyncio.Future[str]] = {}
        self._asked: dict[str, list[asyncio.Future[Question]]] = {}  # objective → waiters
        self.handlers: dict[str, Handler] = {}
        self.validators: dict[str, Validator] = {}

    def start(self) -> int:
        """Cancel questions whose waiter died with the previous engine; return how many."""
        stale = [r for r in self.records.list(KIND, states=("open",)) if r.data.waits]
        for rec in stale:
            self._cancel(rec.id, "the engine restarted; the asker is gone")
        return len(stale)

    def handle(self, kind: str, handler: Handler, validate: Validator | None = None) -> None:
        """Dispatch answers to questions of ``kind`` posted with ``post`` to ``handler``.
        ``validate(question, answer)`` accepts answers beyond the offered options (it
        raises ``UsageError`` for one it refuses)."""
        self.handlers[kind] = handler
        if validate is not None:
            self.validators[kind] = validate

    async def ask(self, kind: str, text: str, *, mission: str | None = None,
                  objective: str | None = None, options: tuple[str, ...] = (),
                  data: dict[str, Any] | None = None) -> str:
        """Ask and wait for the answer text.

        Raises:
            asyncio.CancelledError: the question was cancelled (the waiter is gone).
        """
        q = self._insert(kind, text, mission, objective, options, data or {}, waits=True)
        future = asyncio.get_running_loop().create_future()
        self._waiters[q.id] = future
        try:
            return await future
        finally:
            self._waiters.pop(q.id, None)

    def post(self, kind: str, text: str, *, mission: str | None = None,
             objective: str | None = None, options: tuple[str, ...] = (),
             data: dict[str, Any] | None = None) -> Question:
        """Record a question answered later through the handler of ``kind``."""
        return self._insert(kind, text, mission, objective, options, data or {}, waits=False)

    def _insert(self, kind: str, text: str, mission: str | None, objective: str | None,
                options: tuple[str, ...], data: dict[str, Any], waits: bool) -> Question:
        qid = secrets.token_hex(4)
        doc = {"kind": kind, "text": text, "options": list(options), "mission": mission,
               "objective": objective, "data": data, "waits": waits}
        rec = self.records.insert(KIND, qid, "open", doc, parent=objective)
        q = _question(rec)
        self.store.append_event("question-asked", q.to_dict(), mission=mission,
                                objective=objective)
        for waiter in self._asked.pop(objective or "", []):
            if not waiter.done():
                waiter.set_result(q)
        return q

    def asked_for(self, objective: str) -> asyncio.Future[Question]:
        """The first open question of ``objective``: resolved at once with the oldest one
        open now, else with the next one asked (cancel it to stop waiting)."""
        future: asyncio.Future[Question] = asyncio.get_running_loop().create_future()
        waiting = [q for q in self.open() if q.objective == objective]
        if waiting:
            future.set_result(waiting[0])
            return future
        waiters = self._asked.setdefault(objective, [])
        waiters.append(future)
        future.add_done_callback(_leave(waiters))  # a cancelled wait leaves no waiter behind
        return future

    async def answer(self, ref: str, text: str, by: str = "host") -> Question:
        """Answer the open question ``ref`` (id or unique id prefix); resume its asker.

        Raises:
            NotFound: no open question matches.
            AmbiguousReference: several open questions match.
            UsageError: the answer is not one of the offered options.
        """
        q = self._open(ref)
        waits = self.records.get(KIND, q.id).data.waits  # an asker awaits it: free text
        validate = None if waits else self.validators.get(q.kind)
        if validate is not None:
            validate(q, text)  # before anything is recorded: a refused answer loses nothing
        elif q.options and text not in q.options:
            raise UsageError(f"answer one of: {', '.join(q.options)}")
        rec = self.records.transition(KIND, q.id, "answered", answer=text,
                                      answered_by=by, event=self._event(
                                          self.records.get(KIND, q.id), "question-answered",
                                          {"id": q.id, "answer": text, "by": by,
                                           "state": "answered"}))
        q = _question(rec)
        waiter = self._waiters.get(q.id)
        if waiter is not None and not waiter.done():
            waiter.set_result(text)
        elif q.kind in self.handlers:
            await self.handlers[q.kind](q, text)
        return q

    def cancel_for(self, *, mission: str | None = None, objective: str | None = None,
                   reason: str) -> None:
        """Cancel open questions of a mission or objective that ended (nobody will act)."""
        self.cancel_matching(lambda q: bool((mission and q.mission == mission)
                                            or (objective and q.objective == objective)),
                             reason)

    def cancel_matching(self, predicate: Callable[[Question], bool], reason: str) -> None:
        """Cancel every open question for which ``predicate`` is true; wake its waiter."""
        for q in self.open():
            if predicate(q):
                self._cancel(q.id, reason)

    def _cancel(self, qid: str, reason: str) -> None:
        """Move an open question to ``cancelled`` (with its event) and wake its waiter."""
        self.records.transition(KIND, qid, "cancelled",
                                event=self._event(self.records.get(KIND, qid),
                                                  "question-answered", {
                                                      "id": qid, "answer": None,
                                                      "state": "cancelled", "reason": reason}))
        waiter = self._waiters.get(qid)
        if waiter is not None and not waiter.done():
            waiter.cancel(reason)

    def _open(self, ref: str) -> Question:
        found = [q for q in self.open() if q.id.startswith(ref)]
        if not found:
            raise NotFound(f"no open question matches {ref!r}; see `overmind questions`")
        if len(found) > 1:
            raise AmbiguousReference(f"{len(found)} open questions match {ref!r}; "
                                     "give more of the id")
        return found[0]

    def open(self) -> list[Question]:
        """Questions waiting for an answer, oldest first."""
        return [_question(r) for r in self.records.list(KIND, states=("open",))]

    def get(self, qid: str) -> Question:
        """The question with exactly this id (any state).

        Raises:
            NotFound: no such question.
        """
        return _question(self.records.get(KIND, qid))

    @staticmethod
    def _event(rec: Record, type_: str, data: dict[str, Any]) -> EventSpec:
        return EventSpec(type_, data, mission=rec.data.mission,
                         objective=rec.data.objective)


def _question(rec: Record) -> Question:
    d = rec.data
    return Question(rec.id, d.kind, d.text, tuple(d.options), d.mission, rec.created_at,
                    d.answer, d.data, d.objective, rec.state, d.answered_by)
