"""Background deletion of worktrees, so removal is never on anyone's critical path.

``put`` renames a worktree into ``<top>/.overmind/trash/`` (one ``git worktree move``,
milliseconds) and deletes it from there in a background task; deletions run one at a
time so they do not compete with worktree creation for the disk. Whatever is in the
trash after a crash is deleted by the next ``sweep`` of it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable
from pathlib import Path

from .trees import move_worktree, remove_worktree

log = logging.getLogger("overmind.workspace")


class Trash:
    """The deleter of one repository's worktrees (``top``: the repository's top level)."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.dir = top / ".overmind" / "trash"
        self._pending: dict[Path, asyncio.Task] = {}
        self._lock = asyncio.Lock()

    async def put(self, path: Path) -> None:
        """Take worktree ``path`` out of the way now and delete it in the background.

        Raises:
            GitError: ``path`` is not a worktree of the repository.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        trash = self.dir / f"{path.name}-{secrets.token_hex(3)}"
        await move_worktree(self.top, path, trash)
        self.sweep([trash])

    def sweep(self, paths: Iterable[Path]) -> None:
        """Delete each of ``paths`` (worktrees or plain directories that are ours to
        delete) in the background; a path already being deleted is skipped."""
        for path in paths:
            if path not in self._pending:
                self._pending[path] = asyncio.create_task(self._remove(path))

    async def drain(self) -> None:
        """Wait until every deletion scheduled so far has finished."""
        while self._pending:
            await asyncio.gather(*self._pending.values(), return_exceptions=True)

    async def _remove(self, path: Path) -> None:
        try:
            async with self._lock:
                await remove_worktree(self.top, path)
        except Exception:
            log.exception("could not delete %s", path)
        finally:
            self._pending.pop(path, None)
