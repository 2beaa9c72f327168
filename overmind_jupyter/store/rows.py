"""Mapping between ``model.Mission`` values and ``missions`` table rows."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

from ..model import ExitInfo, Mission, MissionKind, MissionStatus, RestartMode, RestartPolicy

COLUMNS = ("id", "name", "kind", "command", "cwd", "env", "parent_id", "restart",
           "activity_timeout_s", "grace_s", "agent", "status", "created_at", "updated_at",
           "started_at", "pid", "pid_start", "restarts", "exit", "log_path")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM missions"


def policy_to_json(policy: RestartPolicy) -> str:
    """``RestartPolicy`` → JSON text (mode as its string value)."""
    d = dataclasses.asdict(policy)
    d["mode"] = policy.mode.value
    return json.dumps(d)


def policy_from_json(text: str) -> RestartPolicy:
    """JSON text → ``RestartPolicy``."""
    d = json.loads(text)
    d["mode"] = RestartMode(d["mode"])
    return RestartPolicy(**d)


def exit_to_json(info: ExitInfo | None) -> str | None:
    """``ExitInfo`` → JSON text (``None`` stays ``None``)."""
    return None if info is None else json.dumps(dataclasses.asdict(info))


def mission_to_row(m: Mission) -> tuple:
    """``Mission`` → tuple in ``COLUMNS`` order."""
    return (m.id, m.name, m.kind.value, json.dumps(m.command), m.cwd, json.dumps(m.env),
            m.parent_id, policy_to_json(m.restart), m.activity_timeout_s, m.grace_s, m.agent,
            m.status.value, m.created_at, m.updated_at, m.started_at, m.pid, m.pid_start,
            m.restarts, exit_to_json(m.exit), m.log_path)


def mission_from_row(row: sqlite3.Row | tuple) -> Mission:
    """Tuple in ``COLUMNS`` order → ``Mission``."""
    (id_, name, kind, command, cwd, env, parent_id, restart, activity, grace, agent, status,
     created, updated, started, pid, pid_start, restarts, exit_, log_path) = row
    return Mission(
        id=id_, name=name, kind=MissionKind(kind), command=json.loads(command), cwd=cwd,
        env=json.loads(env), parent_id=parent_id, restart=policy_from_json(restart),
        activity_timeout_s=activity, grace_s=grace, agent=agent, status=MissionStatus(status),
        created_at=created, updated_at=updated, started_at=started, pid=pid,
        pid_start=pid_start, restarts=restarts,
        exit=None if exit_ is None else ExitInfo(**json.loads(exit_)), log_path=log_path)


# The stable JSON shape of ``model.mission_to_dict``, built by SQLite's JSON functions in C
# (10,000 missions in a few ms instead of building a ``Mission`` per row).
JSON_OBJECT = """json_object(
    'id', id, 'name', name, 'kind', kind, 'status', status, 'command', json(command),
    'cwd', cwd, 'parent', parent_id, 'pid', pid, 'pid_start', pid_start,
    'restarts', restarts, 'created_at', created_at, 'updated_at', updated_at,
    'started_at', started_at, 'exit', json(exit), 'restart', json(restart),
    'activity_timeout_s', activity_timeout_s, 'grace_s', grace_s, 'agent', agent,
    'env_keys', CASE WHEN env = '{}' THEN json_array() ELSE
        (SELECT json_group_array(key) FROM (SELECT key FROM json_each(env) ORDER BY key)) END,
    'log_path', log_path)"""
