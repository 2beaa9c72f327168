"""The engine contract: every operation a front (REST, kernel views, CLI, magics) can ask
of an engine, written once.

- ``EngineAPI`` is the interface as a Protocol made of four sub-protocols (``MissionsAPI``,
  ``WorkAPI``, ``PartyAPI``, ``ReviewAPI``). ``engine.Engine`` (in process) and
  ``client.Client`` (over REST) both implement it; ``tests/server/test_api_contract.py``
  checks their signatures against it and CI runs mypy on ``tests/typecheck``.
- ``OPERATIONS`` is the table: name (the method), HTTP method, path (relative to
  ``<base_url>overmind/api/``; ``{ref}`` is the method's first argument), the request model
  (a JSON body for POST, the query for GET; fields are the method's keyword arguments),
  the result codec and the success status. From it come the tornado routes
  (``server/routes.py``), the REST client's methods (``client.Client``), the kernel's router
  for embedded engines (``dispatch`` below, behind the views' comm bridge), the OpenAPI
  document (``server/openapi.py``) and the TypeScript types of the views
  (``labextension/src/api.gen.ts``, ``python -m overmind_jupyter.api``).

Adding an operation: a method on the engine, its signature on the sub-protocol, one
``Operation`` here (plus a request model if it takes arguments).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any, ClassVar, Literal, Protocol, TypeVar
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InvalidRequest, NotFound, UsageError
from .events import Event
from .model import (
    Mission,
    MissionKind,
    MissionSpec,
    RestartMode,
    RestartPolicy,
    mission_from_dict,
    mission_to_dict,
)
from .orchestrator.questions import Question, question_from_dict

Json = Any  # what json.loads returns; results not yet typed travel as it
HttpMethod = Literal["GET", "POST"]


# -- the interface -----------------------------------------------------------------------
class MissionsAPI(Protocol):
    """Supervised processes: run, watch, stop (seeds: Overmind's mission supervisor)."""

    async def status(self) -> dict[str, Any]: ...
    async def run(self, spec: MissionSpec) -> Mission: ...
    async def ps(self, all: bool = False) -> list[Mission]: ...
    async def ps_json(self, all: bool = False) -> str: ...
    async def ps_stats(self, all: bool = False) -> list[dict[str, Any]]: ...
    async def info(self, ref: str) -> dict[str, Any]: ...
    async def logs(self, ref: str, tail: int | None = None) -> str: ...
    def follow(self, ref: str, tail: int | None = 10) -> AsyncGenerator[str, None]: ...
    async def send(self, ref: str, text: str) -> Mission: ...
    async def stop(self, ref: str, force: bool = False) -> Mission: ...
    async def restart(self, ref: str) -> Mission: ...
    async def kill(self, ref: str, cascade: bool = False, force: bool = True
                   ) -> list[Mission]: ...
    async def wait(self, ref: str, timeout_s: float | None = None) -> Mission: ...
    async def apply(self, text: str, source: str, base_dir: str | None = None,
                    name: str | None = None) -> Mission: ...
    async def events(self, after: int = 0, limit: int = 1000, latest: bool = False,
                     mission: str | None = None, objective: str | None = None,
                     party: str | None = None) -> list[Event]: ...
    async def list_agents(self) -> list[dict[str, Any]]: ...
    async def list_questions(self) -> list[Question]: ...
    async def answer(self, ref: str, text: str) -> Question: ...
    async def model_status(self) -> dict[str, Any]: ...
    async def shutdown(self) -> list[Mission]: ...


class WorkAPI(Protocol):
    """Prompts, objectives, changes and the mailbox (the orchestration pipeline)."""

    async def prompt(self, text: str, agent: str | None = None, wait: bool = False,
                     member: str = "host", shared: bool = False) -> dict[str, Any]: ...
    async def objectives(self) -> list[dict[str, Any]]: ...
    async def objective(self, ref: str) -> dict[str, Any]: ...
    async def wait_objective(self, ref: str, timeout_s: float | None = None
                             ) -> dict[str, Any]: ...
    async def cancel_objective(self, ref: str) -> dict[str, Any]: ...
    async def send_message(self, to: str, text: str, sender: str = "host"
                           ) -> dict[str, Any]: ...
    async def messages(self, recipient: str | None = None) -> list[dict[str, Any]]: ...


class ReviewAPI(Protocol):
    """Changes: read, review, merge, close."""

    async def changes(self, objective: str | None = None) -> list[dict[str, Any]]: ...
    async def change(self, ref: str) -> dict[str, Any]: ...
    async def diff(self, ref: str, path: str | None = None) -> str: ...
    async def change_files(self, ref: str) -> dict[str, Any]: ...
    async def request_changes(self, ref: str, text: str, member: str = "host"
                              ) -> dict[str, Any]: ...
    async def merge(self, ref: str) -> dict[str, Any]: ...
    async def close_change(self, ref: str) -> dict[str, Any]: ...
    async def reopen_change(self, ref: str) -> dict[str, Any]: ...


class PartyAPI(Protocol):
    """The party this engine hosts and the parties it joined."""

    async def host(self, name: str | None = None, auto_approve: Iterable[str] = (),
                   auto_approve_prompts: bool = False) -> dict[str, Any]: ...
    async def party_status(self) -> dict[str, Any]: ...
    async def invite(self, ttl_s: float = 86_400.0, role: str = "collaborator"
                     ) -> dict[str, Any]: ...
    async def revoke_invite(self, ref: str) -> dict[str, Any]: ...
    async def member_action(self, ref: str, action: str, role: str | None = None
                            ) -> dict[str, Any]: ...
    async def prompt_action(self, ref: str, action: str, position: int | None = None
                            ) -> dict[str, Any]: ...
    async def join(self, invite: str, name: str) -> dict[str, Any]: ...
    async def party_prompt(self, text: str, member: str | None = None,
                           agent: str | None = None) -> dict[str, Any]: ...
    async def leave(self, member: str | None = None) -> dict[str, Any]: ...
    async def close_party(self) -> dict[str, Any]: ...


class EngineAPI(MissionsAPI, WorkAPI, ReviewAPI, PartyAPI, Protocol):
    """The whole engine interface: what ``Engine`` and ``Client`` share. ``mode`` is
    ``"server"``, ``"embedded"`` or ``"local"``."""

    mode: str


# -- requests ----------------------------------------------------------------------------
class Params(BaseModel):
    """A request: the JSON body of a POST or the query of a GET. Its fields are the engine
    method's keyword arguments, except ``wire_only`` ones (they select an operation)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    wire_only: ClassVar[tuple[str, ...]] = ()
    local_only: ClassVar[tuple[str, ...]] = ()  # method arguments that never travel

    def args(self) -> dict[str, Any]:
        """The keyword arguments of the engine call."""
        return {k: getattr(self, k) for k in type(self).model_fields if k not in
                self.wire_only}

    @classmethod
    def of_call(cls, **kwargs: Any) -> Params:
        """The request for a method call's keyword arguments (``local_only`` ones dropped).

        Raises:
            UsageError: an argument the request does not take, or an invalid value.
        """
        extra = set(kwargs) - set(cls.model_fields) - set(cls.local_only)
        if extra:
            raise UsageError(f"unexpected argument(s): {', '.join(sorted(extra))}")
        return validated(cls, {k: v for k, v in kwargs.items() if k in cls.model_fields})

    def wire(self) -> dict[str, Any]:
        """JSON-ready form (field aliases as the wire names them; ``None`` kept)."""
        return self.model_dump(mode="json", by_alias=True)

    def request_timeout_s(self) -> float | None:
        """The REST client's request timeout for this request (s); None: the table's."""
        return None


P = TypeVar("P", bound=Params)


class NoParams(Params):
    """An operation without arguments (a POST takes ``{}``)."""


def validated(model: type[P], data: Any) -> P:
    """``model`` from wire data.

    Raises:
        InvalidRequest: with every field's problem (a ``UsageError``, reason ``invalid``).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                             for e in exc.errors())
        raise InvalidRequest(f"invalid request: {problems}") from None


class RestartBody(Params):
    """Restart policy; see ``model.RestartPolicy`` (times in s, backoff in ms)."""

    mode: Literal["never", "on-failure", "always"] = "never"
    max_restarts: int = Field(5, ge=0, le=10_000)
    window_s: float = Field(60.0, gt=0)
    backoff_ms: int = Field(1000, ge=0, le=3_600_000)
    cap_s: float = Field(60.0, ge=0)
    stable_s: float = Field(10.0, ge=0)
    jitter: float = Field(0.1, ge=0, le=1)


class RunBody(Params):
    """``POST missions``: start a mission. ``command`` is an argv list."""

    command: list[str] = Field(min_length=1)
    name: str | None = None
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    kind: Literal["command", "agent", "session"] = "command"
    parent: str | None = None
    agent: str | None = None
    restart: RestartBody = Field(default_factory=RestartBody)
    activity_timeout_s: float | None = Field(None, gt=0)
    grace_s: float = Field(5.0, ge=0, le=3600)
    worktree: bool = False  # in a worktree of its own; a clean exit's edits open a change

    def to_spec(self) -> MissionSpec:
        """The engine's ``MissionSpec`` for this body."""
        restart = RestartPolicy(**{**self.restart.model_dump(),
                                   "mode": RestartMode(self.restart.mode)})
        return MissionSpec(command=self.command, name=self.name, cwd=self.cwd, env=self.env,
                           kind=MissionKind(self.kind), parent=self.parent, restart=restart,
                           activity_timeout_s=self.activity_timeout_s, agent=self.agent,
                           grace_s=self.grace_s, worktree=self.worktree)

    def args(self) -> dict[str, Any]:
        """``run(spec)``."""
        return {"spec": self.to_spec()}

    @classmethod
    def of_call(cls, **kwargs: Any) -> Params:
        """From ``run(spec)``."""
        spec: MissionSpec = kwargs["spec"]
        r = spec.restart
        restart = {"mode": r.mode.value, "max_restarts": r.max_restarts, "window_s": r.window_s,
                   "backoff_ms": r.backoff_ms, "cap_s": r.cap_s, "stable_s": r.stable_s,
                   "jitter": r.jitter}
        return validated(cls, {
            "command": spec.command, "name": spec.name, "cwd": spec.cwd, "env": spec.env,
            "kind": spec.kind.value, "parent": spec.parent, "agent": spec.agent,
            "restart": restart, "activity_timeout_s": spec.activity_timeout_s,
            "grace_s": spec.grace_s, "worktree": spec.worktree})


class AllQuery(Params):
    """``?all=1``: ended missions too."""

    all: bool = False


class StatsQuery(AllQuery):
    """``?stats=1[&all=1]``: live missions with ``last_line``, ``cpu_percent``, ``rss_bytes``."""

    stats: bool = True
    wire_only: ClassVar[tuple[str, ...]] = ("stats",)


class LogsQuery(Params):
    """``?tail=N`` lines (default: all); ``follow=1`` streams new output (REST only)."""

    tail: int | None = Field(None, ge=0)
    follow: bool = False
    wire_only: ClassVar[tuple[str, ...]] = ("follow",)


class SendBody(Params):
    """``POST missions/{ref}/send``: a line of input (a newline is added)."""

    text: str = Field(max_length=1_000_000)


class AnswerBody(Params):
    """``POST questions/{ref}/answer``: the answer text (one of the options, if any)."""

    text: str = Field(min_length=1, max_length=100_000)


class StopBody(Params):
    """``POST missions/{ref}/stop``: ``force`` skips the grace period."""

    force: bool = False


class KillBody(Params):
    """``POST missions/{ref}/kill``: ``cascade`` kills descendants first; ``force: false``
    gives each its grace period (SIGTERM first)."""

    cascade: bool = False
    force: bool = True


class WaitBody(Params):
    """``POST missions/{ref}/wait``: long-poll until terminal or ``timeout_s``."""

    timeout_s: float | None = Field(None, ge=0, le=86_400)


class ApplyBody(Params):
    """``POST blueprints``: a blueprint's TOML text and where it came from."""

    text: str = Field(max_length=1_000_000)
    source: str = "blueprint.toml"
    base_dir: str | None = None
    name: str | None = None


class EventsQuery(Params):
    """``GET events``: after a cursor, at most ``limit`` (``latest``: the last ones),
    filtered by mission (id, prefix or name), objective or party (ids)."""

    after: int = Field(0, ge=0)
    limit: int = Field(1000, ge=0, le=10_000)
    latest: bool = False
    mission: str | None = None
    objective: str | None = None
    party: str | None = None

_NAME = Field(min_length=1, max_length=40)


class HostBody(Params):
    """``POST party``: open a party; guests named in ``auto_approve`` need no approval."""

    name: str | None = Field(None, min_length=1, max_length=40)
    auto_approve: list[str] = Field(default_factory=list, max_length=100)
    auto_approve_prompts: bool = False


class InviteBody(Params):
    """``POST party/invites``: a new invite living ``ttl_s`` seconds."""

    ttl_s: float = Field(86_400.0, gt=0, le=7 * 86_400)
    role: Literal["collaborator", "viewer"] = "collaborator"


class MemberActionBody(Params):
    """``POST party/members/{ref}``: approve (optionally with a role), deny, kick, role."""

    action: Literal["approve", "deny", "kick", "role"]
    role: Literal["collaborator", "viewer"] | None = None


class PromptActionBody(Params):
    """``POST party/prompts/{ref}``: approve, deny, share or move (``position``: 0 = first)."""

    action: Literal["approve", "deny", "share", "move"]
    position: int | None = Field(None, ge=0, le=1_000_000)


class PartyPromptBody(Params):
    """``POST party/prompts``: a prompt to the party (``member``: which joined identity;
    ``agent``: which of the host's agents runs its tasks)."""

    text: str = Field(min_length=1, max_length=100_000)
    member: str | None = Field(None, min_length=1, max_length=40)
    agent: str | None = Field(None, min_length=1, max_length=64)


class JoinBody(Params):
    """``POST party/join``: this engine joins another server's party as ``name``."""

    invite: str = Field(min_length=1, max_length=2_000)
    name: str = _NAME


class LeaveBody(Params):
    """``POST party/leave``: leave a joined party (``member``: which joined identity)."""

    member: str | None = Field(None, min_length=1, max_length=40)


class GuestJoinBody(Params):
    """Guest ``POST <base_url>overmind/party/join``; the invite is in a header."""

    name: str = _NAME


class MemberPromptBody(Params):
    """``POST party/me/prompts``: a prompt queued as the calling hub member."""

    text: str = Field(min_length=1, max_length=100_000)


class PromptBody(Params):
    """``POST prompts``: a prompt (``wait``: answer once its objective has ended). Over
    REST the submitter is the host (``member`` stays local)."""

    text: str = Field(min_length=1, max_length=20_000)
    agent: str | None = None
    wait: bool = False
    shared: bool = False
    local_only: ClassVar[tuple[str, ...]] = ("member",)

    def request_timeout_s(self) -> float | None:
        """A waited prompt has no practical timeout (a day)."""
        return 86_400.0 if self.wait else None


class WaitObjectiveBody(Params):
    """``POST objectives/{ref}/wait``: wait at most ``timeout_s`` s (None: until ended)."""

    timeout_s: float | None = Field(None, gt=0, le=86_400)

    def request_timeout_s(self) -> float | None:
        """The wait plus 30 s of slack."""
        return (self.timeout_s or 86_400.0) + 30


class ChangesQuery(Params):
    """``?objective=REF``: only that objective's changes."""

    objective: str | None = None


class DiffQuery(Params):
    """``?path=P``: only that file's diff."""

    path: str | None = None


class MessagesQuery(Params):
    """``?to=NAME``: only the messages to that agent or member."""

    recipient: str | None = Field(None, alias="to")


class MessageBody(Params):
    """``POST messages``: mail ``text`` to an agent (task or mission name) or a member;
    over REST the sender is the host."""

    to: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000)
    local_only: ClassVar[tuple[str, ...]] = ("sender",)


class RequestChangesBody(Params):
    """``POST changes/{ref}/request-changes``: the reviewer's ``text`` (what to change);
    over REST the reviewer is the host."""

    text: str = Field(min_length=1, max_length=20_000)
    local_only: ClassVar[tuple[str, ...]] = ("member",)


# -- results -----------------------------------------------------------------------------
class Media(str, enum.Enum):
    """What a successful answer's body is."""

    JSON = "application/json"
    TEXT = "text/plain; charset=utf-8"
    STREAM = "text/plain; charset=utf-8; streamed"  # chunks over one response
    WEBSOCKET = "websocket"


def _same(value: Any, _params: Any = None) -> Any:
    return value


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """How a method's return value travels: ``encode(value, params)`` → JSON-ready,
    ``decode(json)`` → the value again; a list answer is wrapped as ``{key: [...]}``."""

    encode: Callable[[Any, Any], Json] = _same
    decode: Callable[[Json], Any] = _same
    media: Media = Media.JSON
    key: str | None = None
    schema: dict[str, Any] = dataclasses.field(default_factory=lambda: {"type": "object"})


def _listed(key: str, item_encode: Callable[[Any], Json] = _same,
            item_decode: Callable[[Json], Any] = _same, item_schema: dict | None = None
            ) -> Result:
    return Result(lambda xs, _p: {key: [item_encode(x) for x in xs]},
                  lambda data: [item_decode(x) for x in data[key]], key=key,
                  schema={"type": "object", "required": [key], "properties": {
                      key: {"type": "array", "items": item_schema or {"type": "object"}}}})


MISSION_SCHEMA = {"type": "object", "required": ["id", "name", "kind", "status"],
                  "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                 "kind": {"type": "string"}, "status": {"type": "string"},
                                 "pid": {"type": ["integer", "null"]}}}
JSON = Result()
TEXT = Result(media=Media.TEXT, schema={"type": "string"})
MISSION = Result(lambda m, _p: mission_to_dict(m), mission_from_dict, schema=MISSION_SCHEMA)
MISSIONS = _listed("missions", mission_to_dict, mission_from_dict, MISSION_SCHEMA)
QUESTION = Result(lambda q, _p: q.to_dict(), question_from_dict)
EVENTS = Result(lambda events, p: {"events": events,
                                   "last_seq": events[-1]["seq"] if events else p.after},
                lambda data: data["events"],
                schema={"type": "object", "required": ["events", "last_seq"]})


# -- the table ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class Operation:
    """One engine operation on the wire.

    ``name``: the ``EngineAPI`` method (or, with ``engine=False``, a route of the server
    only: the member, guest and document routes); ``when``: a query flag that selects this
    operation on a path it shares; ``timeout_s``: the REST client's request timeout (s;
    None: its default); ``kernel``: served by the kernel router for embedded engines;
    ``fast``: an engine method that returns the answer's list already encoded as JSON text
    (the server answers ``{key: <text>}`` with it).
    """

    name: str
    method: HttpMethod
    path: str
    summary: str
    params: type[Params] = NoParams
    result: Result = JSON
    status: int = 200
    timeout_s: float | None = None
    when: str | None = None
    kernel: bool = True
    engine: bool = True
    fast: str | None = None

    @property
    def takes_ref(self) -> bool:
        """Whether the path carries the method's first argument as ``{ref}``."""
        return "{ref}" in self.path

    def client_timeout_s(self, params: Params) -> float | None:
        """The request timeout for ``params`` (s): the request's own, else the table's."""
        own = params.request_timeout_s()
        return own if own is not None else self.timeout_s


_LONG = 3_600.0  # s: stops and merges may wait on grace periods and test suites
OPERATIONS: tuple[Operation, ...] = (
    Operation("status", "GET", "status", "engine facts: version, mode, root, uptime, counts"),
    Operation("ps_stats", "GET", "missions", "live missions with last_line, cpu_percent, "
              "rss_bytes (one pass for all)", StatsQuery, _listed("missions"), when="stats"),
    Operation("ps", "GET", "missions", "list missions (all=1: ended ones too)", AllQuery,
              MISSIONS, kernel=False, fast="ps_json"),
    Operation("run", "POST", "missions", "start a mission", RunBody, MISSION, 201,
              kernel=False),
    Operation("info", "GET", "missions/{ref}", "mission details (ref: id, id prefix or name)"),
    Operation("logs", "GET", "missions/{ref}/logs", "mission output (text/plain; follow=1 "
              "streams)", LogsQuery, TEXT, kernel=False),
    Operation("send", "POST", "missions/{ref}/send", "a line of input to a session mission "
              "or a follow-up prompt to an agent", SendBody, MISSION, kernel=False),
    Operation("stop", "POST", "missions/{ref}/stop", "stop: SIGTERM, grace, SIGKILL",
              StopBody, MISSION, timeout_s=_LONG),
    Operation("restart", "POST", "missions/{ref}/restart", "end a live mission's process and "
              "run it again now", NoParams, MISSION, timeout_s=_LONG),
    Operation("kill", "POST", "missions/{ref}/kill", "SIGKILL (cascade: descendants first)",
              KillBody, MISSIONS, timeout_s=600.0),
    Operation("wait", "POST", "missions/{ref}/wait", "wait until ended or timeout_s",
              WaitBody, MISSION, kernel=False),
    Operation("attach", "GET", "missions/{ref}/attach", "websocket: raw terminal of a "
              "session mission (binary frames both ways)", result=Result(
                  media=Media.WEBSOCKET), kernel=False, engine=False),
    Operation("apply", "POST", "blueprints", "apply a blueprint", ApplyBody, MISSION, 201,
              kernel=False),
    Operation("events", "GET", "events", "events after a cursor (latest=1: the last `limit` "
              "of them); with Upgrade: websocket, live", EventsQuery, EVENTS),
    Operation("list_agents", "GET", "agents", "agents and whether they are installed",
              result=_listed("agents")),
    Operation("model_status", "GET", "model", "which model answers the roles and the "
              "built-in agent, whether one is configured, and the settings that change it"),
    Operation("list_questions", "GET", "questions", "open questions, oldest first",
              result=_listed("questions", lambda q: q.to_dict(), question_from_dict)),
    Operation("answer", "POST", "questions/{ref}/answer", "answer a question",
              AnswerBody, QUESTION),
    Operation("shutdown", "POST", "shutdown", "stop every mission (and a daemon server)",
              result=MISSIONS, timeout_s=600.0, kernel=False),
    Operation("openapi", "GET", "openapi.json", "this document", kernel=False, engine=False),
    # party
    Operation("party_status", "GET", "party", "hosted party (members, invites, queue) and "
              "joined parties"),
    Operation("host", "POST", "party", "host a party; answers its first invite", HostBody,
              status=201),
    Operation("invite", "POST", "party/invites", "a new invite (its secret is shown only "
              "here)", InviteBody, status=201),
    Operation("revoke_invite", "POST", "party/invites/{ref}/revoke", "revoke an invite"),
    Operation("member_action", "POST", "party/members/{ref}", "approve, deny, kick a member "
              "or set its role", MemberActionBody),
    Operation("party_prompt", "POST", "party/prompts", "a prompt to the hosted or a joined "
              "party", PartyPromptBody, status=201),
    Operation("prompt_action", "POST", "party/prompts/{ref}", "approve, deny, share or move "
              "a prompt", PromptActionBody),
    Operation("join", "POST", "party/join", "join another party with an invite", JoinBody,
              status=201),
    Operation("leave", "POST", "party/leave", "leave a joined party", LeaveBody),
    Operation("close_party", "POST", "party/close", "close the hosted party"),
    Operation("member_view", "GET", "party/me", "the caller's view of the party as a member "
              "(hub collaborators)", kernel=False, engine=False),
    Operation("member_prompt", "POST", "party/me/prompts", "a prompt queued as the caller "
              "(hub collaborators)", MemberPromptBody, kernel=False, engine=False),
    # work
    Operation("prompt", "POST", "prompts", "submit a prompt; answers its objective",
              PromptBody, status=201),
    Operation("objectives", "GET", "objectives", "objectives, oldest first",
              result=_listed("objectives")),
    Operation("objective", "GET", "objectives/{ref}", "an objective with its tasks and "
              "changes"),
    Operation("wait_objective", "POST", "objectives/{ref}/wait", "wait until the objective "
              "has ended", WaitObjectiveBody, kernel=False),
    Operation("cancel_objective", "POST", "objectives/{ref}/cancel", "cancel an objective "
              "and its tasks"),
    Operation("messages", "GET", "messages", "the mailbox", MessagesQuery,
              _listed("messages")),
    Operation("send_message", "POST", "messages", "mail an agent or a member as the host",
              MessageBody, status=201),
    # review
    Operation("changes", "GET", "changes", "changes, oldest first", ChangesQuery,
              _listed("changes")),
    Operation("change", "GET", "changes/{ref}", "a change"),
    Operation("diff", "GET", "changes/{ref}/diff", "the change's unified diff (text/plain)",
              DiffQuery, TEXT),
    Operation("change_files", "GET", "changes/{ref}/files", "the change's diff as data: "
              "files with stats and hunks, notebooks cell by cell"),
    Operation("request_changes", "POST", "changes/{ref}/request-changes", "close the "
              "change; a follow-up task of its objective takes the review",
              RequestChangesBody),
    Operation("merge", "POST", "changes/{ref}/merge", "merge a change through the merge "
              "queue (an objective's id merges all its open changes)", timeout_s=_LONG),
    Operation("close_change", "POST", "changes/{ref}/close", "close a change (its branch "
              "is kept)"),
    Operation("reopen_change", "POST", "changes/{ref}/reopen", "reopen a closed change"),
)
BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}


def by_path() -> dict[str, list[Operation]]:
    """Operations grouped by path, in table order (one tornado handler per path)."""
    found: dict[str, list[Operation]] = {}
    for op in OPERATIONS:
        found.setdefault(op.path, []).append(op)
    return found


def select(ops: Iterable[Operation], method: str, query: dict[str, str]) -> Operation | None:
    """The operation of ``method`` for a request with ``query``: one whose ``when`` flag is
    set in the query first, else the one without a flag."""
    candidates = [op for op in ops if op.method == method.upper()]
    for op in candidates:
        if op.when and query.get(op.when, "0").lower() in ("1", "true", "yes"):
            return op
    return next((op for op in candidates if op.when is None), None)


def request_of(op: Operation, query: dict[str, str], body: Any) -> Params:
    """The validated request of ``op`` from a GET's query or a POST's JSON body.

    Raises:
        InvalidRequest: a body that is not a JSON object, or invalid fields.
    """
    if op.method == "GET":
        return validated(op.params, {k: v for k, v in query.items()
                                     if k in _wire_names(op.params)})
    if body is not None and not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return validated(op.params, body or {})


def _wire_names(model: type[Params]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


async def call(api: EngineAPI, op: Operation, ref: str | None, params: Params) -> Any:
    """Call ``op`` on ``api`` (the engine or anything implementing ``EngineAPI``) and return
    the method's own value (not encoded)."""
    method = getattr(api, op.name)
    return await (method(ref, **params.args()) if op.takes_ref else method(**params.args()))


# -- the kernel's router -----------------------------------------------------------------
_PATTERNS = [(op, re.compile("^" + re.escape(op.path).replace(r"\{ref\}", "(?P<ref>[^/]+)")
                             + "$")) for op in OPERATIONS if op.kernel]


async def dispatch(api: EngineAPI, method: str, path: str, query: dict[str, str],
                   body: Any = None) -> Json:
    """Serve one REST call with ``api`` as the server would (the kernel's router for engines
    embedded in a kernel, where no Jupyter server answers the views).

    Args:
        api: the engine interface.
        method: ``GET`` or ``POST``.
        path: relative to ``overmind/api/``, without its query.
        query: the query string's parameters.
        body: the JSON body or None.

    Returns:
        The JSON-ready answer (or text, for diffs).

    Raises:
        NotFound: no such route in the kernel. UsageError: invalid request.
        OvermindError: whatever the engine call raises.
    """
    matches = [(op, m) for op, m in ((op, p.match(path)) for op, p in _PATTERNS) if m]
    op = select([op for op, _ in matches], method, query)
    if op is None:
        raise NotFound(f"no Overmind route {method} {path!r} in the kernel; update "
                       "overmind-jupyter or open this view on a Jupyter server")
    ref = next(m for o, m in matches if o is op).groupdict().get("ref")
    params = request_of(op, query, body)
    value = await call(api, op, unquote(ref) if ref else None, params)
    return op.result.encode(value, params)
