"""The record kinds: for each, its states (an enum), its state machine (``{state: next
states}``, checked by ``Records.transition`` inside the write transaction) and its data
model (pydantic, validated at every write; a misspelled or mistyped field fails there,
not in a reader far away). Missions have the same three in ``model`` (``MissionStatus``,
``TRANSITIONS``, ``Mission``).

::

    objective  queued ─▶ planning ─▶ running ─▶ evaluating ─▶ merging | checking ─▶ done
                   │         │          │  ▲        │  └─(re-plan)─▶ planning
                   └─────────┴──────────┴──┴─▶ paused / failed / cancelled
    task       pending ─▶ running ─▶ done | failed | cancelled;  running ⇄ paused
    change     open ─▶ approved ─▶ merged | closed | conflicted;  closed ─▶ open
    prompt     queued ─▶ approved ─▶ grouped ─▶ done;  queued ─▶ denied
    member     pending ─▶ approved ─▶ kicked | left;  pending ─▶ denied | left
    party      open ─▶ closed
    question   open ─▶ answered | cancelled
    invite     active ─▶ revoked | expired
    target     active ⇄ draining ⇄ disabled ─▶ removed  (disabled ─▶ active)
    message  sent;  story  current  (one state each)

A record's ``data`` reads as attributes (``rec.data.title``); a field never written reads
as its default, and ``dump()`` gives exactly the fields written (the JSON of the store and
of the API).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field

Table = Mapping[str, frozenset[str]]


class RecordData(BaseModel):
    """A record's data; unknown fields are refused (each kind lists its own)."""

    model_config = ConfigDict(extra="forbid")

    def dump(self) -> dict[str, Any]:
        """The fields written (defaults of fields never written left out), JSON-ready."""
        return self.model_dump(mode="json", exclude_unset=True)


def _table(states: type[enum.Enum], spec: dict[str, str]) -> Table:
    assert set(spec) == {s.value for s in states}, states  # every state has a row
    member = lambda value: cast(str, states(value))  # noqa: E731 - a str-valued enum
    return {member(state): frozenset(member(n) for n in nexts.split())
            for state, nexts in spec.items()}


@dataclasses.dataclass(frozen=True, slots=True)
class Kind:
    """One record kind: ``name`` (the ``records.kind`` column), its ``states`` enum,
    ``table`` (None: any state may follow any), ``terminal`` states and ``data`` model."""

    name: str
    states: type[enum.Enum]
    table: Table | None
    terminal: frozenset[str]
    data: type[RecordData]


# -- objective --------------------------------------------------------------------------
class ObjectiveState(str, enum.Enum):
    """Where an objective's pipeline is (see the module's diagram)."""

    QUEUED = "queued"
    PLANNING = "planning"
    RUNNING = "running"
    EVALUATING = "evaluating"
    MERGING = "merging"
    CHECKING = "checking"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


_STOP = "paused failed cancelled"
OBJECTIVE = _table(ObjectiveState, {
    "queued": f"planning {_STOP}",
    "planning": f"running done {_STOP}",
    "running": f"evaluating {_STOP}",
    "evaluating": f"planning merging checking done {_STOP}",
    "merging": f"done {_STOP}",
    "checking": f"done {_STOP}",
    "paused": "planning running evaluating merging checking failed cancelled",
    "done": "", "failed": "", "cancelled": ""})
OBJECTIVE_TERMINAL = frozenset({"done", "failed", "cancelled"})


class ObjectiveData(RecordData):
    """An objective: its prompts' ``text``, the story's ``title``/``summary``, the scope,
    rounds, budget (``max_tokens`` tokens, ``max_cost_usd`` USD) and ``spent``
    (``tokens``, ``cost_usd``), the model, how it ended (``outcome``, ``error``), the
    target its tasks are pinned to (``runs_on``; None: the least-loaded) and the model
    its agents run on (``agent_model``, as shown by ``Models.choice_rows``; None: the
    default)."""

    name: str = ""
    title: str = ""
    summary: str = ""
    text: str = ""
    prompts: list[str] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list)
    agent: str | None = None
    shared: bool = False
    story: str | None = None
    base_commit: str | None = None
    target: str | None = None
    round: int = 0
    budget: dict[str, Any] = Field(default_factory=dict)
    spent: dict[str, Any] = Field(default_factory=dict)
    auto_merge: bool = False
    model: str | None = None
    scripted: bool = False
    scope: list[str] = Field(default_factory=list)
    complexity: str | None = None
    outcome: str | None = None
    not_merged: int = 0
    failed_tasks: int = 0
    awaiting_review: int = 0
    error: str | None = None
    runs_on: str | None = None
    agent_model: str | None = None


# -- task -------------------------------------------------------------------------------
class TaskState(str, enum.Enum):
    """A task's run."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TASK = _table(TaskState, {
    "pending": "running cancelled failed",
    "running": "paused done failed cancelled",
    "paused": "running failed cancelled",
    "done": "", "failed": "", "cancelled": ""})
TASK_TERMINAL = frozenset({"done", "failed", "cancelled"})


class TaskData(RecordData):
    """A planned task: what to do (``description``, ``scope``, ``depends_on`` task names,
    ``agent``), where it ran (``runs_on`` target and its named ``server``, ``mission``,
    ``workspace``, ``branch``, ``base_commit``), what
    came of it (``summary``, ``files_changed``, ``change``, ``error``), why it is in its
    state (``reason``), and the change it ``follows`` (a requested change)."""

    name: str = ""
    description: str = ""
    scope: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    agent: str | None = None
    round: int = 0
    reason: str | None = None
    mission: str | None = None
    workspace: str | None = None
    branch: str | None = None
    base_commit: str | None = None
    summary: str | None = None
    files_changed: list[str] = Field(default_factory=list)
    error: str | None = None
    change: str | None = None
    follows: str | None = None
    runs_on: str | None = None
    server: str | None = None


# -- change -----------------------------------------------------------------------------
class ChangeState(str, enum.Enum):
    """A change on its way to the target branch."""

    OPEN = "open"
    APPROVED = "approved"
    CONFLICTED = "conflicted"
    CLOSED = "closed"
    MERGED = "merged"


CHANGE = _table(ChangeState, {
    "open": "approved closed conflicted",
    "approved": "merged closed conflicted open",
    "conflicted": "approved merged closed open",
    "closed": "open",
    "merged": ""})


class ChangeCheck(BaseModel):
    """The pre-review check of a change (``workspace.merge.CheckResult``): ``state``
    (passed / failed / conflicts / untested / merged-already) on ``target`` at
    ``target_commit``, the reviewer's one-line ``message``, the ``conflicts`` paths, the
    tests' ``exit_code``, ``output_tail`` (≤ 8 KiB) and ``duration_s`` (s), ``checked_at``
    (epoch s)."""

    model_config = ConfigDict(extra="forbid")

    state: str
    target: str
    target_commit: str
    message: str
    conflicts: list[str] = Field(default_factory=list)
    exit_code: int | None = None
    output_tail: str = ""
    duration_s: float | None = None
    checked_at: float = 0.0


class ChangeData(RecordData):
    """A branch to merge: its ``task`` (name), ``branch``, ``head`` and ``base_commit``,
    ``target``, who made it (``author``, ``requested_by``, ``mission``), the diff's
    ``files`` and ``stat``, its ``workspace`` (kept while under review) and the merge's
    result (``merge_commit``, ``tier``, ``conflicts``, ``verification``, ``outcome``);
    ``check``: the pre-review check on the target (None until one ran)."""

    name: str = ""
    task: str | None = None
    title: str = ""
    branch: str = ""
    head: str | None = None
    base_commit: str = ""
    target: str | None = None
    author: str | None = None
    requested_by: str | None = None
    stat: list[dict[str, Any]] = Field(default_factory=list)
    workspace: str | None = None
    files: list[str] = Field(default_factory=list)
    merge_commit: str | None = None
    mission: str | None = None
    tier: int | None = None
    verification: dict[str, Any] | None = None
    conflicts: list[Any] = Field(default_factory=list)
    outcome: str | None = None
    check: ChangeCheck | None = None


# -- question ---------------------------------------------------------------------------
class QuestionState(str, enum.Enum):
    """A question to a human."""

    OPEN = "open"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


QUESTION = _table(QuestionState, {"open": "answered cancelled", "answered": "",
                                  "cancelled": ""})


class QuestionData(RecordData):
    """A question: its ``kind`` (permission, guard, verification, review, …), ``text``,
    ``options``, who asked (``mission``, ``objective``), whether an agent ``waits`` on
    it, extra ``data`` of its kind, and the ``answer`` with who gave it."""

    kind: str = ""
    text: str = ""
    options: list[str] = Field(default_factory=list)
    mission: str | None = None
    objective: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    waits: bool = False
    answer: str | None = None
    answered_by: str | None = None


# -- message, story ---------------------------------------------------------------------
class Sent(str, enum.Enum):
    """A message has one state (whether it was read is in its data)."""

    SENT = "sent"


class StoryState(str, enum.Enum):
    """The project's story has one state (its text is replaced as objectives come)."""

    CURRENT = "current"


class MessageData(RecordData):
    """Mail between agents and members: ``sender``, ``recipient``, ``text``, ``read``."""

    sender: str = ""
    recipient: str = ""
    text: str = ""
    read: bool = False


class StoryData(RecordData):
    """A story that groups objectives: its ``text``."""

    text: str = ""


# -- party ------------------------------------------------------------------------------
class PartyState(str, enum.Enum):
    """A hosted party."""

    OPEN = "open"
    CLOSED = "closed"


PARTY = _table(PartyState, {"open": "closed", "closed": ""})


class PartyData(RecordData):
    """A party: ``name``, its ``host`` member id, who joins approved (``auto_approve``
    member names), whether prompts are (``auto_approve_prompts``) and whether its changes
    land without review (``auto_merge``)."""

    name: str = ""
    host: str | None = None
    auto_approve: list[str] = Field(default_factory=list)
    auto_approve_prompts: bool = False
    auto_merge: bool = False


class MemberState(str, enum.Enum):
    """A member's place in a party."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    KICKED = "kicked"
    LEFT = "left"


MEMBER = _table(MemberState, {"pending": "approved denied left", "approved": "kicked left",
                              "denied": "", "kicked": "", "left": ""})


class MemberData(RecordData):
    """A member: ``name``, ``role``, how it came (``invite`` id, or ``source`` "hub" with
    its ``hub_user``) and the SHA-256 of its credential (never the credential)."""

    name: str = ""
    role: str = ""
    invite: str | None = None
    credential_sha256: str | None = None
    source: str | None = None
    hub_user: str | None = None


class PromptState(str, enum.Enum):
    """A party prompt in the queue."""

    QUEUED = "queued"
    APPROVED = "approved"
    GROUPED = "grouped"
    DENIED = "denied"
    DONE = "done"


PROMPT = _table(PromptState, {"queued": "approved denied", "approved": "grouped denied",
                              "grouped": "done", "denied": "", "done": ""})


class PromptData(RecordData):
    """A prompt: who sent it (``member`` id, ``name``), ``text``, its queue ``position``,
    ``visibility`` (private / shared), the ``agent``, workspace (``shared``), review
    (``auto_merge``) and budget (``max_tokens``, ``max_cost_usd``) asked for, the
    ``objective`` it joined and its ``outcome``."""

    member: str = ""
    name: str = ""
    text: str = ""
    position: float = 0.0
    visibility: str = "private"
    agent: str | None = None
    shared: bool = False
    auto_merge: bool | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    objective: str | None = None
    outcome: str | None = None


class InviteState(str, enum.Enum):
    """An invite's validity."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


INVITE = _table(InviteState, {"active": "revoked expired", "revoked": "", "expired": ""})


class InviteData(RecordData):
    """An invite: ``name`` (its code), ``role``, ``expires_at`` (epoch s) and the SHA-256
    of its secret (never the secret)."""

    name: str = ""
    role: str = ""
    expires_at: float = 0.0
    secret_sha256: str = ""


# -- target ------------------------------------------------------------------------------
class TargetState(str, enum.Enum):
    """Whether a target takes tasks: ``active`` does, ``draining`` finishes what it holds
    and takes no new one, ``disabled`` takes none (re-enable with ``active``), ``removed``
    is gone for good (its name may be registered again)."""

    ACTIVE = "active"
    DRAINING = "draining"
    DISABLED = "disabled"
    REMOVED = "removed"


TARGET = _table(TargetState, {"active": "draining disabled removed",
                              "draining": "active disabled removed",
                              "disabled": "active removed", "removed": ""})


class TargetCheck(BaseModel):
    """One finding of a target's doctor: ``name`` (hub, token, scopes, named-servers,
    server, extension, git, agents, sandbox), ``ok``, and ``detail``: what was found, or
    what is missing and what to set; ``skipped``: not checked (an earlier check failed)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    ok: bool
    detail: str
    skipped: bool = False


class TargetData(RecordData):
    """Where tasks run: ``name``, ``kind`` ("local" or "hub"); for a hub target the hub's
    ``url``, the hub ``user`` whose named servers run tasks, the environment variable that
    holds the API token (``token_env``: the token itself is never stored); ``capacity``
    (tasks at once), idle named servers kept ready (``warm``), the task ids holding a slot
    (``claims``), and the last doctor's findings (``checks``, at ``checked_at`` epoch s)."""

    name: str = ""
    kind: str = "local"
    url: str | None = None
    user: str | None = None
    token_env: str | None = None
    capacity: int = 1
    warm: int = 0
    claims: list[str] = Field(default_factory=list)
    checks: list[TargetCheck] = Field(default_factory=list)
    checked_at: float | None = None


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("objective", ObjectiveState, OBJECTIVE, OBJECTIVE_TERMINAL, ObjectiveData),
    Kind("task", TaskState, TASK, TASK_TERMINAL, TaskData),
    Kind("change", ChangeState, CHANGE, frozenset({"merged"}), ChangeData),
    Kind("question", QuestionState, QUESTION, frozenset({"answered", "cancelled"}),
         QuestionData),
    Kind("message", Sent, None, frozenset(), MessageData),
    Kind("story", StoryState, None, frozenset(), StoryData),
    Kind("party", PartyState, PARTY, frozenset({"closed"}), PartyData),
    Kind("member", MemberState, MEMBER, frozenset({"denied", "kicked", "left"}), MemberData),
    Kind("prompt", PromptState, PROMPT, frozenset({"denied", "done"}), PromptData),
    Kind("invite", InviteState, INVITE, frozenset({"revoked", "expired"}), InviteData),
    Kind("target", TargetState, TARGET, frozenset({"removed"}), TargetData),
)}


def kind_of(name: str) -> Kind:
    """The kind called ``name``.

    Raises:
        KeyError: no such kind (a programming error: kinds are listed here).
    """
    return KINDS[name]
