"""The SQLite schema is pinned; pragmas, migrations and version checks behave."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from overmind_jupyter.store import Store, default_db_path, schema
from overmind_jupyter.store.schema import MIGRATIONS, dump_schema

pytestmark = pytest.mark.timeout(60)

# Generated once from a fresh Store and pasted here: any schema change must edit this text
# (and come with a new migration, never an edit of a released one).
EXPECTED_SCHEMA = (
    "CREATE INDEX events_mission ON events(mission, seq) WHERE mission IS NOT NULL\n"
    "CREATE INDEX events_objective ON events(objective, seq) WHERE objective IS NOT NULL\n"
    "CREATE INDEX events_party ON events(party, seq) WHERE party IS NOT NULL\n"
    "CREATE INDEX missions_live ON missions(status) "
    "WHERE status NOT IN ('exited', 'failed', 'killed', 'lost')\n"
    "CREATE UNIQUE INDEX missions_live_name ON missions(name) "
    "WHERE status NOT IN ('exited', 'failed', 'killed', 'lost')\n"
    "CREATE INDEX missions_name ON missions(name, created_at)\n"
    "CREATE INDEX missions_parent ON missions(parent_id) WHERE parent_id IS NOT NULL\n"
    "CREATE INDEX records_parent ON records(kind, parent) WHERE parent IS NOT NULL\n"
    "CREATE INDEX records_state ON records(kind, state)\n"
    "CREATE TABLE events ( seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, "
    "type TEXT NOT NULL, mission TEXT, objective TEXT, party TEXT, "
    "data TEXT NOT NULL -- JSON object )\n"
    "CREATE TABLE missions ( id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
    "command TEXT NOT NULL, -- JSON argv cwd TEXT NOT NULL, env TEXT NOT NULL, "
    "-- JSON overrides parent_id TEXT REFERENCES missions(id), restart TEXT NOT NULL, "
    "-- JSON RestartPolicy activity_timeout_s REAL, grace_s REAL NOT NULL, agent TEXT, "
    "status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL, "
    "started_at REAL, pid INTEGER, pid_start REAL, restarts INTEGER NOT NULL DEFAULT 0, "
    "exit TEXT, -- JSON ExitInfo log_path TEXT NOT NULL )\n"
    "CREATE TABLE records ( kind TEXT NOT NULL, id TEXT NOT NULL, parent TEXT, "
    "-- e.g. the objective of a task or change state TEXT NOT NULL, "
    "created_at REAL NOT NULL, updated_at REAL NOT NULL, data TEXT NOT NULL, "
    "-- JSON object PRIMARY KEY (kind, id) )\n"
)


def test_schema_is_pinned(store: Store) -> None:
    assert dump_schema(store.conn) == EXPECTED_SCHEMA


def test_pragmas(store: Store) -> None:
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_wal_mode_persists_for_other_connections(store: Store, db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_store_creates_missing_directories(tmp_path: Path) -> None:
    path = default_db_path(tmp_path / "project")
    assert path == tmp_path / "project" / ".overmind" / "overmind.db"
    Store(path).close()
    assert path.is_file()


def test_reopening_is_idempotent(db_path: Path, make_mission) -> None:
    first = Store(db_path)
    mission = make_mission()
    first.insert_mission(mission)
    first.append_event("test-event", {"n": 1}, mission=mission.id)
    first.close()
    for _ in range(3):
        again = Store(db_path)
        try:
            assert dump_schema(again.conn) == EXPECTED_SCHEMA
            assert again.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
            assert again.get_mission(mission.id) == mission
            assert [e["type"] for e in again.read_events()] == ["mission-created", "test-event"]
        finally:
            again.close()


def test_newer_database_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw.close()
    with pytest.raises(sqlite3.DatabaseError, match="upgrade") as info:
        Store(db_path)
    assert f"version {len(MIGRATIONS) + 1} is newer" in str(info.value)
    raw = sqlite3.connect(db_path)  # untouched: still the newer version
    assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
    raw.close()


def test_old_database_is_migrated_forward(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    raw = sqlite3.connect(db_path, isolation_level=None)
    MIGRATIONS[0](raw)
    raw.execute("PRAGMA user_version = 1")
    raw.execute("INSERT INTO missions (id, name, kind, command, cwd, env, restart, grace_s, "
                "status, created_at, updated_at, log_path) VALUES ('old1', 'old', 'command', "
                "'[\"true\"]', '/', '{}', '{\"mode\": \"never\", \"max_restarts\": 5, "
                "\"window_s\": 60.0, \"backoff_ms\": 1000, \"cap_s\": 60.0, "
                "\"stable_s\": 10.0, \"jitter\": 0.1}', 5.0, 'exited', 1.0, 1.0, '/l')")
    raw.close()
    store = Store(db_path)
    try:
        assert dump_schema(store.conn) == EXPECTED_SCHEMA
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert store.get_mission("old1").name == "old"
    finally:
        store.close()


def test_failed_migration_leaves_the_previous_version(db_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(schema, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        Store(db_path)
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"
                           ).fetchone()[0] == 0
    finally:
        raw.close()
    monkeypatch.undo()
    store = Store(db_path)  # the released code still opens it
    assert dump_schema(store.conn) == EXPECTED_SCHEMA
    store.close()


def test_a_file_that_is_not_a_database_is_refused_and_kept(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is my notes file, not sqlite\n" * 200)
    before = db_path.read_bytes()
    with pytest.raises(sqlite3.DatabaseError):
        Store(db_path)
    assert db_path.read_bytes() == before


OPENER = """
import sys
from overmind_jupyter.store import Store
print("ready", flush=True)
for line in sys.stdin:
    try:
        Store(line.strip()).close()
        print("ok", flush=True)
    except Exception as exc:
        print("error", repr(exc), flush=True)
"""


def test_concurrent_first_open_of_a_fresh_database(tmp_path: Path, children) -> None:
    """Several processes (engine, CLI, kernel) opening a new project at once all succeed."""
    procs = [children.start(OPENER) for _ in range(4)]
    for p in procs:
        children.expect(p, "ready")
    for round_ in range(6):
        path = tmp_path / f"round{round_}" / "overmind.db"
        for p in procs:  # release them together
            p.stdin.write(f"{path}\n")
        for p in procs:
            p.stdin.flush()
        answers = [p.stdout.readline().strip() for p in procs]
        assert answers == ["ok"] * len(procs), f"round {round_}: {answers}"
        store = Store(path)
        try:
            assert dump_schema(store.conn) == EXPECTED_SCHEMA
            assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        finally:
            store.close()
    for p in procs:
        p.stdin.close()
        assert p.wait(timeout=20) == 0
