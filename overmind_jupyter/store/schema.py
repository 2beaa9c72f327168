"""SQLite schema as an ordered list of named migration functions (after simonw/llm).

``PRAGMA user_version`` records how many migrations ran; ``migrate`` applies the rest in
one transaction each. Never edit a released migration: append a new one. A test pins the
resulting schema (``tests/store/test_schema.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

TERMINAL_SQL = "('exited', 'failed', 'killed', 'lost')"


def m001_missions(conn: sqlite3.Connection) -> None:
    """Missions: one row per supervised process, current status kept in the row."""
    conn.execute("""
        CREATE TABLE missions (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            command TEXT NOT NULL,          -- JSON argv
            cwd TEXT NOT NULL,
            env TEXT NOT NULL,              -- JSON overrides
            parent_id TEXT REFERENCES missions(id),
            restart TEXT NOT NULL,          -- JSON RestartPolicy
            activity_timeout_s REAL,
            grace_s REAL NOT NULL,
            agent TEXT,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            started_at REAL,
            pid INTEGER,
            pid_start REAL,
            restarts INTEGER NOT NULL DEFAULT 0,
            exit TEXT,                      -- JSON ExitInfo
            log_path TEXT NOT NULL
        )""")
    conn.execute(f"CREATE UNIQUE INDEX missions_live_name ON missions(name) "
                 f"WHERE status NOT IN {TERMINAL_SQL}")
    conn.execute("CREATE INDEX missions_name ON missions(name, created_at)")
    conn.execute("CREATE INDEX missions_parent ON missions(parent_id) "
                 "WHERE parent_id IS NOT NULL")
    conn.execute(f"CREATE INDEX missions_live ON missions(status) "
                 f"WHERE status NOT IN {TERMINAL_SQL}")


def m002_events(conn: sqlite3.Connection) -> None:
    """Events: append-only; ``seq`` is SQLite's never-reused AUTOINCREMENT key."""
    conn.execute("""
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            ts REAL NOT NULL,
            type TEXT NOT NULL,
            mission TEXT,
            objective TEXT,
            party TEXT,
            data TEXT NOT NULL              -- JSON object
        )""")
    conn.execute("CREATE INDEX events_mission ON events(mission, seq) WHERE mission IS NOT NULL")
    conn.execute("CREATE INDEX events_objective ON events(objective, seq) "
                 "WHERE objective IS NOT NULL")
    conn.execute("CREATE INDEX events_party ON events(party, seq) WHERE party IS NOT NULL")


def m003_records(conn: sqlite3.Connection) -> None:
    """Records: orchestration entities (objective, task, change, question, message, prompt,
    member, invite) as one row each: key columns for lookups, the rest as a JSON document."""
    conn.execute("""
        CREATE TABLE records (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            parent TEXT,                    -- e.g. the objective of a task or change
            state TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            data TEXT NOT NULL,             -- JSON object
            PRIMARY KEY (kind, id)
        )""")
    conn.execute("CREATE INDEX records_parent ON records(kind, parent) "
                 "WHERE parent IS NOT NULL")
    conn.execute("CREATE INDEX records_state ON records(kind, state)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [m001_missions, m002_events,
                                                          m003_records]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version now in force.

    Raises:
        sqlite3.DatabaseError: the file is not a database or is newer than this code.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"database schema version {version} is newer than this Overmind "
            f"({len(MIGRATIONS)}); upgrade overmind-jupyter")
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                conn.execute("COMMIT")  # a concurrent opener already applied it
                continue
            step(conn)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


def dump_schema(conn: sqlite3.Connection) -> str:
    """The schema as normalised SQL text, one statement per line (for the pinning test)."""
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                        "AND name NOT LIKE 'sqlite_%' ORDER BY type, name").fetchall()
    return "\n".join(" ".join(sql.split()) for _, _, sql in rows) + "\n"
