"""Blueprints: declarative TOML describing missions and their dependencies.

Format (``depends_on`` follows docker compose: a list means "started", a table may ask
for ``"completed"`` = exited with status 0)::

    name = "stack"                       # optional: name of the blueprint mission
    [missions.build]
    command = "python -m build"          # string (shell words) or argv list
    [missions.web]
    command = ["python", "-m", "http.server"]
    cwd = "site"                         # relative to the blueprint file's folder
    env = { PORT = "8000" }
    restart = "on-failure"               # never | on-failure | always
    max_restarts = 3
    backoff_ms = 500
    activity_timeout = 30                # s
    type = "command"                     # command | session
    depends_on = { build = "completed" }
    worktree = true                      # in its own git worktree; a clean exit that
                                         # edited files opens a change (`overmind changes`)

The blueprint run is itself a mission (no process of its own) whose children are the
declared missions, so ``wait``, ``logs`` and ``kill --cascade`` work on it.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path
from typing import Any

from ..errors import BlueprintError
from ..model import MissionKind, MissionSpec, RestartMode, RestartPolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONDITIONS = ("started", "completed")
_KEYS = {"command", "cwd", "env", "restart", "max_restarts", "backoff_ms", "restart_window",
         "activity_timeout", "type", "depends_on", "grace", "worktree"}


@dataclasses.dataclass(slots=True)
class Blueprint:
    """A parsed blueprint: mission specs by name (file order) and their dependencies."""

    name: str | None
    specs: dict[str, MissionSpec]
    depends: dict[str, dict[str, str]]  # mission → {dependency: "started" | "completed"}


def parse(text: str, source: str, base_dir: Path) -> Blueprint:
    """Parse and validate blueprint ``text`` (from ``source``, paths relative to ``base_dir``).

    Raises:
        BlueprintError: TOML syntax, unknown keys/values, unknown dependency, or a cycle
            (the message names it, e.g. ``a → b → a``).
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BlueprintError(f"{source}: not valid TOML: {exc}") from None
    missions = doc.get("missions")
    if not isinstance(missions, dict) or not missions:
        raise BlueprintError(f"{source}: declare at least one [missions.NAME] table")
    unknown_top = set(doc) - {"name", "missions"}
    if unknown_top:
        raise BlueprintError(f"{source}: unknown top-level keys {sorted(unknown_top)}; "
                             "expected name and [missions.*]")
    specs, depends = {}, {}
    for name, table in missions.items():
        specs[name], depends[name] = _mission(name, table, source, base_dir)
    _check_dependencies(depends, source)
    return Blueprint(doc.get("name"), specs, depends)


def _mission(name: str, table: Any, source: str, base_dir: Path
             ) -> tuple[MissionSpec, dict[str, str]]:
    where = f"{source}: [missions.{name}]"
    if not isinstance(table, dict):
        raise BlueprintError(f"{where} must be a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise BlueprintError(f"{where}: unknown keys {sorted(unknown)}; "
                             f"valid keys are {sorted(_KEYS)}")
    try:
        return _spec(name, table, base_dir), _depends(table.get("depends_on", []))
    except (TypeError, ValueError) as exc:
        raise BlueprintError(f"{where}: {exc}") from None


def _spec(name: str, t: dict[str, Any], base_dir: Path) -> MissionSpec:
    command = t.get("command")
    argv = shlex.split(command) if isinstance(command, str) else command
    if not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError("command must be a non-empty string or list of strings")
    restart = RestartPolicy(
        mode=RestartMode(t.get("restart", "never")), max_restarts=int(t.get("max_restarts", 5)),
        window_s=float(t.get("restart_window", 60)), backoff_ms=int(t.get("backoff_ms", 1000)))
    env = t.get("env", {})
    if not isinstance(env, dict):
        raise ValueError("env must be a table of strings")
    timeout = t.get("activity_timeout")
    if not isinstance(t.get("worktree", False), bool):
        raise ValueError("worktree must be true or false")
    return MissionSpec(
        command=list(argv), name=name, cwd=str((base_dir / t.get("cwd", ".")).resolve()),
        env={str(k): str(v) for k, v in env.items()}, kind=MissionKind(t.get("type", "command")),
        restart=restart, activity_timeout_s=None if timeout is None else float(timeout),
        grace_s=float(t.get("grace", 5)), worktree=t.get("worktree", False))


def _depends(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        return {str(d): "started" for d in value}
    if isinstance(value, dict):
        bad = {v for v in value.values() if v not in CONDITIONS}
        if bad:
            raise ValueError(f"depends_on conditions must be one of {CONDITIONS}, not {bad}")
        return {str(k): str(v) for k, v in value.items()}
    raise ValueError("depends_on must be a list of names or a table name = condition")


def _check_dependencies(depends: dict[str, dict[str, str]], source: str) -> None:
    for name, deps in depends.items():
        for dep in deps:
            if dep not in depends:
                raise BlueprintError(f"{source}: {name} depends on {dep}, which is not "
                                     f"declared (declared: {', '.join(depends)})")
    cycle = find_cycle({n: list(d) for n, d in depends.items()})
    if cycle:
        raise BlueprintError(f"{source}: dependency cycle: {' → '.join(cycle)}")


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle as a closed path ``[a, b, …, a]``, or None (iterative DFS)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in graph:
        if state.get(root):
            continue
        path, stack = [root], [iter(graph[root])]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return None
