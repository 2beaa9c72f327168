"""Domain values of Overmind: missions, their lifecycle and restart decisions.

Pure: no I/O, no clock, no randomness of its own (callers pass ``now`` and ``rand``).
Times are seconds (``float``), wall-clock epoch seconds for ``*_at`` fields.

The mission lifecycle (``TRANSITIONS``)::

    pending ─▶ spawning ─▶ running ─▶ stopping ─▶ killed | exited | failed
                  ▲   │       │  └──▶ stalled ──▶ restarting | failed | killed
                  │   │       └──▶ restarting          (restart policy decides)
                  │   └─────────▶ restarting | failed  (spawn error)
                  │           └──▶ exited | failed | killed | lost
                  └──────────── restarting

Terminal states (``exited``, ``failed``, ``killed``, ``lost``) are final: a late exit
report never resurrects a killed mission. Restart semantics follow supervisord/circus:
``never | on-failure | always``, a budget of N restarts in a sliding window, backoff
``base·2^k`` capped at 60 s with jitter, ``k`` reset after a stable run, and a user stop
never restarts.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Union

from .errors import InvalidTransition


class MissionKind(str, enum.Enum):
    """What a mission runs: a plain command, an ACP agent, or an interactive session (pty)."""

    COMMAND = "command"
    AGENT = "agent"
    SESSION = "session"


class MissionStatus(str, enum.Enum):
    """Lifecycle state of a mission; see the module docstring for the graph."""

    PENDING = "pending"
    SPAWNING = "spawning"
    RUNNING = "running"
    STOPPING = "stopping"
    STALLED = "stalled"
    RESTARTING = "restarting"
    EXITED = "exited"
    FAILED = "failed"
    KILLED = "killed"
    LOST = "lost"

    @property
    def terminal(self) -> bool:
        """True for the final states; nothing leaves them."""
        return self in TERMINAL

    @property
    def live(self) -> bool:
        """True while a process may exist for the mission."""
        return self in LIVE


S = MissionStatus
TERMINAL = frozenset({S.EXITED, S.FAILED, S.KILLED, S.LOST})
LIVE = frozenset({S.SPAWNING, S.RUNNING, S.STOPPING, S.STALLED})
_ENDS = {S.EXITED, S.FAILED, S.KILLED}
TRANSITIONS: dict[MissionStatus, frozenset[MissionStatus]] = {
    S.PENDING: frozenset({S.SPAWNING, S.KILLED, S.FAILED}),
    S.SPAWNING: frozenset({S.RUNNING, S.RESTARTING, S.FAILED, S.KILLED, S.LOST}),
    S.RUNNING: frozenset({S.STOPPING, S.STALLED, S.RESTARTING, S.LOST} | _ENDS),
    S.STOPPING: frozenset({S.LOST} | _ENDS),
    S.STALLED: frozenset({S.RESTARTING, S.STOPPING, S.LOST} | _ENDS),
    S.RESTARTING: frozenset({S.SPAWNING, S.KILLED, S.FAILED}),
    **{t: frozenset() for t in TERMINAL},
}


def check_transition(old: MissionStatus, new: MissionStatus) -> None:
    """Raise ``InvalidTransition`` unless ``old → new`` is in ``TRANSITIONS``."""
    if new not in TRANSITIONS[old]:
        final = " (terminal states are final)" if old.terminal else ""
        raise InvalidTransition(f"a mission cannot go from {old.value} to {new.value}{final}")


class RestartMode(str, enum.Enum):
    """When a mission whose process ended is started again."""

    NEVER = "never"
    ON_FAILURE = "on-failure"
    ALWAYS = "always"


@dataclasses.dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Restart rules of one mission.

    Attributes:
        mode: never | on-failure | always.
        max_restarts: restarts allowed within ``window_s``; beyond it the mission fails.
        window_s: sliding window of the restart budget (s).
        backoff_ms: base of the exponential backoff ``base·2^k`` (ms).
        cap_s: upper bound of one backoff delay (s).
        stable_s: a run at least this long resets ``k`` to 0 (s).
        jitter: relative jitter applied to each delay (0.1 = ±10 %).
    """

    mode: RestartMode = RestartMode.NEVER
    max_restarts: int = 5
    window_s: float = 60.0
    backoff_ms: int = 1000
    cap_s: float = 60.0
    stable_s: float = 10.0
    jitter: float = 0.1


class ExitCause(str, enum.Enum):
    """Why a mission's process ended, as the restart decision sees it."""

    CLEAN = "clean"  # exit status 0
    ERROR = "error"  # non-zero exit status
    SIGNAL = "signal"  # killed by a signal nobody in Overmind sent
    STALLED = "stalled"  # killed by Overmind after the activity timeout
    SPAWN_ERROR = "spawn-error"  # the process could not be started
    USER_STOP = "user-stop"  # stop/kill asked by a user or a cascade


@dataclasses.dataclass(frozen=True, slots=True)
class ExitInfo:
    """How a run ended: exit status or signal number, plus a human reason.

    ``stopped``: the run ended because a user (or a cascade) stopped it; its status then
    reads ``stopped`` and ``wait`` reports the process's own exit status.
    """

    returncode: int | None = None
    signal: int | None = None
    reason: str = ""
    stopped: bool = False

    @property
    def code(self) -> int:
        """Shell-style status: ``returncode``, ``128+signal`` for signals, 1 when unknown."""
        if self.returncode is not None:
            return self.returncode
        return 128 + self.signal if self.signal else 1


@dataclasses.dataclass(frozen=True, slots=True)
class Restart:
    """Decision: start the mission again after ``delay_s`` seconds."""

    delay_s: float
    attempt: int  # 1 for the first restart


@dataclasses.dataclass(frozen=True, slots=True)
class GiveUp:
    """Decision: the mission ends in ``status`` for ``reason``; ``exhausted``: because
    the restart budget is used up (the last run's own end is then not the reason)."""

    status: MissionStatus
    reason: str
    exhausted: bool = False


Decision = Union[Restart, GiveUp]


def backoff_delay(policy: RestartPolicy, k: int, rand: float) -> float:
    """Delay before restart number ``k`` (0-based): ``min(cap, base·2^k)`` jittered (s).

    ``rand`` is a uniform sample in [0, 1); the result stays within ``[0, cap_s]``.
    """
    raw = min(policy.cap_s, policy.backoff_ms / 1000.0 * (2 ** min(k, 32)))
    jittered = raw * (1.0 + policy.jitter * (2.0 * rand - 1.0))
    return max(0.0, min(policy.cap_s, jittered))


def final_status(cause: ExitCause) -> MissionStatus:
    """Status a mission ends in when it is not restarted after ``cause``."""
    if cause is ExitCause.USER_STOP:
        return S.KILLED
    return S.EXITED if cause is ExitCause.CLEAN else S.FAILED


def wants_restart(mode: RestartMode, cause: ExitCause) -> bool:
    """Whether ``mode`` asks for a restart after ``cause`` (budget aside)."""
    if cause is ExitCause.USER_STOP or mode is RestartMode.NEVER:
        return False
    return mode is RestartMode.ALWAYS or cause is not ExitCause.CLEAN


def decide_restart(policy: RestartPolicy, cause: ExitCause, restart_times: Sequence[float],
                   now: float, k: int, rand: float) -> Decision:
    """Decide what happens after a run ended.

    Args:
        policy: the mission's restart policy.
        cause: why the run ended.
        restart_times: monotonic times (s) of earlier restarts of this mission.
        now: current monotonic time (s).
        k: backoff exponent (consecutive unstable restarts so far).
        rand: uniform sample in [0, 1) for jitter.

    Returns:
        ``Restart(delay_s, attempt)`` or ``GiveUp(status, reason)``.
    """
    if not wants_restart(policy.mode, cause):
        return GiveUp(final_status(cause), f"no restart ({policy.mode.value}, {cause.value})")
    recent = sum(1 for t in restart_times if now - t < policy.window_s)
    if recent >= policy.max_restarts:
        return GiveUp(S.FAILED, f"restart budget exhausted: {recent} restarts within "
                                f"{policy.window_s:g} s (max {policy.max_restarts})", True)
    return Restart(backoff_delay(policy, k, rand), len(restart_times) + 1)


def backoff_exponent(k: int, run_s: float, policy: RestartPolicy) -> int:
    """Exponent for the coming restart: ``k`` (restarts so far in this unstable streak),
    or 0 when the run that just ended lasted at least ``stable_s`` s."""
    return 0 if run_s >= policy.stable_s else k


@dataclasses.dataclass(frozen=True, slots=True)
class PromptOptions:
    """What a prompt's submitter chose beside its text.

    ``agent``: which configured agent runs its tasks (None: the objective's default);
    ``shared``: its tasks run in the host's own checkout (host only); ``auto_merge``:
    True lands its changes without review, False holds them for review, None takes the
    party's or the configuration's choice (host only when True); ``max_tokens`` (tokens)
    and ``max_cost_usd`` (USD): its objective's budget (None: the configured one);
    ``target``: the target its tasks are pinned to (None: the least-loaded); ``model``:
    the model its agents run on, as the server shows it (``Models.choice_rows``; None:
    the default).
    """

    agent: str | None = None
    shared: bool = False
    auto_merge: bool | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    target: str | None = None
    model: str | None = None


NO_CHOICES = PromptOptions()  # a prompt with nothing chosen beside its text


@dataclasses.dataclass(slots=True)
class MissionSpec:
    """What a user asks to run. ``command`` is an argv list; ``env`` holds overrides only.

    ``worktree``: run in a new git worktree of the project (``cwd`` then names the same
    place inside it); a clean exit commits the edits and opens a change. ``secret_env``:
    an agent mission's extra environment that is never stored (a host's provider keys
    for an agent it runs on this server: ``targets.remote``); lost on an engine restart.
    """

    command: list[str]
    name: str | None = None
    cwd: str | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    kind: MissionKind = MissionKind.COMMAND
    parent: str | None = None
    restart: RestartPolicy = dataclasses.field(default_factory=RestartPolicy)
    activity_timeout_s: float | None = None
    agent: str | None = None
    grace_s: float = 5.0
    worktree: bool = False
    secret_env: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass(slots=True)
class Mission:
    """A supervised process as recorded in the store.

    ``pid``/``pid_start`` identify the current process (``pid_start`` is the kernel's
    process start time in epoch seconds, used to guard against pid reuse); ``pid`` is
    also the process-group id because every mission leads its own group.
    """

    id: str
    name: str
    kind: MissionKind
    command: list[str]
    cwd: str
    env: dict[str, str]
    parent_id: str | None
    restart: RestartPolicy
    activity_timeout_s: float | None
    grace_s: float
    status: MissionStatus
    created_at: float
    updated_at: float
    log_path: str
    agent: str | None = None
    pid: int | None = None
    pid_start: float | None = None
    started_at: float | None = None
    restarts: int = 0
    exit: ExitInfo | None = None


def exit_status(m: Mission) -> int:
    """Shell exit status that ``wait`` reports for a finished mission.

    exited → its return code (0 when unknown); stopped by a user → the process's own
    status (0 for a clean exit on SIGTERM, ``128+signal`` when a signal ended it);
    failed/killed → the code or ``128+signal`` (1 when unknown); lost → 255; a mission
    still live → 124 (like ``timeout(1)``).
    """
    if not m.status.terminal:
        return 124
    if m.status is S.LOST:
        return 255
    if m.exit is None:
        return 0 if m.status is S.EXITED else 1
    if m.status is S.EXITED:
        return m.exit.returncode or 0
    if m.exit.stopped and (m.exit.returncode is not None or m.exit.signal):
        return m.exit.code
    return m.exit.code or 1


def status_text(m: Mission) -> str:
    """The mission's status as people read it: ``stopped`` for a run a user stopped
    (recorded as ``killed``), else the status value."""
    if m.status is S.KILLED and m.exit is not None and m.exit.stopped:
        return "stopped"
    return m.status.value


_EXIT_FIELDS = tuple(f.name for f in dataclasses.fields(ExitInfo))
_RESTART_FIELDS = tuple(f.name for f in dataclasses.fields(RestartPolicy))


def _shallow_dict(obj: object, names: tuple[str, ...]) -> dict:
    # ``dataclasses.asdict`` without its recursive deep copy (every field here is a scalar):
    # asdict was ~60 % of `ps --json` over 10k missions.
    return {name: getattr(obj, name) for name in names}


def mission_to_dict(m: Mission) -> dict:
    """The stable JSON shape of a mission (``ps --json``, REST); ``env`` values omitted."""
    return {
        "id": m.id, "name": m.name, "kind": m.kind.value, "status": m.status.value,
        "command": m.command, "cwd": m.cwd, "parent": m.parent_id, "pid": m.pid,
        "pid_start": m.pid_start, "restarts": m.restarts, "created_at": m.created_at,
        "updated_at": m.updated_at, "started_at": m.started_at,
        "exit": None if m.exit is None else _shallow_dict(m.exit, _EXIT_FIELDS),
        "restart": {**_shallow_dict(m.restart, _RESTART_FIELDS), "mode": m.restart.mode.value},
        "activity_timeout_s": m.activity_timeout_s, "grace_s": m.grace_s, "agent": m.agent,
        "env_keys": sorted(m.env), "log_path": m.log_path,
    }


def mission_from_dict(d: dict) -> Mission:
    """Inverse of ``mission_to_dict`` (``env`` comes back with its keys only)."""
    restart = {**d["restart"], "mode": RestartMode(d["restart"]["mode"])}
    return Mission(
        id=d["id"], name=d["name"], kind=MissionKind(d["kind"]), command=list(d["command"]),
        cwd=d["cwd"], env={k: "" for k in d.get("env_keys", [])}, parent_id=d["parent"],
        restart=RestartPolicy(**restart), activity_timeout_s=d["activity_timeout_s"],
        grace_s=d["grace_s"], status=MissionStatus(d["status"]), created_at=d["created_at"],
        updated_at=d["updated_at"], log_path=d["log_path"], agent=d["agent"], pid=d["pid"],
        pid_start=d["pid_start"], started_at=d["started_at"], restarts=d["restarts"],
        exit=None if d["exit"] is None else ExitInfo(**d["exit"]))
