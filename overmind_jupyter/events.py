"""Wire schema of events: the append-only, sequenced record every UI renders.

An event on the wire (REST, websocket, store row) is one JSON object::

    {"seq": int, "ts": float, "type": EventType, "mission": str | None,
     "objective": str | None, "party": str | None, "data": {...}}

``seq`` increases by one per appended event and is assigned before broadcast, so a client
that resumes from ``?after=<seq>`` misses nothing. ``ts`` is wall-clock epoch seconds.
``PAYLOADS`` gives each type's ``data`` as a model; the store validates every event against
it at append (``check``). The TypeScript mirror lives in ``labextension/src/events.ts``;
its ``DATA_FIELDS`` are generated from ``PAYLOADS`` (``labextension/src/events.gen.ts``).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import OvermindError

EventType = Literal[
    # missions (supervisor)
    "mission-created",  # data: {name, kind, command, parent}
    "mission-status",  # data: {status, previous, reason, pid?, exit?}
    "mission-restart",  # data: {attempt, delay_s, reason}
    "mission-adopted",  # data: {pid, note}
    "mission-stalled",  # data: {idle_s}
    "mission-child-failed",  # data: {child, reason}  (sent to the parent mission)
    "engine-started",  # data: {adopted, lost, sandbox: {available, reason, …}}
    "engine-stopping",  # data: {}
    # agents (ACP runtime)
    "agent-session",  # data: {session_id, agent, title, loaded}
    "agent-auth",  # data: {method, variables}   (authenticated with the advertised method)
    "agent-mode",  # data: {from, to}   (the ACP session mode Overmind asked for)
    "agent-prompt",  # data: {text}   (the text only reaches submitter and host)
    "agent-thinking", "agent-message",  # data: {text}
    "agent-progress",  # data: {text, percent?}   (an agent's report_progress over MCP)
    "tool-use", "tool-result",  # data: {id, title, kind, status, input?, paths?, output?}
    "agent-plan",  # data: {entries: [{content, status, priority}]}
    # one model turn (scope "turn") or, for agents that report no turns, one prompt; or an
    # in-engine role's calls (scope "role", role: story|scope|planner|evaluator; objective
    # set, no mission)
    "agent-usage",  # data: {input_tokens, output_tokens, cached_tokens, cost_usd?, model,
    #                        scope: "turn" | "prompt" | "role", role?}   (tokens; USD)
    "agent-context",  # data: {used_tokens, size_tokens}   (ACP usage_update)
    "agent-liveness",  # data: {state: working|waiting|idle|done|dead}
    "agent-finished",  # data: {stop_reason, changed, guard?, error?, usage?: totals}
    # questions and the mailbox
    "question-asked", "question-answered",  # data: Question.to_dict() / {id, answer, by}
    "message",  # data: {id, sender, recipient, text}   (agents ⇄ agents ⇄ humans)
    # party (party field set; prompt text only in the submitter's and host's views)
    "party-opened", "party-closed",  # data: {name, host}
    "member-joined", "member-approved", "member-left", "member-kicked",  # data: {member}
    "member-presence",  # data: {member, name, role, state, connected}  (party websocket)
    "invite-created", "invite-revoked",  # data: {id, code, expires_at}   (never a secret)
    "prompt-queued", "prompt-status",  # data: {id, member, status, text?}
    # orchestration (Overmind multiplayer vocabulary)
    "objective-created",  # data: {id, title, prompts, story}
    "objective-status",  # data: {state, previous, reason}
    "scope-ready",  # data: {files: [path], complexity: low|medium|high}
    "plan-ready",  # data: {round, tasks: [{id, name, description, scope, depends_on, agent}]}
    "task-status",  # data: {task, name, state, previous, reason}
    "agent-spawned",  # data: {task, name, agent, workspace, branch}
    "change-status",  # data: {change, task (name), state, previous, reason, merge_commit?}
    "verification",  # data: {change, command, ok, exit_code, output_tail}
    "change-checked",  # data: {change, state, target, target_commit, message, conflicts}
    "run-complete",  # data: {objective, tasks, changes, merged, not_merged, failed_tasks,
    #                         outcome: "done" | "done, N not merged" | …, usage}
    "run-error",  # data: {objective, error}
    # after a crash (issue 15)
    "mission-orphan",  # data: {reason}   (a re-adopted agent without its ACP pipe, stopped)
    "objectives-reconciled",  # data: {orphans, tasks, changes, resumed, asked, duration_ms}
    # targets (issue 18): registered, drained, disabled, doctored, a slot claimed or freed
    "target-status",  # data: {target, kind, state, capacity, claims, reason}
]
EVENT_ORDER: tuple[str, ...] = get_args(EventType)
EVENT_TYPES: frozenset[str] = frozenset(EVENT_ORDER)


class Event(TypedDict):
    """One event as stored and sent; see the module docstring for field meanings."""

    seq: int
    ts: float
    type: EventType
    mission: str | None
    objective: str | None
    party: str | None
    data: dict[str, Any]


# -- payloads: the ``data`` of each event type --------------------------------------------
class Payload(BaseModel):
    """An event's ``data``: the fields every event of its type has (more may follow: a
    mirrored event carries ``mirror``, a newer engine may add fields). ``None`` stands for
    absent in optional fields."""

    model_config = ConfigDict(extra="allow")


Number = float | int


class MissionCreated(Payload):
    """``mission-created``."""

    name: str
    kind: str
    command: list[Any]
    parent: str | None = None


class MissionStatusChanged(Payload):
    """``mission-status``."""

    status: str
    previous: str | None = None
    reason: str | None = None
    pid: Number | None = None
    exit: dict[str, Any] | None = None


class MissionRestart(Payload):
    """``mission-restart``."""

    attempt: Number
    delay_s: Number
    reason: str | None = None


class MissionAdopted(Payload):
    """``mission-adopted``."""

    pid: Number
    note: str | None = None


class MissionStalled(Payload):
    """``mission-stalled``."""

    idle_s: Number


class MissionChildFailed(Payload):
    """``mission-child-failed``."""

    child: str
    reason: str | None = None


class EngineStarted(Payload):
    """``engine-started``."""

    adopted: list[Any]
    lost: list[Any]


class Empty(Payload):
    """No fields (``engine-stopping``)."""


class AgentSession(Payload):
    """``agent-session``."""

    session_id: str
    agent: str | None = None
    title: str | None = None
    loaded: bool | None = None


class AgentAuth(Payload):
    """``agent-auth``: the ACP ``authenticate`` method used and the variables it read."""

    method: str
    variables: list[Any]


class AgentMode(Payload):
    """``agent-mode``: the session mode set (``from`` the agent's current one)."""

    from_: str | None = Field(None, alias="from")
    to: str


class Text(Payload):
    """``agent-prompt``, ``agent-thinking``, ``agent-message``."""

    text: str


class AgentProgress(Payload):
    """``agent-progress``."""

    text: str
    percent: Number | None = None


class ToolCall(Payload):
    """``tool-use`` and ``tool-result``."""

    id: str
    title: str | None = None
    kind: str | None = None
    status: str | None = None
    input: Any = None
    paths: list[Any] | None = None
    output: Any = None


class AgentPlan(Payload):
    """``agent-plan``."""

    entries: list[Any]


class AgentUsage(Payload):
    """Tokens of one model turn (``scope`` turn) or one prompt; ``cost_usd`` in USD."""

    input_tokens: Number
    output_tokens: Number
    cached_tokens: Number
    cost_usd: Number | None = None
    model: str | None = None
    scope: str


class AgentContext(Payload):
    """``agent-context``."""

    used_tokens: Number
    size_tokens: Number


class AgentLiveness(Payload):
    """``agent-liveness``."""

    state: str


class AgentFinished(Payload):
    """``agent-finished``."""

    stop_reason: str
    changed: list[Any] | None = None
    guard: Any = None
    error: str | None = None
    usage: dict[str, Any] | None = None


class QuestionAsked(Payload):
    """``question-asked``."""

    id: str
    kind: str
    text: str
    options: list[Any]
    mission: str | None = None
    asked_at: Number
    answer: str | None = None
    data: dict[str, Any]


class QuestionAnswered(Payload):
    """``question-answered``."""

    id: str
    answer: str | None = None
    by: str | None = None
    state: str | None = None


class Message(Payload):
    """``message``."""

    id: str
    sender: str
    recipient: str
    text: str


class PartyChanged(Payload):
    """``party-opened`` and ``party-closed``."""

    name: str
    host: str


class MemberChanged(Payload):
    """``member-joined``, ``-approved``, ``-left``, ``-kicked``."""

    member: Any


class MemberPresence(Payload):
    """``member-presence``."""

    member: str
    name: str
    role: str
    state: str
    connected: bool


class InviteChanged(Payload):
    """``invite-created`` and ``invite-revoked`` (never a secret)."""

    id: str
    code: str | None = None
    expires_at: Number | None = None


class PromptChanged(Payload):
    """``prompt-queued`` and ``prompt-status`` (``text`` only in its submitter's and the
    host's views)."""

    id: str
    member: str
    status: str
    text: str | None = None


class ObjectiveCreated(Payload):
    """``objective-created``."""

    id: str
    title: str
    prompts: list[Any]
    story: Any = None


class ObjectiveStatus(Payload):
    """``objective-status``."""

    state: str
    previous: str | None = None
    reason: str | None = None


class ScopeReady(Payload):
    """``scope-ready``."""

    files: list[Any]
    complexity: str


class PlanReady(Payload):
    """``plan-ready``."""

    round: Number
    tasks: list[Any]


class TaskStatus(Payload):
    """``task-status``."""

    task: str
    name: str
    state: str
    previous: str | None = None
    reason: str | None = None


class AgentSpawned(Payload):
    """``agent-spawned``."""

    task: str
    name: str
    agent: str
    workspace: str
    branch: str


class ChangeStatus(Payload):
    """``change-status``."""

    change: str
    task: str | None = None
    state: str
    previous: str | None = None
    reason: str | None = None
    merge_commit: str | None = None


class Verification(Payload):
    """``verification``."""

    change: str
    command: Any
    ok: bool
    exit_code: Number | None = None
    output_tail: str


class ChangeChecked(Payload):
    """``change-checked``: the pre-review check (tests on the change merged onto the
    target's tip, nothing landed)."""

    change: str
    state: str
    target: str
    target_commit: str
    message: str
    conflicts: list[str] = Field(default_factory=list)


class RunComplete(Payload):
    """``run-complete``."""

    objective: str
    tasks: Any
    changes: Any
    merged: Any
    usage: Any


class RunError(Payload):
    """``run-error``."""

    objective: str
    error: str


class MissionOrphan(Payload):
    """``mission-orphan``."""

    reason: str


class ObjectivesReconciled(Payload):
    """``objectives-reconciled``."""

    orphans: list[Any]
    tasks: list[Any]
    changes: list[Any]
    resumed: list[Any]
    asked: list[Any]
    duration_ms: Number


class TargetStatus(Payload):
    """``target-status``: a target's state and load after a change (``reason`` says
    which: added, drain, disable, enable, remove, doctor, claim or release)."""

    target: str
    kind: str
    state: str
    capacity: int
    claims: list[str] = Field(default_factory=list)
    reason: str = ""


PAYLOADS: dict[str, type[Payload]] = {
    "mission-created": MissionCreated, "mission-status": MissionStatusChanged,
    "mission-restart": MissionRestart, "mission-adopted": MissionAdopted,
    "mission-stalled": MissionStalled, "mission-child-failed": MissionChildFailed,
    "engine-started": EngineStarted, "engine-stopping": Empty,
    "agent-session": AgentSession, "agent-auth": AgentAuth, "agent-mode": AgentMode,
    "agent-prompt": Text, "agent-thinking": Text,
    "agent-message": Text, "agent-progress": AgentProgress, "tool-use": ToolCall,
    "tool-result": ToolCall, "agent-plan": AgentPlan, "agent-usage": AgentUsage,
    "agent-context": AgentContext, "agent-liveness": AgentLiveness,
    "agent-finished": AgentFinished, "question-asked": QuestionAsked,
    "question-answered": QuestionAnswered, "message": Message,
    "party-opened": PartyChanged, "party-closed": PartyChanged,
    "member-joined": MemberChanged, "member-approved": MemberChanged,
    "member-left": MemberChanged, "member-kicked": MemberChanged,
    "member-presence": MemberPresence, "invite-created": InviteChanged,
    "invite-revoked": InviteChanged, "prompt-queued": PromptChanged,
    "prompt-status": PromptChanged, "objective-created": ObjectiveCreated,
    "objective-status": ObjectiveStatus, "scope-ready": ScopeReady, "plan-ready": PlanReady,
    "task-status": TaskStatus, "agent-spawned": AgentSpawned, "change-status": ChangeStatus,
    "verification": Verification, "change-checked": ChangeChecked,
    "run-complete": RunComplete, "run-error": RunError,
    "mission-orphan": MissionOrphan, "objectives-reconciled": ObjectivesReconciled,
    "target-status": TargetStatus,
}


class InvalidEvent(OvermindError):
    """An event whose data lacks a field its type requires: a defect of the code that
    emits it (nothing is appended)."""

    reason = "invalid-event"


REQUIRED: dict[str, frozenset[str]] = {
    type_: frozenset(field.alias or name for name, field in model.model_fields.items()
                     if field.is_required())
    for type_, model in PAYLOADS.items()}


def check(type_: str, data: dict[str, Any]) -> None:
    """What the store checks of every event it appends: a known type's data has each field
    its payload requires (a set comparison, cheap enough for every append; the kinds of the
    fields are checked by ``validate``, in the tests). Other types pass: test and benchmark
    events, and events a newer engine mirrors into a party (the product's own emitters use
    known types only: ``tests/test_structure.py``).

    Raises:
        InvalidEvent: a required field is missing (named).
    """
    required = REQUIRED.get(type_)
    if required is not None and not required <= data.keys():
        missing = ", ".join(sorted(required - data.keys()))
        raise InvalidEvent(f"{type_} event data lacks {missing} "
                           f"(events.{PAYLOADS[type_].__name__})")


def validate(event: Event) -> None:
    """Validate a whole event's data against its payload model (kinds too).

    Raises:
        InvalidEvent: unknown type, or a field missing or of the wrong kind (named).
    """
    model = PAYLOADS.get(event["type"])
    if model is None:
        raise InvalidEvent(f"unknown event type {event['type']!r}: add it to events.py")
    try:
        model.model_validate(event["data"])
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidEvent(f"{event['type']} event data does not match "
                           f"events.{model.__name__}: {problems}") from None
