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
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from .. import bounds
from ..errors import BlueprintError, UsageError
from ..model import MissionKind, MissionSpec, RestartMode, RestartPolicy
from .names import valid_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONDITIONS = ("started", "completed")


@dataclasses.dataclass(slots=True)
class Blueprint:
    """A parsed blueprint: mission specs by name (file order) and their dependencies."""

    name: str | None
    specs: dict[str, MissionSpec]
    depends: dict[str, dict[str, str]]  # mission → {dependency: "started" | "completed"}


class _Table(BaseModel):
    """One ``[missions.NAME]`` table (types checked here; messages name the key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    command: StrictStr | list[StrictStr]
    cwd: StrictStr = "."
    env: dict[StrictStr, StrictStr | StrictInt | StrictFloat | StrictBool] = {}
    restart: RestartMode = RestartMode.NEVER
    max_restarts: StrictInt = Field(5, ge=0)
    backoff_ms: StrictInt = Field(1000, ge=0)
    restart_window: StrictInt | StrictFloat = Field(60, gt=0)
    activity_timeout: StrictInt | StrictFloat | None = Field(None, gt=0)
    type: Literal["command", "session"] = "command"
    depends_on: list[StrictStr] | dict[StrictStr, Literal["started", "completed"]] = []
    grace: StrictInt | StrictFloat = Field(5, ge=0)
    worktree: StrictBool = False


def parse(text: str, source: str, base_dir: Path) -> Blueprint:
    """Parse and validate blueprint ``text`` (from ``source``, paths relative to ``base_dir``).

    Raises:
        BlueprintError: TOML syntax, size or nesting (``bounds``), unknown keys, a value of
            the wrong type (the message names the key and the type expected), an invalid
            mission name, an unknown dependency, or a cycle (named, e.g. ``a → b → a``).
    """
    try:
        doc = bounds.load_toml(text, what=f"{source}")
    except tomllib.TOMLDecodeError as exc:
        raise BlueprintError(f"{source}: not valid TOML: {exc}") from None
    except UsageError as exc:
        raise BlueprintError(exc.message) from None
    missions = doc.get("missions")
    if not isinstance(missions, dict) or not missions:
        raise BlueprintError(f"{source}: declare at least one [missions.NAME] table")
    unknown_top = set(doc) - {"name", "missions"}
    if unknown_top:
        raise BlueprintError(f"{source}: unknown top-level keys {sorted(unknown_top)}; "
                             "expected name and [missions.*]")
    name = doc.get("name")
    if name is not None and not (isinstance(name, str) and valid_name(name)):
        raise BlueprintError(f"{source}: name must be a mission name (letters, digits, "
                             f"'.', '_' or '-', at most 63), not {name!r:.60}")
    specs, depends = {}, {}
    for mission, table in missions.items():
        specs[mission], depends[mission] = _mission(mission, table, source, base_dir)
    _check_dependencies(depends, source)
    return Blueprint(name, specs, depends)


def _mission(name: str, table: Any, source: str, base_dir: Path
             ) -> tuple[MissionSpec, dict[str, str]]:
    where = f"{source}: [missions.{name[:63]}]"
    if not valid_name(name):
        raise BlueprintError(f"{where}: invalid mission name; use letters, digits, '.', "
                             "'_' or '-' (at most 63, starting with a letter or digit)")
    if not isinstance(table, dict):
        raise BlueprintError(f"{where} must be a table")
    unknown = set(table) - set(_Table.model_fields)
    if unknown:
        raise BlueprintError(f"{where}: unknown keys {sorted(unknown)}; "
                             f"valid keys are {sorted(_Table.model_fields)}")
    try:
        t = _Table.model_validate(table)
    except ValidationError as exc:
        raise BlueprintError(f"{where}: {_problems(exc)}") from None
    try:
        return _spec(name, t, base_dir), _depends(t.depends_on)
    except ValueError as exc:
        raise BlueprintError(f"{where}: {exc}") from None


_EXPECTED = {  # the union-typed keys: one sentence instead of one per alternative
    "command": "must be a non-empty string or a list of strings",
    "env": "must be a table of strings, numbers or booleans",
    "worktree": "must be true or false",
    "depends_on": f"must be a list of names or a table name = condition; depends_on "
                  f"conditions must be one of {CONDITIONS}",
}


def _problems(exc: ValidationError) -> str:
    """``key: what is wrong`` for each problem (pydantic's words, input not echoed)."""
    words = []
    for e in exc.errors(include_url=False)[:5]:
        key = str(e["loc"][0]) if e["loc"] else "table"
        words.append(f"{key}: " + _EXPECTED.get(key, e["msg"].replace("Input should be",
                                                                       "must be")))
    return "; ".join(dict.fromkeys(words))


def _spec(name: str, t: _Table, base_dir: Path) -> MissionSpec:
    argv = shlex.split(t.command) if isinstance(t.command, str) else t.command
    if not argv:
        raise ValueError("command must be a non-empty string or list of strings")
    restart = RestartPolicy(mode=t.restart, max_restarts=t.max_restarts,
                            window_s=float(t.restart_window), backoff_ms=t.backoff_ms)
    return MissionSpec(
        command=list(argv), name=name, cwd=str((base_dir / t.cwd).resolve()),
        env={k: str(v) for k, v in t.env.items()}, kind=MissionKind(t.type),
        restart=restart,
        activity_timeout_s=None if t.activity_timeout is None else float(t.activity_timeout),
        grace_s=float(t.grace), worktree=t.worktree)


def _depends(value: list[str] | dict[str, str]) -> dict[str, str]:
    if isinstance(value, list):
        return {d: "started" for d in value}
    return dict(value)


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
