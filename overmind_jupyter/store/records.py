"""Records: durable orchestration entities with validated state machines and data.

One table (``records``, migration m003) holds every kind — objective, task, change,
question, message, story, party, member, prompt, invite — as ``(kind, id, parent, state,
data)`` where ``data`` is a JSON object. Each kind's states, state machine and data model
live in ``store.kinds``: a write is checked against both (``InvalidTransition``; a
pydantic ``ValidationError`` for data no kind allows, a programming error), and a
``Record`` reads back with its kind's data model (``rec.data.title``). Writes share the
store's one connection and transaction helper, so a state change and its event commit
together.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from ..errors import AmbiguousReference, InvalidTransition, NotFound
from .kinds import RecordData, kind_of
from .store import Store

_COLUMNS = "kind, id, parent, state, created_at, updated_at, data"


@dataclasses.dataclass(slots=True)
class Record:
    """One stored entity. ``data`` is its kind's model (``store.kinds``; a fresh one per
    read); ``created_at`` / ``updated_at`` are epoch seconds."""

    kind: str
    id: str
    parent: str | None
    state: str
    created_at: float
    updated_at: float
    data: Any  # the kind's ``RecordData`` subclass (``store.kinds.KINDS[kind].data``)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: ``{id, parent, state, created_at, updated_at, **data}`` (the data
        fields written)."""
        return {**self.data.dump(), "id": self.id, "parent": self.parent, "state": self.state,
                "created_at": self.created_at, "updated_at": self.updated_at}


@dataclasses.dataclass(frozen=True, slots=True)
class EventSpec:
    """An event to append in the same transaction as a record write."""

    type: str
    data: dict[str, Any]
    mission: str | None = None
    objective: str | None = None
    party: str | None = None


class Records:
    """Typed access to the ``records`` table of one ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def insert(self, kind: str, id_: str, state: str, data: dict[str, Any], *,
               parent: str | None = None, event: EventSpec | None = None) -> Record:
        """Insert a new record (and ``event``) in one transaction.

        Raises:
            sqlite3.IntegrityError: ``(kind, id)`` exists already.
        """
        return self.store._tx(lambda: self.insert_now(kind, id_, state, data, parent=parent,
                                                      event=event))

    def insert_now(self, kind: str, id_: str, state: str, data: dict[str, Any], *,
                   parent: str | None = None, event: EventSpec | None = None) -> Record:
        """``insert`` inside ``atomic`` (the caller's transaction)."""
        now, doc = time.time(), _data(kind, data)
        kind_of(kind).states(state)  # a state the kind has (ValueError otherwise)
        self.store.conn.execute(f"INSERT INTO records ({_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
                                (kind, id_, parent, state, now, now, _dumps(doc)))
        self._event(event)
        return Record(kind, id_, parent, state, now, now, doc)

    def get(self, kind: str, id_: str) -> Record:
        """The record ``(kind, id)``.

        Raises:
            NotFound: no such record.
        """
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM records WHERE kind = ? AND id = ?",
                                      (kind, id_)).fetchone()
        if row is None:
            raise NotFound(f"no {kind} with id {id_}")
        return _record(row)

    def find(self, kind: str, ref: str) -> list[Record]:
        """Records of ``kind`` whose id starts with ``ref`` or whose ``data.name`` equals it."""
        pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [_record(r) for r in self.store.conn.execute(
            f"SELECT {_COLUMNS} FROM records WHERE kind = ? AND (id LIKE ? ESCAPE '\\' "
            "OR json_extract(data, '$.name') = ?) ORDER BY created_at, rowid",
            (kind, pattern, ref))]

    def list(self, kind: str, *, parent: str | None = None,
             states: tuple[str, ...] | None = None) -> list[Record]:
        """Records of ``kind`` (optionally of one ``parent`` / in ``states``), oldest first."""
        sql, args = f"SELECT {_COLUMNS} FROM records WHERE kind = ?", [kind]
        if parent is not None:
            sql, args = sql + " AND parent = ?", [*args, parent]
        if states is not None:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            args += list(states)
        return [_record(r) for r in self.store.conn.execute(sql + " ORDER BY created_at, rowid",
                                                           args)]

    def update(self, kind: str, id_: str, *, event: EventSpec | None = None,
               **changes: Any) -> Record:
        """Merge ``changes`` into the record's ``data`` (state unchanged), with ``event``.

        Raises:
            NotFound: no such record.
        """
        return self.store._tx(lambda: self._write(kind, id_, None, changes, event))

    def transition(self, kind: str, id_: str, new: str, *,
                   event: EventSpec | None = None, **changes: Any) -> Record:
        """Move a record to state ``new`` if its kind's state machine (``store.kinds``)
        allows it from the current state; merge ``changes`` into ``data`` and append
        ``event`` in the same transaction.

        Raises:
            NotFound: no such record.
            InvalidTransition: the state machine forbids the move (terminal states are
                final).
        """
        return self.store._tx(lambda: self._write(kind, id_, new, changes, event))

    def atomic(self, body: Callable[[], Any]) -> Any:
        """Run ``body`` in one write transaction (``BEGIN IMMEDIATE``): what it reads
        cannot change before its ``write_now`` calls commit (a check-then-write, such as
        claiming a slot, is atomic across connections). Returns ``body()``."""
        return self.store._tx(body)

    def write_now(self, kind: str, id_: str, new: str | None, *,
                  event: EventSpec | None = None, **changes: Any) -> Record:
        """``transition`` (``new`` set) or ``update`` (``new`` None) inside ``atomic``."""
        return self._write(kind, id_, new, changes, event)

    def _write(self, kind: str, id_: str, new: str | None, changes: dict[str, Any],
               event: EventSpec | None) -> Record:
        rec = self.get(kind, id_)
        table = kind_of(kind).table
        if new is not None and table is not None and new not in table.get(rec.state, ()):
            raise InvalidTransition(f"{kind} {id_} cannot go from {rec.state} to {new}")
        rec.data = _data(kind, {**rec.data.dump(), **changes})
        rec.state = new or rec.state
        rec.updated_at = time.time()
        self.store.conn.execute(
            "UPDATE records SET state = ?, data = ?, updated_at = ? WHERE kind = ? AND id = ?",
            (rec.state, _dumps(rec.data), rec.updated_at, kind, id_))
        self._event(event)
        return rec

    def _event(self, event: EventSpec | None) -> None:
        if event is not None:
            self.store._event_now(event.type, event.mission, event.data,
                                  objective=event.objective, party=event.party)


def _data(kind: str, fields: dict[str, Any]) -> RecordData:
    """``fields`` as ``kind``'s data model (pydantic ``ValidationError``: fields it has
    not, or of the wrong type)."""
    return kind_of(kind).data.model_validate(fields)


def _dumps(data: RecordData) -> str:
    return json.dumps(data.dump(), separators=(",", ":"))


def _record(row: tuple) -> Record:
    kind, id_, parent, state, created, updated, data = row
    return Record(kind, id_, parent, state, created, updated, _data(kind, json.loads(data)))


def only(found: list[Record], kind: str, ref: str, listing: str) -> Record:
    """The one record in ``found`` (what ``ref`` matched).

    Raises:
        NotFound: none (the message points at ``listing``, the command that lists them).
        AmbiguousReference: several (their ids are named).
    """
    if not found:
        raise NotFound(f"no {kind} matches {ref!r}; see `{listing}`")
    if len(found) > 1:
        raise AmbiguousReference(f"{ref!r} matches {len(found)} {kind}s: "
                                 f"{', '.join(r.id for r in found)}")
    return found[0]
