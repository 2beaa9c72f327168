"""Request bodies of the REST API as pydantic models (validation + OpenAPI schemas)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..model import MissionKind, MissionSpec, RestartMode, RestartPolicy


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RestartBody(_Strict):
    """Restart policy; see ``model.RestartPolicy`` (times in s, backoff in ms)."""

    mode: Literal["never", "on-failure", "always"] = "never"
    max_restarts: int = Field(5, ge=0, le=10_000)
    window_s: float = Field(60.0, gt=0)
    backoff_ms: int = Field(1000, ge=0, le=3_600_000)
    cap_s: float = Field(60.0, ge=0)
    stable_s: float = Field(10.0, ge=0)
    jitter: float = Field(0.1, ge=0, le=1)


class RunBody(_Strict):
    """``POST /missions``: start a mission. ``command`` is an argv list."""

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


class SendBody(_Strict):
    """``POST /missions/{ref}/send``: a line of input (a newline is added)."""

    text: str = Field(max_length=1_000_000)


class AnswerBody(_Strict):
    """``POST questions/{ref}/answer``: the answer text (one of the options, if any)."""

    text: str = Field(min_length=1, max_length=100_000)


class StopBody(_Strict):
    """``POST /missions/{ref}/stop``: ``force`` skips the grace period."""

    force: bool = False


class KillBody(_Strict):
    """``POST /missions/{ref}/kill``: ``cascade`` kills descendants first."""

    cascade: bool = False


class WaitBody(_Strict):
    """``POST /missions/{ref}/wait``: long-poll until terminal or ``timeout_s``."""

    timeout_s: float | None = Field(None, ge=0, le=86_400)


class ApplyBody(_Strict):
    """``POST /blueprints``: a blueprint's TOML text and where it came from."""

    text: str = Field(max_length=1_000_000)
    source: str = "blueprint.toml"
    base_dir: str | None = None
    name: str | None = None


# -- party (host routes under /party…, the guest's POST /overmind/party/join) ----------
_NAME = Field(min_length=1, max_length=40)


class HostBody(_Strict):
    """``POST /party``: open a party; guests named in ``auto_approve`` need no approval."""

    name: str | None = Field(None, min_length=1, max_length=40)
    auto_approve: list[str] = Field(default_factory=list, max_length=100)
    auto_approve_prompts: bool = False


class InviteBody(_Strict):
    """``POST /party/invites``: a new invite living ``ttl_s`` seconds."""

    ttl_s: float = Field(86_400.0, gt=0, le=7 * 86_400)
    role: Literal["collaborator", "viewer"] = "collaborator"


class MemberActionBody(_Strict):
    """``POST /party/members/{ref}``: approve (optionally with a role), deny, kick, role."""

    action: Literal["approve", "deny", "kick", "role"]
    role: Literal["collaborator", "viewer"] | None = None


class PromptActionBody(_Strict):
    """``POST /party/prompts/{ref}``: approve, deny, share or move (``position``: 0 = first)."""

    action: Literal["approve", "deny", "share", "move"]
    position: int | None = Field(None, ge=0, le=1_000_000)


class PartyPromptBody(_Strict):
    """``POST /party/prompts``: a prompt to the party (``member``: which joined identity;
    ``agent``: which of the host's agents runs its tasks)."""

    text: str = Field(min_length=1, max_length=100_000)
    member: str | None = Field(None, min_length=1, max_length=40)
    agent: str | None = Field(None, min_length=1, max_length=64)


class JoinBody(_Strict):
    """``POST /party/join``: this engine joins another server's party as ``name``."""

    invite: str = Field(min_length=1, max_length=2_000)
    name: str = _NAME


class LeaveBody(_Strict):
    """``POST /party/leave``: leave a joined party (``member``: which joined identity)."""

    member: str | None = Field(None, min_length=1, max_length=40)


class GuestJoinBody(_Strict):
    """Guest ``POST <base_url>overmind/party/join``; the invite is in a header."""

    name: str = _NAME


class PromptBody(_Strict):
    """``POST /prompts``: a prompt (``wait``: answer once its objective has ended)."""

    text: str = Field(min_length=1, max_length=20_000)
    agent: str | None = None
    wait: bool = False
    shared: bool = False


class WaitObjectiveBody(_Strict):
    """``POST /objectives/{ref}/wait``: wait at most ``timeout_s`` s (None: until ended)."""

    timeout_s: float | None = Field(None, gt=0, le=86_400)


class MessageBody(_Strict):
    """``POST /messages``: mail ``text`` to an agent (task or mission name) or a member."""

    to: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000)


class RequestChangesBody(_Strict):
    """``POST /changes/{ref}/request-changes``: the reviewer's ``text`` (what to change)."""

    text: str = Field(min_length=1, max_length=20_000)
