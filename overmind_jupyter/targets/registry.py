"""Targets: where tasks run, each with a capacity claimed atomically (orcha's concept).

``local`` (this machine) always exists; ``hub`` targets are JupyterHub named servers of
one hub user (``targets.hub_api``). A target is a record (``store.kinds.TargetData``)::

    target  {name, kind: local|hub, url?, user?, token_env?, capacity, claims: [task id],
             checks: [doctor findings], checked_at?}   state active | draining | disabled

A task takes a slot with ``claim`` and gives it back with ``release``; a claim is one
write transaction (check free capacity, append the task), so two engines sharing the store
or two tasks racing never overfill a target. ``claim`` picks the least-loaded eligible hub
target (claims / capacity, then by name) unless the task is pinned to one; ``local`` takes
the overflow: a task runs here when no hub target has room (a hub is configured to take
the work off this machine). Draining and disabled targets take no new task; a draining
one keeps its claims until they are released. Every change appends ``target-status``.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlparse

from ..config import HUB_TOKEN_ENV
from ..errors import InvalidTransition, UsageError
from ..store.kinds import TargetCheck, TargetState
from ..store.records import EventSpec, Record, Records, only

LOCAL = "local"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")  # also a valid part of a server name
LIVE = (TargetState.ACTIVE.value, TargetState.DRAINING.value, TargetState.DISABLED.value)
_ACTIONS = {"drain": "draining", "disable": "disabled", "enable": "active",
            "remove": "removed"}


class Targets:
    """The registry of targets in one store (module docstring); ``local`` is registered
    (or its capacity updated) on construction.

    Args:
        records: the store's records.
        local_capacity: how many tasks run on this machine at once (the scheduler's cap).
    """

    def __init__(self, records: Records, local_capacity: int) -> None:
        self.records = records
        self.local_capacity = local_capacity
        self.ensure_local()  # once: every read below finds it

    def ensure_local(self) -> Record:
        """The ``local`` target, registered (active) on first use; its capacity follows
        ``local_capacity``."""
        found = self.records.atomic(lambda: self._live(LOCAL) or self._insert_now(
            LOCAL, {"name": LOCAL, "kind": "local", "capacity": self.local_capacity},
            announce=False))  # always there: a fresh engine's first event stays its start
        if found.data.capacity != self.local_capacity:
            return self.records.update("target", found.id, capacity=self.local_capacity)
        return found

    def add_hub(self, name: str, url: str, user: str, capacity: int = 2,
                token_env: str = HUB_TOKEN_ENV, warm: int = 0) -> Record:
        """Register hub target ``name``: ``user``'s named servers on the hub at ``url``,
        ``capacity`` tasks at once, ``warm`` idle named servers kept ready, the API token
        read from environment variable ``token_env`` when used (never stored).

        Raises:
            UsageError: a bad name, URL, user, capacity or variable name, or ``name`` is
                taken by a live target.
        """
        _check_hub(name, url, user, capacity, token_env)
        if not 0 <= warm <= capacity:
            raise UsageError(f"warm must be 0-{capacity} servers (at most the capacity), "
                             f"not {warm}")
        data = {"name": name, "kind": "hub", "url": url.rstrip("/") + "/", "user": user,
                "token_env": token_env, "capacity": capacity, "warm": warm}
        return self.records.atomic(lambda: self._add_now(name, data))

    def _add_now(self, name: str, data: dict) -> Record:
        if self._live(name) is not None:
            raise UsageError(f"a target named {name!r} exists; remove it first "
                             f"(`overmind targets remove {name}`) or pick another name")
        return self._insert_now(name, data)

    def list(self, include_removed: bool = False) -> list[Record]:
        """Targets, oldest first (``local`` first of all)."""
        states = None if include_removed else LIVE
        return self.records.list("target", states=states)

    def resolve(self, ref: str) -> Record:
        """The live target named ``ref`` (or whose id starts with it).

        Raises:
            NotFound / AmbiguousReference: none or several match.
        """
        found = [r for r in self.records.find("target", ref) if r.state in LIVE]
        return only(found, "target", ref, "overmind targets")

    def act(self, ref: str, action: str) -> Record:
        """``drain``, ``disable``, ``enable`` or ``remove`` target ``ref``.

        Raises:
            UsageError: an unknown action, removing ``local``, or removing a target that
                still holds claims (drain it and wait).
            InvalidTransition: e.g. enabling an active target.
            NotFound: as ``resolve``.
        """
        if action not in _ACTIONS:
            raise UsageError(f"unknown target action {action!r}; use one of "
                             f"{', '.join(_ACTIONS)}")
        rec = self.resolve(ref)
        if action == "remove" and (rec.data.name == LOCAL or rec.data.claims):
            raise UsageError(_cannot_remove(rec))
        return self._move(rec, _ACTIONS[action], action)

    def record_checks(self, ref: str, checks: list[TargetCheck], at: float) -> Record:
        """Store a doctor's findings on target ``ref`` (``target-status`` reason doctor)."""
        rec = self.resolve(ref)
        return self.records.update("target", rec.id, checks=[c.model_dump() for c in checks],
                                   checked_at=at, event=_status(rec, rec.state, "doctor"))

    def claim(self, task: str, pinned: str | None = None) -> Record | None:
        """Give ``task`` a slot on the least-loaded active hub target with room, else on
        ``local`` (or on ``pinned``); the target record, or None when every eligible one
        is full.
        Claiming twice returns the target already holding the task.

        Raises:
            UsageError: ``pinned`` is draining or disabled (it takes no new task).
            NotFound: no live target ``pinned``.
        """
        if pinned is not None:
            rec = self.resolve(pinned)
            if rec.state != TargetState.ACTIVE.value:
                raise UsageError(f"target {rec.data.name} is {rec.state} and takes no new "
                                 f"task; `overmind targets enable {rec.data.name}` or pin "
                                 "another")
        return self.records.atomic(lambda: self._claim_now(task, pinned))

    def release(self, task: str) -> Record | None:
        """Free ``task``'s slot; the target it held, or None when it held none."""
        return self.records.atomic(lambda: self._release_now(task))

    def holder(self, task: str) -> Record | None:
        """The target ``task`` holds a slot on, if any."""
        return next((r for r in self.records.list("target", states=LIVE)
                     if task in r.data.claims), None)

    def _claim_now(self, task: str, pinned: str | None) -> Record | None:
        held = self.holder(task)
        if held is not None:
            return held
        free = [r for r in self.records.list("target", states=("active",))
                if len(r.data.claims) < r.data.capacity
                and (pinned is None or r.data.name == pinned or r.id == pinned)]
        if not free:
            return None
        best = min(free, key=_load_order)
        return self.records.write_now("target", best.id, None, claims=[*best.data.claims, task],
                                      event=_status(best, best.state, "claim", +1, task))

    def _release_now(self, task: str) -> Record | None:
        held = self.holder(task)
        if held is None:
            return None
        claims = [t for t in held.data.claims if t != task]
        return self.records.write_now("target", held.id, None, claims=claims,
                                      event=_status(held, held.state, "release", -1, task))

    def _live(self, name: str) -> Record | None:
        return next((r for r in self.records.list("target", states=LIVE)
                     if r.data.name == name), None)

    def _insert_now(self, name: str, data: dict, announce: bool = True) -> Record:
        rec_id = f"tgt-{secrets.token_hex(4)}"
        event = EventSpec("target-status", {"target": name, "kind": data["kind"],
                                            "state": "active", "capacity": data["capacity"],
                                            "claims": [], "reason": "added"})
        return self.records.insert_now("target", rec_id, "active", data,
                                       event=event if announce else None)

    def _move(self, rec: Record, new: str, reason: str) -> Record:
        if rec.state == new:
            raise InvalidTransition(f"target {rec.data.name} is {new} already")
        return self.records.transition("target", rec.id, new, event=_status(rec, new, reason))


def _load_order(rec: Record) -> tuple[bool, float, str]:
    return (rec.data.kind == "local", len(rec.data.claims) / rec.data.capacity, rec.data.name)


def _status(rec: Record, state: str, reason: str, delta: int = 0,
            task: str | None = None) -> EventSpec:
    claims = list(rec.data.claims)
    if delta > 0 and task is not None:
        claims.append(task)
    elif delta < 0:
        claims = [t for t in claims if t != task]
    return EventSpec("target-status", {"target": rec.data.name, "kind": rec.data.kind,
                                       "state": state, "capacity": rec.data.capacity,
                                       "claims": claims, "reason": reason})


def _cannot_remove(rec: Record) -> str:
    if rec.data.name == LOCAL:
        return "the local target cannot be removed; `overmind targets disable local` stops it"
    return (f"target {rec.data.name} still runs {len(rec.data.claims)} task(s); "
            f"`overmind targets drain {rec.data.name}` and remove it when they end")


def _check_hub(name: str, url: str, user: str, capacity: int, token_env: str) -> None:
    if not NAME_RE.fullmatch(name) or name == LOCAL:
        raise UsageError(f"bad target name {name!r}: use 1-31 lowercase letters, digits or "
                         "'-', not 'local'")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"bad hub URL {url!r}: give the hub's http(s) URL, e.g. "
                         "https://hub.example.org/")
    if not user or "/" in user:
        raise UsageError(f"bad hub user {user!r}: give the hub user whose named servers "
                         "run the tasks")
    if not 1 <= capacity <= 256:
        raise UsageError(f"capacity must be 1-256 tasks, not {capacity}")
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", token_env):
        raise UsageError(f"bad token variable {token_env!r}: name an environment variable "
                         "such as OVERMIND_HUB_TOKEN")

