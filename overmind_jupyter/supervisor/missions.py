"""Mission records: turn a spec into a new mission row, and resolve references to one.

References follow the grammar's rule: exact id, then name (a live mission first, then the
newest), then a unique id prefix; a miss names close matches, an ambiguous prefix lists
the candidates.
"""

from __future__ import annotations

import contextlib
import difflib
import sqlite3
import time
from pathlib import Path

from ..errors import AmbiguousReference, NotFound, UsageError
from ..model import Mission, MissionSpec, MissionStatus
from ..store import Store
from . import logs, names


def create(store: Store, spec: MissionSpec, *, root: Path, logs_dir: Path,
           status: MissionStatus = MissionStatus.PENDING,
           command: list[str] | None = None) -> Mission:
    """Validate ``spec`` and record it as a new mission (``command`` overrides its argv).

    Raises:
        UsageError: empty command, invalid or taken name, bad timeout or working directory.
        NotFound: unknown ``parent``.
    """
    command = command or list(spec.command)
    if not command:
        raise UsageError("nothing to run: give the command after --, e.g. run -- sleep 10")
    if spec.name is not None and not names.valid_name(spec.name):
        raise UsageError(f"invalid mission name {spec.name!r}: use letters, digits, "
                         "'.', '_' or '-' (at most 63, starting with a letter or digit)")
    if spec.name and store.live_name_taken(spec.name):
        raise UsageError(f"a live mission is already named {spec.name}; stop it or pick "
                         "another --name")
    if spec.activity_timeout_s is not None and spec.activity_timeout_s <= 0:
        raise UsageError("--activity-timeout must be a positive number of seconds")
    parent = resolve(store, spec.parent).id if spec.parent else None
    try:
        cwd = str(Path(spec.cwd or root).resolve())
    except (OSError, ValueError) as exc:  # e.g. a NUL byte in the path
        raise UsageError(f"invalid working directory {spec.cwd!r}: {exc}") from None
    mission_id = names.new_id()
    name = names.unique_name(spec.name, store.live_name_taken)
    now = time.time()
    m = Mission(
        id=mission_id, name=name, kind=spec.kind, command=command,
        cwd=cwd, env=dict(spec.env),
        parent_id=parent, restart=spec.restart, activity_timeout_s=spec.activity_timeout_s,
        grace_s=spec.grace_s, agent=spec.agent, status=status, created_at=now,
        updated_at=now, log_path=str(logs.log_path(logs_dir, name, mission_id)))
    try:
        store.insert_mission(m)
    except sqlite3.IntegrityError:
        raise UsageError(f"a live mission is already named {name}; pick another --name") \
            from None
    return m


def resolve(store: Store, ref: str) -> Mission:
    """Find a mission by exact id, name (live first, then newest) or unique id prefix.

    Raises:
        NotFound: "no mission named X", with close matches.
        AmbiguousReference: the prefix matches several missions (listed).
    """
    ref = str(ref).strip()
    with contextlib.suppress(NotFound):  # exact id: a primary-key lookup, while
        return store.get_mission(ref)  # candidates() scans the whole table
    found = store.candidates(ref) if ref else []
    by_name = [m for m in found if m.name == ref]
    if by_name:
        live = [m for m in by_name if not m.status.terminal]
        return (live or by_name)[0]
    if len(found) == 1:
        return found[0]
    if found:
        listed = ", ".join(f"{m.id[:8]} ({m.name}, {m.status.value})" for m in found[:10])
        raise AmbiguousReference(f"{ref!r} matches {len(found)} missions: {listed}; "
                                 "give more of the id or the name")
    close = difflib.get_close_matches(ref, list(store.names()), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; see `overmind ps --all`"
    raise NotFound(f"no mission named {ref}{hint}")
