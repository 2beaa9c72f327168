"""Command missions in their own worktree, whose clean exit becomes a change.

A mission spec with ``worktree`` set (``run --worktree``, ``worktree = true`` on a blueprint
mission) gets a worktree from the pool before it is recorded: branch ``overmind/<name>``
at the host's HEAD; the spec's ``cwd`` moves to the same place inside the worktree and its
environment names the workspace (``Workspace.env``), the base commit (``BASE_ENV``) and
the branch the change will target (``TARGET_ENV``, the host's current branch).

When the mission's end is final (the supervisor tells its listeners ``ending``, awaited before the
terminal state is recorded, so whoever waits for the mission — ``wait``, a blueprint, a
``completed`` dependency — already sees the change), a clean exit (status 0) that edited
files commits them as Overmind and opens a change through ``Changes``, exactly like an
agent task's result: ``changes``, ``diff``, ``merge`` and the verification gate work
unchanged. Any other end releases the worktree and deletes its branch; so does a mission
that ends without ever running (a failed blueprint dependency, stopped while pending),
noticed on the event stream. A change's worktree goes once it is merged or closed.

Everything ``ending`` needs is in the mission's environment, so a mission re-adopted
after an engine restart finishes the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import shlex
from pathlib import Path
from typing import Any

from ..config import BASE_COMMIT_ENV, BRANCH_ENV, CHANGE_TARGET_ENV, PORT_ENV_PREFIX, WORKSPACE_ENV
from ..errors import UsageError
from ..events import Event
from ..model import ExitInfo, Mission, MissionSpec, MissionStatus
from ..store import Store
from ..store.records import Records
from ..supervisor import logs
from ..supervisor.listener import MissionListener
from ..workspace.commit import commit_all
from ..workspace.errors import WorkspaceError
from ..workspace.git import current_branch, git
from ..workspace.worktrees import Workspace
from .changes import Changes

log = logging.getLogger("overmind.command_tasks")
TARGET_ENV = CHANGE_TARGET_ENV  # branch a clean exit's change targets (marks these)
BASE_ENV = BASE_COMMIT_ENV  # the commit the worktree started from
AUTHOR = ("Overmind", "overmind@overmind.invalid")


class CommandChanges(MissionListener):
    """Worktrees and changes of ``worktree`` command missions (see the module docstring).

    Args:
        root: the engine's root (inside the host's git work tree).
        pool: the worktree pool (``start``, ``acquire``, ``release``, ``copied``).
        changes: where a clean exit's commit becomes a change.
        records: durable records (the change notes its mission).
        store: missions are read from it when the event stream reports an end.
    """

    def __init__(self, root: Path, pool: Any, changes: Changes, records: Records,
                 store: Store) -> None:
        self.root, self.pool, self.changes = Path(root), pool, changes
        self.records, self.store = records, store
        self._held: dict[str, Workspace] = {}  # worktree path → workspace not yet settled
        self._pending: set[asyncio.Task[None]] = set()

    async def prepare(self, specs: list[MissionSpec]) -> list[MissionSpec]:
        """``specs`` with every ``worktree`` one moved into a new worktree of its own.

        Raises:
            UsageError: the engine's root is not in a git repository, a ``cwd`` outside
                the repository, or the host's checkout is on a detached HEAD (no branch
                for the changes to land on).
            WorkspaceError: git failed (nothing stays acquired).
        """
        if not any(spec.worktree for spec in specs):
            return list(specs)
        top, target = await self._repository()
        done: list[MissionSpec] = []
        try:
            for spec in specs:
                done.append(await self._prepare_one(spec, top, target) if spec.worktree
                            else spec)
        except BaseException:
            await self.discard(done)
            raise
        return done

    async def _repository(self) -> tuple[Path, str]:
        """The host's work tree and its current branch (once per ``prepare``)."""
        try:
            await self.pool.start()
        except WorkspaceError as exc:  # the user's mistake (400), not the server's
            raise UsageError(f"a worktree mission needs a git repository: {exc}") from None
        top = Path((await git("rev-parse", "--show-toplevel", cwd=self.root)).strip()).resolve()
        target = await current_branch(top)
        if target is None:
            raise UsageError(f"{top} is on a detached HEAD: check out the branch the "
                             "mission's change should land on, then run it again")
        return top, target

    async def _prepare_one(self, spec: MissionSpec, top: Path, target: str) -> MissionSpec:
        where = Path(spec.cwd or self.root).resolve()
        if not where.is_relative_to(top):
            raise UsageError(f"a worktree mission runs inside the repository {top}; its "
                             f"cwd {where} is outside it")
        ws = await self.pool.acquire(spec.name or "command")
        self._held[str(ws.path)] = ws
        env = {**spec.env, **ws.env(), TARGET_ENV: target, BASE_ENV: ws.base_commit}
        return dataclasses.replace(spec, cwd=str(ws.path / where.relative_to(top)), env=env,
                                   worktree=False)

    async def discard(self, specs: list[MissionSpec]) -> None:
        """Release the worktrees ``prepare`` acquired for ``specs`` (their missions could
        not be recorded)."""
        for spec in specs:
            ws = self._held.pop(spec.env.get(WORKSPACE_ENV, ""), None)
            if ws is not None:
                await self.pool.release(ws, delete_branch=True, force=True)

    async def ending(self, m: Mission, status: MissionStatus, info: ExitInfo) -> None:
        """``MissionListener``: a clean exit's edits become a change; otherwise
        the worktree and its branch go; a re-adopted mission's unknown exit keeps them. Never
        raises (a failure is logged and written to the mission's log; the worktree is then
        kept for inspection)."""
        ws = self._claim(m)
        if ws is None:
            return
        try:
            await self.pool.start()  # after an engine restart it may not be yet
            if status is MissionStatus.EXITED and info.returncode is None and \
                    info.signal is None:  # re-adopted: whether it finished is unknown
                logs.write_marker(m.log_path, f"exit status unknown: its worktree {ws.path} "
                                  f"and branch {ws.branch} are kept as they are")
            elif not (status is MissionStatus.EXITED and info.returncode == 0
                      and await self._open_change(m, ws)):
                await self.pool.release(ws, delete_branch=True, force=True)
        except Exception as exc:  # raising here would leave the mission live forever
            log.exception("worktree mission %s", m.name)
            logs.write_marker(m.log_path, f"its worktree {ws.path} is kept: {exc}")

    def _claim(self, m: Mission) -> Workspace | None:
        """The unsettled workspace of a worktree mission (None for other missions)."""
        path = m.env.get(WORKSPACE_ENV)
        if TARGET_ENV not in m.env or not path:
            return None
        return self._held.pop(path, None) or _from_env(m.env)

    async def _open_change(self, m: Mission, ws: Workspace) -> bool:
        """Commit the mission's edits and open a change; False when it edited nothing."""
        # the program's name, not its path: titles and subjects stay readable
        command = shlex.join([Path(m.command[0]).name, *m.command[1:]])
        message = f"{m.name}: {command[:200]}\n\nOvermind-Mission: {m.id}\n"
        files = await commit_all(ws.path, message, author=AUTHOR,
                                 copied=await self.pool.copied(ws))
        if not files:
            logs.write_marker(m.log_path, "no file changed: no change opened")
            return False
        cid = secrets.token_hex(4)
        await self.changes.create(
            cid, objective=None, task=m.name, title=f"{m.name}: {command}"[:100],
            branch=ws.branch, base_commit=ws.base_commit, target=m.env[TARGET_ENV],
            author=f"command mission {m.name}", requested_by="host", workspace=ws)
        self.records.update("change", cid, mission=m.id)
        logs.write_marker(m.log_path, f"{len(files)} files changed: change {cid} opened "
                          f"(`overmind merge {cid}`)")
        return True

    def on_events(self, batch: list[Event]) -> None:
        """Engine event listener: a worktree mission ended without running (no
        ``ending``): release its worktree in the background."""
        if not self._held:
            return
        for event in batch:
            if event["type"] != "mission-status" or not event["mission"] or \
                    not MissionStatus(event["data"]["status"]).terminal:
                continue
            m = self.store.get_mission(event["mission"])
            ws = self._claim(m) if m.env.get(WORKSPACE_ENV) in self._held else None
            if ws is not None:
                task = asyncio.get_running_loop().create_task(
                    self.pool.release(ws, delete_branch=True, force=True))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    def live_missions(self) -> list[str]:
        """Ids of the live worktree missions (to stop before the pool closes)."""
        return [m.id for m in self._live()]

    def live_worktrees(self) -> set[Path]:
        """Worktrees of live worktree missions (a reconcile must keep them)."""
        return {Path(m.env[WORKSPACE_ENV]) for m in self._live()}

    def _live(self) -> list[Mission]:
        return [m for m in self.store.missions(live_only=True)
                if TARGET_ENV in m.env and WORKSPACE_ENV in m.env]

    async def close(self, missions_stopped: bool) -> None:
        """Engine shutdown: wait for background releases; once every mission is stopped
        (``missions_stopped``), release the worktrees still held (missions that never ran)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        while missions_stopped and self._held:
            _, ws = self._held.popitem()
            await self.pool.release(ws, delete_branch=True, force=True)


def _from_env(env: dict[str, str]) -> Workspace:
    """The workspace a mission's environment names (after an engine restart)."""
    ports = tuple(int(v) for k, v in sorted(env.items()) if k.startswith(PORT_ENV_PREFIX))
    return Workspace(Path(env[WORKSPACE_ENV]), env.get(BRANCH_ENV),
                     env.get(BASE_ENV, ""), ports)
