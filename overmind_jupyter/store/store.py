"""The durable store: SQLite in WAL mode, one writer connection per engine.

Durability: ``synchronous=NORMAL`` in WAL mode survives ``kill -9`` of the process (only a
power loss can drop the last commits); a write is acknowledged once ``commit`` returns.
Event appends are buffered and written in one transaction per batch (``flush``), so the
event path is not one commit per event; a status transition flushes the buffer inside its
own transaction so that sequence numbers stay in order.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import events
from ..errors import InvalidTransition, NotFound
from ..events import Event
from ..model import Mission, MissionStatus, check_transition
from . import rows
from .schema import TERMINAL_SQL, migrate

_encode_str = json.encoder.encode_basestring_ascii  # what json.dumps uses for str
_BATCH_MAX = 2000
_EVENT_COLUMNS = "seq, ts, type, mission, objective, party, data"
_MUTABLE = frozenset({"pid", "pid_start", "started_at", "restarts", "exit"})


def connect(path: str | Path, timeout_s: float = 10.0) -> sqlite3.Connection:
    """Open ``path`` with Overmind's pragmas (WAL, busy_timeout, foreign keys) and migrate.

    ``isolation_level=None``: transactions are explicit ``BEGIN IMMEDIATE`` blocks.
    """
    conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    deadline = time.monotonic() + timeout_s
    while True:  # switching a fresh file to WAL can get SQLITE_BUSY without busy wait
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn)
    return conn


class Store:
    """Missions and events of one project, in ``<root>/.overmind/overmind.db``.

    Args:
        path: database file; its directory is created if missing.
        on_commit: called with the events of each committed batch, in ``seq`` order
            (the engine broadcasts from here, so a broadcast event is always durable).
        schedule_flush: called when a first event waits in an empty buffer: it arranges
            a ``flush`` soon (the engine's, on its loop); None: events wait for the next
            explicit ``flush`` (or a full batch).
    """

    def __init__(self, path: str | Path,
                 on_commit: Callable[[list[Event]], None] | None = None,
                 schedule_flush: Callable[[], None] | None = None) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self.conn = connect(path)
        self.on_commit = on_commit
        self.schedule_flush = schedule_flush
        self._pending: list[tuple] = []  # (ts, type, mission, objective, party, json, data)
        self._committed: list[Event] = []
        self.closed = False

    def close(self) -> None:
        """Flush buffered events and close the connection (``closed`` is True after)."""
        self.flush()
        self.conn.close()
        self.closed = True

    # -- transactions ---------------------------------------------------------------
    def _tx(self, body: Callable[[], Any]) -> Any:
        """Run ``body`` in ``BEGIN IMMEDIATE`` … ``COMMIT``, buffered events first.

        Events inserted inside the transaction are published after the commit.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        pending = self._pending
        try:
            self._insert_pending()
            result = body()
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            self._committed.clear()
            if self._pending is not pending:  # rolled back: keep them buffered, in order
                self._pending = pending + self._pending
            raise
        committed, self._committed = self._committed, []
        if committed and self.on_commit is not None:
            self.on_commit(committed)
        return result

    def _insert_pending(self) -> None:
        """Insert buffered events; AUTOINCREMENT under the write lock gives contiguous seqs."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self.conn.executemany(
            "INSERT INTO events (ts, type, mission, objective, party, data) VALUES (?,?,?,?,?,?)",
            [row[:6] for row in batch])
        last = self.conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        for seq, (ts, type_, mission, objective, party, _, data) in enumerate(
                batch, start=last - len(batch) + 1):
            self._committed.append({"seq": seq, "ts": ts, "type": type_, "mission": mission,
                                    "objective": objective, "party": party, "data": data})

    # -- events ---------------------------------------------------------------------
    def append_event(self, type_: str, data: dict[str, Any] | None = None, *,
                     mission: str | None = None, objective: str | None = None,
                     party: str | None = None) -> None:
        """Buffer one event; it gets its ``seq`` and is published at the next flush.

        ``data`` must be JSON-serialisable and is not copied: do not mutate it afterwards.

        Raises:
            InvalidEvent: ``type_`` is unknown or ``data`` lacks a field of its type
                (``events.check``); nothing is appended.
        """
        data = data or {}
        events.check(type_, data)
        self._pending.append((time.time(), type_, mission, objective, party,
                              json.dumps(data, separators=(",", ":")), data))
        if len(self._pending) >= _BATCH_MAX:
            self.flush()
        elif len(self._pending) == 1 and self.schedule_flush is not None:
            self.schedule_flush()

    def flush(self) -> None:
        """Write buffered events in one transaction and publish them."""
        if self._pending:
            self._tx(lambda: None)

    def read_events(self, after: int = 0, limit: int = 1000, *, mission: str | None = None,
                    objective: str | None = None, party: str | None = None,
                    latest: bool = False) -> list[Event]:
        """Committed events with ``seq > after`` in order, at most ``limit`` (the first
        ones, or with ``latest`` the last ones), filtered."""
        rows = self._read(after, limit, mission, objective, party, latest)
        return [_event(r) for r in (reversed(rows.fetchall()) if latest else rows)]

    def mirrored_objective_events(self) -> list[Event]:
        """The ``objective-created`` and ``objective-status`` events mirrored from a party's
        host (``data.mirror``), in seq order: the objectives a guest follows."""
        rows = self.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE type IN ('objective-created', "
            "'objective-status') AND objective IS NOT NULL AND "
            "json_extract(data, '$.mirror') IS NOT NULL ORDER BY seq")
        return [_event(r) for r in rows]

    def read_events_json(self, after: int = 0, limit: int = 1000, *,
                         mission: str | None = None, objective: str | None = None,
                         party: str | None = None,
                         any_of: dict[str, list[str]] | None = None) -> list[tuple[int, str]]:
        """``read_events`` as ``(seq, the event as JSON text)``, for replays; ``any_of``
        (column → values, columns among mission, objective, party): only events whose
        column has one of its values, for at least one column.

        The stored ``data`` text is embedded as it is (never decoded and encoded again);
        the text equals ``json.dumps(event, separators=(",", ":"))`` of ``read_events``.
        """
        return [(r[0], _event_json(r)) for r in self._read(after, limit, mission, objective,
                                                            party, any_of=any_of)]

    def _read(self, after: int, limit: int, mission: str | None, objective: str | None,
              party: str | None, latest: bool = False,
              any_of: dict[str, list[str]] | None = None) -> sqlite3.Cursor:
        where, args = ["seq > ?"], [after]
        for column, value in (("mission", mission), ("objective", objective), ("party", party)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if any_of is not None:
            alternatives = [(c, vs) for c, vs in any_of.items()
                            if c in ("mission", "objective", "party") and vs]
            where.append("(" + (" OR ".join(f"{c} IN ({', '.join('?' * len(vs))})"
                                            for c, vs in alternatives) or "0") + ")")
            args += [v for _, vs in alternatives for v in vs]
        sql = (f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} "
               f"ORDER BY seq {'DESC' if latest else ''} LIMIT ?")
        return self.conn.execute(sql, (*args, limit))

    def last_seq(self) -> int:
        """Highest committed sequence number (0 when there is none)."""
        return self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]

    # -- missions -------------------------------------------------------------------
    def insert_mission(self, mission: Mission) -> None:
        """Record a new mission and its ``mission-created`` event in one transaction.

        Raises:
            sqlite3.IntegrityError: a live mission already has this name.
        """
        def body() -> None:
            placeholders = ", ".join("?" * len(rows.COLUMNS))
            self.conn.execute(f"INSERT INTO missions ({', '.join(rows.COLUMNS)}) "
                              f"VALUES ({placeholders})", rows.mission_to_row(mission))
            self._event_now("mission-created", mission.id, {
                "name": mission.name, "kind": mission.kind.value, "command": mission.command,
                "parent": mission.parent_id, "status": mission.status.value})
        self._tx(body)

    def transition(self, mission_id: str, new: MissionStatus, reason: str = "",
                   fetch: bool = True, **fields: Any) -> Mission | None:
        """Move a mission to ``new``, validated against ``model.TRANSITIONS``, atomically.

        The check, the update, optional field updates (``pid``, ``pid_start``,
        ``started_at``, ``restarts``, ``exit``) and the ``mission-status`` event share one
        transaction, so concurrent writers cannot both leave a terminal state. Returns the
        updated mission, or None with ``fetch=False`` (saves a read on hot paths).

        Raises:
            NotFound: no mission with this id.
            InvalidTransition: the table forbids the move (e.g. out of a terminal state).
        """
        return self._tx(lambda: self._transition_body(mission_id, new, reason, fields, fetch))

    def _transition_body(self, mission_id: str, new: MissionStatus, reason: str,
                         fields: dict[str, Any], fetch: bool = True) -> Mission | None:
        row = self.conn.execute("SELECT status FROM missions WHERE id = ?",
                                (mission_id,)).fetchone()
        if row is None:
            raise NotFound(f"no mission with id {mission_id}")
        old = MissionStatus(row[0])
        check_transition(old, new)
        self._update(mission_id, status=new.value, **fields)
        data: dict[str, Any] = {"status": new.value, "previous": old.value, "reason": reason}
        if fields.get("pid"):
            data["pid"] = fields["pid"]
        if fields.get("exit") is not None:
            data["exit"] = json.loads(rows.exit_to_json(fields["exit"]))
        self._event_now("mission-status", mission_id, data)
        return self.get_mission(mission_id) if fetch else None

    def transition_many(self, moves: list[tuple[str, MissionStatus, str]]) -> int:
        """Apply ``(mission id, new status, reason)`` moves in ONE transaction.

        Each move is validated like ``transition``; a move the table forbids (e.g. the
        mission already ended) is skipped. Returns how many were applied.
        """
        def body() -> int:
            applied = 0
            for mission_id, new, reason in moves:
                try:
                    self._transition_body(mission_id, new, reason, {}, fetch=False)
                    applied += 1
                except (InvalidTransition, NotFound):
                    continue
            return applied
        return self._tx(body) if moves else 0

    def missions_by_id(self, ids: list[str]) -> list[Mission]:
        """The missions with these ids (unknown ids are left out)."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        return [rows.mission_from_row(r) for r in self.conn.execute(
            f"{rows.SELECT} WHERE id IN ({marks})", ids)]

    def update_mission(self, mission_id: str, **fields: Any) -> None:
        """Update fields other than status: ``pid``, ``pid_start``, ``started_at``, ``restarts``,
        ``exit``."""
        if "status" in fields:
            raise ValueError("status changes go through transition()")
        self._tx(lambda: self._update(mission_id, **fields))

    def _update(self, mission_id: str, status: str | None = None, **fields: Any) -> None:
        unknown = set(fields) - _MUTABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        if "exit" in fields:
            fields["exit"] = rows.exit_to_json(fields["exit"])
        values = {**fields, "updated_at": time.time()}
        if status is not None:
            values["status"] = status
        sets = ", ".join(f"{k} = ?" for k in values)
        self.conn.execute(f"UPDATE missions SET {sets} WHERE id = ?",
                          (*values.values(), mission_id))

    def _event_now(self, type_: str, mission: str | None, data: dict[str, Any],
                   objective: str | None = None, party: str | None = None) -> None:
        """Insert one event inside the caller's transaction; it is published after commit.

        Raises:
            InvalidEvent: see ``append_event`` (the transaction is rolled back).
        """
        events.check(type_, data)
        ts = time.time()
        cur = self.conn.execute(
            "INSERT INTO events (ts, type, mission, objective, party, data) VALUES (?,?,?,?,?,?)",
            (ts, type_, mission, objective, party, json.dumps(data, separators=(",", ":"))))
        self._committed.append({"seq": cur.lastrowid, "ts": ts, "type": type_,
                                "mission": mission, "objective": objective, "party": party,
                                "data": data})

    def mission_usage(self, mission_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Model use of each mission that reported any (``agent-usage`` events, committed
        ones): ``{id: {"tokens": input + output, "cost_usd": USD or None when no event
        priced it, "usage_seq": the last such event's seq}}``."""
        if not mission_ids:
            return {}
        marks = ",".join("?" * len(mission_ids))
        rows_ = self.conn.execute(
            "SELECT mission, SUM(COALESCE(json_extract(data, '$.input_tokens'), 0) + "
            "COALESCE(json_extract(data, '$.output_tokens'), 0)), "
            "SUM(json_extract(data, '$.cost_usd')), MAX(seq) FROM events "
            f"WHERE type = 'agent-usage' AND mission IN ({marks}) GROUP BY mission",
            mission_ids)
        return {m: {"tokens": int(tokens or 0), "cost_usd": cost, "usage_seq": seq}
                for m, tokens, cost, seq in rows_}

    def get_mission(self, mission_id: str) -> Mission:
        """The mission with exactly this id.

        Raises:
            NotFound: no such id.
        """
        row = self.conn.execute(f"{rows.SELECT} WHERE id = ?", (mission_id,)).fetchone()
        if row is None:
            raise NotFound(f"no mission with id {mission_id}")
        return rows.mission_from_row(row)

    def missions(self, *, live_only: bool = False) -> list[Mission]:
        """All missions (or only non-terminal ones), oldest first."""
        where = f" WHERE status NOT IN {TERMINAL_SQL}" if live_only else ""
        return [rows.mission_from_row(r)
                for r in self.conn.execute(f"{rows.SELECT}{where} ORDER BY created_at, rowid")]

    def missions_json(self, *, live_only: bool = False) -> str:
        """``missions()`` as a JSON array of ``model.mission_to_dict`` objects (one string)."""
        where = f" WHERE status NOT IN {TERMINAL_SQL}" if live_only else ""
        row = self.conn.execute(
            f"SELECT json_group_array({rows.JSON_OBJECT}) FROM (SELECT * FROM missions"
            f"{where} ORDER BY created_at, rowid)").fetchone()
        return row[0]

    def children(self, mission_id: str) -> list[Mission]:
        """Direct children of a mission, oldest first."""
        return [rows.mission_from_row(r) for r in self.conn.execute(
            f"{rows.SELECT} WHERE parent_id = ? ORDER BY created_at, rowid", (mission_id,))]

    def candidates(self, ref: str) -> list[Mission]:
        """Missions whose id starts with ``ref`` or whose name equals it, newest first."""
        pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [rows.mission_from_row(r) for r in self.conn.execute(
            f"{rows.SELECT} WHERE id LIKE ? ESCAPE '\\' OR name = ? ORDER BY created_at DESC",
            (pattern, ref))]

    def names(self) -> Iterable[str]:
        """Every mission name and id (for "did you mean" suggestions)."""
        for name, id_ in self.conn.execute("SELECT name, id FROM missions"):
            yield name
            yield id_

    def live_name_taken(self, name: str) -> bool:
        """Whether a non-terminal mission already uses ``name``."""
        return self.conn.execute(
            f"SELECT 1 FROM missions WHERE name = ? AND status NOT IN {TERMINAL_SQL}",
            (name,)).fetchone() is not None

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ``ok``."""
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _event(row: tuple) -> Event:
    seq, ts, type_, mission, objective, party, data = row
    return {"seq": seq, "ts": ts, "type": type_, "mission": mission, "objective": objective,
            "party": party, "data": json.loads(data)}


def _json_str(value: str | None) -> str:
    return "null" if value is None else _encode_str(value)


def _event_json(row: tuple) -> str:
    seq, ts, type_, mission, objective, party, data = row
    return (f'{{"seq":{seq},"ts":{ts!r},"type":{_json_str(type_)},"mission":'
            f'{_json_str(mission)},"objective":{_json_str(objective)},"party":'
            f'{_json_str(party)},"data":{data}}}')


def default_db_path(root: str | Path) -> Path:
    """``<root>/.overmind/overmind.db``."""
    return Path(root) / ".overmind" / "overmind.db"


def exclude_from_git(root: str | Path) -> None:
    """Add ``.overmind/`` to ``.git/info/exclude`` when ``root`` is a git work tree."""
    git = Path(root) / ".git"
    if not git.is_dir():
        return
    exclude = git / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    text = exclude.read_text() if exclude.exists() else ""
    if ".overmind/" not in text.split():
        with open(exclude, "a") as f:
            f.write(("" if text.endswith("\n") or not text else "\n") + ".overmind/\n")

