"""The typed requests of the engine's operations: a POST's JSON body or a GET's query,
validated with pydantic; their fields are the engine method's keyword arguments."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidRequest, UsageError
from ..model import MissionKind, MissionSpec, RestartMode, RestartPolicy


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
    secret_env: dict[str, str] = Field(default_factory=dict, repr=False)  # never stored

    def to_spec(self) -> MissionSpec:
        """The engine's ``MissionSpec`` for this body."""
        restart = RestartPolicy(**{**self.restart.model_dump(),
                                   "mode": RestartMode(self.restart.mode)})
        return MissionSpec(command=self.command, name=self.name, cwd=self.cwd, env=self.env,
                           kind=MissionKind(self.kind), parent=self.parent, restart=restart,
                           activity_timeout_s=self.activity_timeout_s, agent=self.agent,
                           grace_s=self.grace_s, worktree=self.worktree,
                           secret_env=self.secret_env)

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
            "grace_s": spec.grace_s, "worktree": spec.worktree, "secret_env": spec.secret_env})


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
    auto_merge: bool = False  # the party's changes land without review


class InviteBody(Params):
    """``POST party/invites``: a new invite living ``ttl_s`` seconds."""

    ttl_s: float = Field(86_400.0, gt=0, le=7 * 86_400)
    role: Literal["reviewer", "collaborator", "viewer"] = "collaborator"


class MemberActionBody(Params):
    """``POST party/members/{ref}``: approve (optionally with a role), deny, kick, role."""

    action: Literal["approve", "deny", "kick", "role"]
    role: Literal["reviewer", "collaborator", "viewer"] | None = None


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


class PartyReviewBody(Params):
    """``POST party/review``: as a reviewer of a joined party, merge, close or request
    changes (``text``) of a change of an objective the member follows."""

    action: Literal["merge", "close", "request-changes"]
    change: str = Field(min_length=1, max_length=64)
    text: str | None = Field(None, min_length=1, max_length=20_000)
    member: str | None = Field(None, min_length=1, max_length=40)


class TargetAddBody(Params):
    """``POST targets``: register hub target ``name`` (``user``'s named servers on the
    hub at ``url``, ``capacity`` tasks at once, the token in variable ``token_env``, by
    default the engine's ``OVERMIND_HUB_TOKEN``) and
    run its doctor unless ``doctor`` is false."""

    name: str = Field(min_length=1, max_length=31)
    url: str = Field(min_length=1, max_length=2_000)
    user: str = Field(min_length=1, max_length=255)
    capacity: int = Field(2, ge=1, le=256)
    token_env: str | None = Field(None, min_length=1, max_length=64)
    doctor: bool = True
    warm: int = Field(0, ge=0, le=256)


class TargetActionBody(Params):
    """``POST targets/{ref}``: drain, disable, enable or remove a target."""

    action: Literal["drain", "disable", "enable", "remove"]


class RemoteReceiveBody(Params):
    """``POST remote/workspaces``: a host ships repository ``name`` as a git bundle
    (base64; ``targets.shipping``)."""

    name: str = Field(min_length=1, max_length=81, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    bundle: str = Field(min_length=1, max_length=700_000_000)


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
    """``POST prompts``: a prompt (``wait``: answer once its objective has ended or waits
    on a human). Over REST the submitter is the host (``member`` stays local)."""

    text: str = Field(min_length=1, max_length=20_000)
    agent: str | None = None
    wait: bool = False
    shared: bool = False
    auto_merge: bool | None = None  # None: the party's or the server's choice
    max_tokens: int | None = Field(None, ge=1, le=10**9)
    max_cost_usd: float | None = Field(None, ge=0, le=100_000)
    target: str | None = Field(None, min_length=1, max_length=31)  # pin to this target
    model: str | None = Field(None, min_length=1, max_length=2_000)  # a GET model choice
    local_only: ClassVar[tuple[str, ...]] = ("member",)

    def request_timeout_s(self) -> float | None:
        """A waited prompt has no practical timeout (a day); an unwaited one still answers
        only once the story agent has grouped it into an objective — a model call, minutes
        with a local model on 2 cores (``make demo MODEL=local`` timed out at 30 s)."""
        return 86_400.0 if self.wait else 900.0


class WaitObjectiveBody(Params):
    """``POST objectives/{ref}/wait``: wait at most ``timeout_s`` s (None: until ended)."""

    timeout_s: float | None = Field(None, gt=0, le=86_400)
    or_question: bool = False  # or until it waits on one of its questions

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
