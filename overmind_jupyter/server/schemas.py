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

    def to_spec(self) -> MissionSpec:
        """The engine's ``MissionSpec`` for this body."""
        restart = RestartPolicy(**{**self.restart.model_dump(),
                                   "mode": RestartMode(self.restart.mode)})
        return MissionSpec(command=self.command, name=self.name, cwd=self.cwd, env=self.env,
                           kind=MissionKind(self.kind), parent=self.parent, restart=restart,
                           activity_timeout_s=self.activity_timeout_s, agent=self.agent,
                           grace_s=self.grace_s)


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
