"""Errors of the workspace pool (worktrees, ports, setup hook).

::

    OvermindError
    └── WorkspaceError        a workspace could not be prepared or released (HTTP 500)
        ├── WorkspaceDirty    release refused: uncommitted or untracked files (HTTP 409)
        └── PortsExhausted    no block of free ports left in the allocator's range (HTTP 503)
"""

from __future__ import annotations

from pathlib import Path

from ..errors import OvermindError


class WorkspaceError(OvermindError):
    """A workspace could not be prepared or released; the message says why and what to do."""

    reason = "workspace"
    http_status = 500


class WorkspaceDirty(WorkspaceError):
    """A worktree holds uncommitted or untracked files, so it was not deleted.

    Attributes:
        path: the worktree.
        files: the dirty paths, relative to the worktree (as ``git status`` names them).
    """

    reason = "workspace-dirty"
    http_status = 409

    def __init__(self, path: Path, files: list[str]) -> None:
        shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
        super().__init__(f"workspace {path} has uncommitted changes ({shown}); commit or "
                         f"discard them, or release with force=True to delete them")
        self.path, self.files = path, files


class PortsExhausted(WorkspaceError):
    """Every port of the allocator's range is allocated or in use by another process."""

    reason = "ports-exhausted"
    http_status = 503
