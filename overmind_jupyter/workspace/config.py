"""Per-repository workspace settings: the ``[workspace]`` table of ``<repo>/overmind.toml``.

::

    [workspace]
    copy = [".env", "config/*.local"]   # untracked files copied from the main worktree
    setup = "npm ci"                    # run in each new worktree (sh -c), sees $PORT
    ports = 3                           # ports allocated per workspace
    pool_size = 2                       # prepared spare worktrees
    setup_timeout_s = 600               # seconds before the setup command is killed
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from pydantic import ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from ..errors import UsageError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

CONFIG_FILE = "overmind.toml"


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class WorkspaceConfig:
    """How workspaces of one repository are prepared.

    ``copy``: paths or glob patterns relative to the repository (no ``..``, not absolute,
    not inside ``.git``/``.overmind``); ``setup``: a shell command; ``ports``: how many
    ports each workspace gets (0–64); ``pool_size``: spare worktrees kept ready (0–16);
    ``setup_timeout_s``: seconds. Invalid values raise ``pydantic.ValidationError``.
    """

    copy: tuple[StrictStr, ...] = ()
    setup: StrictStr | None = None
    ports: StrictInt = Field(default=3, ge=0, le=64)
    pool_size: StrictInt = Field(default=2, ge=0, le=16)
    setup_timeout_s: float = Field(default=600, gt=0)

    @field_validator("copy")
    @classmethod
    def _inside_repo(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            parts = PurePosixPath(pattern).parts
            if (not parts or pattern.startswith(("/", "~")) or ".." in parts
                    or parts[0] in (".git", ".overmind")):
                raise ValueError(f"{pattern!r} must be a path inside the repository")
        return patterns


def load_workspace_config(repo: Path) -> WorkspaceConfig:
    """The ``[workspace]`` table of ``<repo>/overmind.toml``; defaults when either is absent.

    Raises:
        UsageError: the file is not valid TOML, or a key is unknown or has a bad value
            (the message names the key).
    """
    path = Path(repo) / CONFIG_FILE
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return WorkspaceConfig()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}; fix the file") from exc
    section = doc.get("workspace", {})
    if not isinstance(section, dict):
        raise UsageError(f"{path}: 'workspace' must be a table ([workspace])")
    try:
        return WorkspaceConfig(**section)
    except ValidationError as exc:
        raise UsageError(f"{path}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "workspace"
        hint = "unknown key" if err["type"] == "unexpected_keyword_argument" else err["msg"]
        problems.append(f"[workspace] {key}: {hint}")
    return "; ".join(problems)
