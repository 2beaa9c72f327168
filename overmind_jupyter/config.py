"""Every ``OVERMIND_*`` environment variable Overmind reads or sets, by name (one place:
``tests/test_structure.py`` fails on such a name written anywhere else), and ``Settings``,
an engine's settings read from them over the server's configuration.

Set by the user or the administrator (read by the engine, the CLI or the agents):
``MODEL_ENV`` (the model of the roles and the built-in agent, ``provider:name[@url]``),
``MODELS_ENV`` (more models a prompt may give its agents, space-separated),
``FALLBACK_MODEL_ENV``, ``MAX_TOKENS_ENV`` / ``MAX_COST_USD_ENV`` / ``MAX_MODEL_CALLS_ENV``
(budgets), ``LOG_MAX_BYTES_ENV``, ``ALLOW_UNSANDBOXED_ENV``, ``AUTO_MERGE_ENV``,
``SANDBOX_READ_ENV`` / ``SANDBOX_WRITE_ENV``, ``LLM_CACHE_ENV``, ``HUB_URL_ENV`` /
``HUB_USER_ENV`` / ``HUB_TOKEN_ENV`` (a JupyterHub target; the token is only read). Set
by the engine for what it starts (kernels, the CLI, missions, agents, verification
commands): the rest.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import UsageError

AGENT_STATE_ENV = "OVERMIND_AGENT_STATE"
ALLOW_UNSANDBOXED_ENV = "OVERMIND_ALLOW_UNSANDBOXED"
AUTO_MERGE_ENV = "OVERMIND_AUTO_MERGE"
BASE_COMMIT_ENV = "OVERMIND_BASE_COMMIT"
BRANCH_ENV = "OVERMIND_BRANCH"
CHANGE_TARGET_ENV = "OVERMIND_CHANGE_TARGET"
COMMAND_POLICY_ENV = "OVERMIND_COMMAND_POLICY"
FALLBACK_MODEL_ENV = "OVERMIND_FALLBACK_MODEL"
HUB_TOKEN_ENV = "OVERMIND_HUB_TOKEN"
HUB_URL_ENV = "OVERMIND_HUB_URL"
HUB_USER_ENV = "OVERMIND_HUB_USER"
LLM_CACHE_ENV = "OVERMIND_LLM_CACHE"
LOG_MAX_BYTES_ENV = "OVERMIND_LOG_MAX_BYTES"
MAX_COST_USD_ENV = "OVERMIND_MAX_COST_USD"
MAX_MODEL_CALLS_ENV = "OVERMIND_MAX_MODEL_CALLS"
MAX_TOKENS_ENV = "OVERMIND_MAX_TOKENS"
MISSION_ID_ENV = "OVERMIND_MISSION_ID"
MISSION_NAME_ENV = "OVERMIND_MISSION_NAME"
MODEL_ENV = "OVERMIND_MODEL"
MODELS_ENV = "OVERMIND_MODELS"
OBJECTIVE_ENV = "OVERMIND_OBJECTIVE"
PARTY_URL_ENV = "OVERMIND_PARTY_URL"
PORT_ENV_PREFIX = "OVERMIND_PORT_"
ROLE_ENV = "OVERMIND_ROLE"
ROOT_ENV = "OVERMIND_ROOT"
SANDBOX_READ_ENV = "OVERMIND_SANDBOX_READ"
SANDBOX_WRITE_ENV = "OVERMIND_SANDBOX_WRITE"
TOKEN_ENV = "OVERMIND_TOKEN"
URL_ENV = "OVERMIND_URL"
VERIFY_DIR_ENV = "OVERMIND_VERIFY_DIR"
WORKSPACE_ENV = "OVERMIND_WORKSPACE"

LOG_MAX_BYTES = 64 * 1024 * 1024  # a mission log's default cap before rotation (bytes)
STORY_WINDOW_S = 0.3  # s approved prompts wait for companions by default
_TRUE = ("1", "true", "yes", "on")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """One engine's settings: the server's configuration (``c.Overmind.*`` traitlets) or
    the defaults, with the environment's ``OVERMIND_*`` values over them
    (``Settings.from_env``); the server and an embedded engine build the engine from one.

    Attributes:
        mode: ``"server"`` (inside Jupyter), ``"embedded"`` (inside a kernel) or ``"local"``.
        log_max_bytes: each mission log's cap before rotation (bytes; two files are kept).
        allow_unsandboxed: where the OS sandbox cannot run, run agents without it.
        sandbox_read / sandbox_write: extra paths sandboxed processes may read / write.
        party_url: the address guests use for this server, when not its own (a proxy).
        max_rounds: plan→run→evaluate rounds an objective takes by itself.
        max_tokens / max_cost_usd: each objective's budget (tokens; USD); None: unlimited.
        auto_merge: land accepted changes without review (default: they wait for a
            reviewer, tested on the target first; a prompt may opt in or out). agent: the
            objectives' default
            agent (None: the built-in one).
        max_parallel / per_objective: running tasks in all / per objective.
        story_window_s: how long (s) approved prompts wait for companions before the
            story agent groups them.
        models: more models a prompt may choose for its agents (``provider:name[@url]``;
            the default model is always a choice).
        hub_url / hub_user / hub_capacity / hub_warm: a JupyterHub whose named servers of
            ``hub_user`` run tasks (target ``hub``; ``hub_capacity`` tasks at once,
            ``hub_warm`` idle servers kept ready); the API token is read from
            ``OVERMIND_HUB_TOKEN`` when used, never kept here.
    """

    mode: str = "local"
    log_max_bytes: int = LOG_MAX_BYTES
    allow_unsandboxed: bool = False
    sandbox_read: tuple[Path, ...] = ()
    sandbox_write: tuple[Path, ...] = ()
    party_url: str | None = None
    max_rounds: int = 2
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    auto_merge: bool = False
    agent: str | None = None
    max_parallel: int = 4
    per_objective: int = 4
    story_window_s: float = STORY_WINDOW_S
    hub_url: str | None = None
    hub_user: str | None = None
    hub_capacity: int = 2
    hub_warm: int = 0
    models: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **config: object) -> Settings:
        """``config`` (field values) with the environment's over them:
        ``OVERMIND_LOG_MAX_BYTES``, ``OVERMIND_ALLOW_UNSANDBOXED`` (1/true/yes/on, or
        anything else for no; wins when set), ``OVERMIND_AUTO_MERGE`` (the same
        words), ``OVERMIND_SANDBOX_READ`` /
        ``OVERMIND_SANDBOX_WRITE`` (``os.pathsep``-separated, added to the configured
        ones), ``OVERMIND_MODELS`` (space-separated, added too), ``OVERMIND_PARTY_URL``,
        ``OVERMIND_HUB_URL``, ``OVERMIND_HUB_USER`` (else ``JUPYTERHUB_USER``, the server's
        owner under a hub).

        Raises:
            UsageError: a bad value (named with what to set instead).
        """
        base = cls(**config)  # type: ignore[arg-type]
        return dataclasses.replace(
            base, log_max_bytes=_log_max_bytes(env.get(LOG_MAX_BYTES_ENV), base.log_max_bytes),
            allow_unsandboxed=_flag(env.get(ALLOW_UNSANDBOXED_ENV), base.allow_unsandboxed),
            auto_merge=_flag(env.get(AUTO_MERGE_ENV), base.auto_merge),
            sandbox_read=(*base.sandbox_read, *_paths(env.get(SANDBOX_READ_ENV))),
            sandbox_write=(*base.sandbox_write, *_paths(env.get(SANDBOX_WRITE_ENV))),
            party_url=env.get(PARTY_URL_ENV) or base.party_url,
            models=(*base.models, *(env.get(MODELS_ENV) or "").split()),
            hub_url=env.get(HUB_URL_ENV) or base.hub_url,
            hub_user=env.get(HUB_USER_ENV) or base.hub_user or env.get("JUPYTERHUB_USER"))


def _flag(raw: str | None, default: bool) -> bool:
    """A yes/no variable: 1/true/yes/on, anything else set for no, unset: ``default``."""
    flag = (raw or "").strip().lower()
    return flag in _TRUE if flag else default


def _log_max_bytes(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 4096:
        raise UsageError(f"{LOG_MAX_BYTES_ENV} must be a number of bytes ≥ 4096, "
                         f"not {raw[:40]!r}")
    return int(raw)


def _paths(raw: str | None) -> Iterable[Path]:
    return (Path(p) for p in (raw or "").split(os.pathsep) if p)
