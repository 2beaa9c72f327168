"""The worktree pool: one git worktree and branch per task, ready in milliseconds.

Layout under the repository's top level (``.overmind/`` is excluded from the host's
``git status`` through ``.git/info/exclude``)::

    .overmind/worktrees/<name>     a task's worktree, on branch overmind/<name>
    .overmind/spares/<id>          prepared worktrees, detached at the host's HEAD
    .overmind/trash/<name>-<id>    released worktrees being deleted in the background

``git worktree add`` writes every file of the tree (seconds for ~7,000 files on a cold
disk), so a background task keeps ``pool_size`` spares checked out. ``acquire`` creates
the branch (``git branch``, which never moves an existing one, so concurrent acquires
and earlier runs cannot collide), renames a spare into place (``git worktree move``)
and points its HEAD at the branch: with ``symbolic-ref`` when the spare is already at
the base commit, else with ``git checkout``, which rewrites only the files that differ.
Without a spare it falls back to ``git worktree add``. ``release`` refuses a dirty
worktree, renames it into the trash and deletes it in the background.

Only refs and worktree metadata are changed from the host's worktree: its files, index,
uncommitted changes and other branches are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..config import BRANCH_ENV, WORKSPACE_ENV
from ..errors import NotFound
from ..store import exclude_from_git
from . import trees
from .config import WorkspaceConfig, load_workspace_config
from .errors import PortsExhausted, WorkspaceDirty, WorkspaceError
from .git import GitError, common_dir, current_branch, git, git_status, rev_parse
from .ports import PortAllocator
from .sandbox import Sandbox
from .setup_hook import copy_untracked, run_setup
from .trash import Trash

__all__ = ["PortAllocator", "PortsExhausted", "Workspace", "WorkspaceConfig", "WorkspaceDirty",
           "WorkspaceError", "WorktreePool", "load_workspace_config"]

log = logging.getLogger("overmind.workspace")
BRANCH_PREFIX = "overmind/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Workspace:
    """Where one mission works: ``path`` (a worktree, or the host's top level when
    ``shared``), its ``branch`` (None on a detached HEAD), the ``base_commit`` it started
    from (full id) and its allocated TCP ``ports``."""

    path: Path
    branch: str | None
    base_commit: str
    ports: tuple[int, ...]
    shared: bool = False

    def env(self) -> dict[str, str]:
        """The variables a mission in this workspace gets: ``PORT`` (the first port),
        ``OVERMIND_PORT_0`` … ``OVERMIND_PORT_<n-1>``, ``OVERMIND_WORKSPACE`` (the path)
        and ``OVERMIND_BRANCH`` (absent when there is no branch)."""
        env = {WORKSPACE_ENV: str(self.path)}
        if self.ports:
            env["PORT"] = str(self.ports[0])
        env.update({f"OVERMIND_PORT_{i}": str(port) for i, port in enumerate(self.ports)})
        if self.branch:
            env[BRANCH_ENV] = self.branch
        return env


@dataclass(frozen=True)
class _Spare:
    path: Path
    commit: str


def branch_slug(name: str) -> str:
    """A task name made safe for a branch and a directory name (``[A-Za-z0-9._-]``,
    at most 60 characters; ``task`` when nothing is left)."""
    slug = re.sub(r"\.{2,}", ".", _UNSAFE.sub("-", name))[:60].strip("-.")
    return slug.removesuffix(".lock") or "task"


class WorktreePool:
    """Workspaces of one repository (see the module docstring).

    Args:
        repo: the repository (its top level or any directory inside it).
        config: settings; default: ``[workspace]`` of ``<repo>/overmind.toml``.
        ports: the allocator to take ports from (default: a private one).
        sandbox: the OS sandbox the setup command runs in (None: unconfined).

    Raises:
        UsageError: (config None) a bad ``overmind.toml``.
    """

    def __init__(self, repo: Path, config: WorkspaceConfig | None = None,
                 ports: PortAllocator | None = None, sandbox: Sandbox | None = None) -> None:
        self.sandbox = sandbox
        self.repo = Path(repo).resolve()
        self.config = config if config is not None else load_workspace_config(self.repo)
        self.ports = ports if ports is not None else PortAllocator()
        self.top = self.repo
        self._common: Path | None = None
        self._spares: list[_Spare] = []
        self._need = asyncio.Event()
        self._filler: asyncio.Task | None = None
        self._trash = Trash(self.top)
        self._reserved: set[Path] = set()
        self._closed = False

    @property
    def worktrees_dir(self) -> Path:
        """``<top>/.overmind/worktrees``: where tasks' worktrees live."""
        return self.top / ".overmind" / "worktrees"

    @property
    def spare_count(self) -> int:
        """How many prepared spares are ready now."""
        return len(self._spares)

    async def start(self) -> None:
        """Find the repository and start preparing spares in the background.

        Raises:
            WorkspaceError: ``repo`` is not inside a git work tree, or the pool is closed.
        """
        await self._ready()
        if self._filler is None and self.config.pool_size > 0:
            self._filler = asyncio.create_task(self._fill(), name="overmind-worktree-pool")

    async def acquire(self, name: str, base: str | None = None, shared: bool = False
                      ) -> Workspace:
        """A new worktree on branch ``overmind/<name>`` (``-2``, ``-3`` … when taken) at
        ``base`` (branch or commit; default the host's HEAD), with ports allocated and the
        setup hook run. ``shared``: the host's own worktree instead (``base`` ignored, no
        setup hook, nothing created).

        Raises:
            NotFound: unknown ``base``.
            WorkspaceError: git failed, or the setup hook failed (its output tail is in
                the message; the worktree and branch are then removed again).
            PortsExhausted: no free ports.
        """
        await self._ready()
        if shared:
            return await self._shared()
        commit = await self._resolve(base or "HEAD")
        branch, path = await self._reserve(name, commit)
        ports: tuple[int, ...] = ()
        made = False
        try:
            await self._materialize(path, branch, commit)
            made = True
            ports = self.ports.allocate(self.config.ports)
            ws = Workspace(path, branch, commit, ports)
            await self._setup(ws)
            return ws
        except BaseException:
            self.ports.release(ports)
            await self._undo(path if made else None, branch)
            raise
        finally:
            self._reserved.discard(path)

    async def release(self, ws: Workspace, *, delete_branch: bool = False,
                      force: bool = False) -> None:
        """Give ``ws`` back: free its ports and delete its worktree in the background
        (its branch too with ``delete_branch``). A shared workspace only frees its ports;
        releasing twice is harmless.

        Raises:
            WorkspaceDirty: (unless ``force``) uncommitted or untracked files; nothing
                was changed and the ports stay allocated.
            WorkspaceError: ``ws.path`` is not a worktree of this pool, or the branch
                could not be deleted (the worktree is removed all the same).
        """
        await self._ready()
        path = self._owned(ws)
        if path is None or not os.path.lexists(path):
            self.ports.release(ws.ports)
            # the worktree went already (e.g. reconciled after a restart): the branch too
            problem = await self._delete_branch(None, ws.branch) if (
                path is not None and delete_branch) else None
            if problem:  # e.g. gone already: releasing twice is harmless
                log.info("%s", problem)
            return
        if not force:
            dirty = await trees.dirty_files(path, trees.read_copied(path, self._common_dir))
            if dirty:
                raise WorkspaceDirty(path, dirty)
        self.ports.release(ws.ports)
        problem = await self._delete_branch(path, ws.branch) if delete_branch else None
        await self._trash.put(path)
        if problem:
            raise WorkspaceError(problem)

    async def copied(self, ws: Workspace) -> frozenset[str]:
        """The paths the setup hook copied into ``ws`` from the host (relative, POSIX):
        not the agent's work, so never commit them."""
        await self._ready()
        return frozenset() if ws.shared else trees.read_copied(ws.path, self._common_dir)

    async def reconcile(self, known_paths: set[Path]) -> dict[str, list[str]]:
        """Match the worktrees on disk with the ones the caller knows (after a restart).

        Under ``.overmind/worktrees``, each directory not in ``known_paths`` is removed
        when clean and kept when dirty or not a worktree git knows; worktree metadata of
        vanished directories is pruned (``git worktree prune``); leftovers in the trash
        are deleted. Branches are never deleted here.

        Returns:
            ``{"removed": [path, …], "kept_dirty": [path, …]}``.
        """
        await self._ready()
        await git_status("worktree", "prune", cwd=self.top)
        known = {Path(p).resolve() for p in known_paths}
        registered = await trees.registered_worktrees(self.top)
        report: dict[str, list[str]] = {"removed": [], "kept_dirty": []}
        for path in sorted(self.worktrees_dir.iterdir()):
            if path.resolve() in known or path in self._reserved or not path.is_dir():
                continue
            removed = await self._reconcile_one(path, registered)
            report["removed" if removed else "kept_dirty"].append(str(path))
        self._trash.sweep(self._trash.dir.iterdir())
        return report

    async def close(self) -> None:
        """Stop preparing spares, delete the unused ones and wait for pending deletions."""
        self._closed = True
        if self._filler is not None:
            self._filler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._filler
            self._filler = None
        self._spares.clear()
        if self._common is not None:
            self._trash.sweep(self._spares_dir.iterdir())
        await self._trash.drain()

    # -- preparation -------------------------------------------------------------------

    @property
    def _spares_dir(self) -> Path:
        return self.top / ".overmind" / "spares"

    @property
    def _common_dir(self) -> Path:
        assert self._common is not None, "call _ready() first"
        return self._common

    async def _ready(self) -> None:
        if self._closed:
            raise WorkspaceError("the worktree pool is closed; create a new WorktreePool")
        if self._common is not None:
            return
        try:
            out = await git("rev-parse", "--show-toplevel", cwd=self.repo)
        except (GitError, OSError) as exc:
            raise WorkspaceError(f"{self.repo} is not inside a git work tree; run "
                                 f"`git init` there or point Overmind at a repository") from exc
        self.top = Path(out.strip()).resolve()
        exclude_from_git(self.top)
        self._trash = Trash(self.top)
        for directory in (self.worktrees_dir, self._spares_dir, self._trash.dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._common = await common_dir(self.top)

    async def _fill(self) -> None:
        self._trash.sweep(self._spares_dir.iterdir())  # an earlier run's spares: state unknown
        delay = 1.0
        while True:
            if len(self._spares) >= self.config.pool_size:
                self._need.clear()
                await self._need.wait()
                continue
            try:
                self._spares.append(await self._prepare_spare())
                delay = 1.0
            except (GitError, OSError) as exc:
                log.warning("cannot prepare a spare worktree (retry in %g s): %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _prepare_spare(self) -> _Spare:
        commit = await rev_parse("HEAD", self.top)
        path = self._spares_dir / secrets.token_hex(4)
        try:
            await trees.add_worktree(self.top, path, commit, detach=True)
        except GitError:
            self._trash.sweep([path])
            raise
        # Settle the index's stat data now so the first `git status` in it is cheap.
        await git_status("update-index", "-q", "--refresh", cwd=path)
        return _Spare(path, commit)

    async def _resolve(self, base: str) -> str:
        try:
            return await rev_parse(base, self.top)
        except GitError:
            raise NotFound(f"unknown base {base!r}: give a branch, tag or commit of "
                           f"{self.top}") from None

    async def _reserve(self, name: str, commit: str) -> tuple[str, Path]:
        slug = branch_slug(name)
        for n in range(1, 1000):
            leaf = slug if n == 1 else f"{slug}-{n}"
            path = self.worktrees_dir / leaf
            if path in self._reserved or os.path.lexists(path):
                continue
            self._reserved.add(path)
            try:
                if await trees.create_branch(self.top, BRANCH_PREFIX + leaf, commit):
                    return BRANCH_PREFIX + leaf, path
            except GitError as exc:
                self._reserved.discard(path)
                raise WorkspaceError(f"cannot create branch {BRANCH_PREFIX + leaf}: "
                                     f"{exc.stderr.strip()}") from exc
            self._reserved.discard(path)
        raise WorkspaceError(f"no free branch name for task {name!r}; delete old "
                             f"{BRANCH_PREFIX}{slug}-* branches")

    async def _materialize(self, path: Path, branch: str, commit: str) -> None:
        spare = self._spares.pop(0) if self._spares else None
        if spare is not None:
            try:
                await trees.move_worktree(self.top, spare.path, path)
                if spare.commit == commit:  # same tree: HEAD is all a checkout would change
                    await git("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=path)
                else:
                    await git("checkout", "--quiet", branch, cwd=path)
                return
            except GitError as exc:
                log.warning("spare worktree %s unusable, adding a new one: %s", spare.path, exc)
                with contextlib.suppress(GitError):
                    await self._trash.put(path if os.path.lexists(path) else spare.path)
            finally:
                self._need.set()
        try:
            await trees.add_worktree(self.top, path, branch)
        except GitError as exc:
            raise WorkspaceError(f"cannot create a worktree at {path}: {exc.stderr.strip()}"
                                 ) from exc

    async def _setup(self, ws: Workspace) -> None:
        if self.config.copy:
            copied = await asyncio.to_thread(copy_untracked, self.top, ws.path, self.config.copy)
            trees.write_copied(ws.path, self._common_dir, copied)
        if self.config.setup:
            await run_setup(self.config.setup, ws.path, ws.env(), self.config.setup_timeout_s,
                            sandbox=self.sandbox, root=self.top)

    async def _shared(self) -> Workspace:
        commit = await rev_parse("HEAD", self.top)
        branch = await current_branch(self.top)
        return Workspace(self.top, branch, commit, self.ports.allocate(self.config.ports),
                         shared=True)

    # -- removal -----------------------------------------------------------------------

    def _owned(self, ws: Workspace) -> Path | None:
        if ws.shared:
            return None
        path = Path(ws.path)
        if path.parent.resolve() != self.worktrees_dir.resolve() or path.name in ("", ".."):
            raise WorkspaceError(f"{path} is not a workspace of the pool of {self.top}")
        if os.path.lexists(path) and not (path / ".git").is_file():
            raise WorkspaceError(f"{path} is not a git worktree (no .git file): inspect it "
                                 f"and delete it by hand")
        return path

    async def _reconcile_one(self, path: Path, registered: set[Path]) -> bool:
        if path.resolve() not in registered or not (path / ".git").is_file():
            log.warning("%s is not a worktree git knows; keeping it", path)
            return False
        if await trees.dirty_files(path, trees.read_copied(path, self._common_dir)):
            return False
        # detached first: its branch must stay deletable while the trash still holds it
        await git("update-ref", "--no-deref", "HEAD", await rev_parse("HEAD", path), cwd=path)
        await self._trash.put(path)
        return True

    async def _undo(self, path: Path | None, branch: str) -> None:
        # A failed or cancelled acquire: nothing of it may stay behind.
        problem = await self._delete_branch(path, branch)
        if problem:
            log.warning("%s", problem)
        if path is not None:
            with contextlib.suppress(GitError):
                await self._trash.put(path)

    async def _delete_branch(self, path: Path | None, branch: str | None) -> str | None:
        if not branch:
            return None
        if path is not None:  # git never deletes a branch some worktree has checked out
            head = await rev_parse("HEAD", path)
            await git("update-ref", "--no-deref", "HEAD", head, cwd=path)
        code, _, err = await git_status("branch", "-D", branch, cwd=self.top)
        if code == 0:
            return None
        return f"could not delete branch {branch}: {err.strip()}"
