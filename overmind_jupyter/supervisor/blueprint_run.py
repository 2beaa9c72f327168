"""Running applied blueprints: one coordinator task per blueprint mission.

The coordinator starts each declared mission once its dependencies hold, fails the ones
whose dependencies can no longer hold, and ends the blueprint mission when every child
has ended: ``exited`` if all exited with status 0, else ``failed``. The blueprint text
and the child ids are kept in ``.overmind/blueprints/<id>.{toml,json}`` so a restarted
engine can resume coordinating.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..errors import BlueprintError, InvalidTransition
from ..model import ExitInfo, Mission, MissionSpec, MissionStatus
from ..store import Store
from . import logs
from .blueprint import Blueprint, parse
from .listener import MissionListener
from .supervisor import Supervisor

S = MissionStatus
CreateMission = Callable[..., Mission]


class Worktrees(Protocol):
    """Moves ``worktree`` mission specs into worktrees of their own (and back out when
    their missions cannot be recorded); see ``orchestrator.command_tasks``."""

    async def prepare(self, specs: list[MissionSpec]) -> list[MissionSpec]: ...

    async def discard(self, specs: list[MissionSpec]) -> None: ...


class Coordinators(MissionListener):
    """All blueprint coordinators of one engine.

    Args:
        store: the store (children's status is read from it).
        supervisor: launches the children.
        create: ``create(spec, status=…, command=…) -> Mission`` records a mission.
        worktrees: moves ``worktree = true`` missions into worktrees of their own (None:
            such blueprints are refused).
    """

    def __init__(self, store: Store, supervisor: Supervisor, create: CreateMission,
                 worktrees: Worktrees | None = None) -> None:
        self.store, self.supervisor, self.create = store, supervisor, create
        self.dir = store.path.parent / "blueprints"
        self.tasks: dict[str, asyncio.Task] = {}
        self.done: dict[str, asyncio.Event] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self.ids = {p.stem for p in self.dir.glob("*.json")} if self.dir.exists() else set()
        self.worktrees = worktrees
        supervisor.listen(self)

    def owns(self, m: Mission) -> bool:
        """Whether ``m`` is a blueprint mission."""
        return m.id in self.ids

    def owned_child(self, m: Mission) -> bool:
        """Whether ``m`` is a not-yet-started child that a coordinator will start."""
        return m.parent_id in self.ids and m.status is S.PENDING

    async def apply(self, text: str, source: str, base_dir: Path, name: str | None) -> Mission:
        """Record the blueprint mission and its children, then start coordinating.

        A blueprint refused at any step leaves no mission behind that could run or
        linger ``pending``: what was recorded before the refusal is ended (``killed``).

        Raises:
            BlueprintError: see ``blueprint.parse``; also a mission name a live mission
                has already.
        """
        bp = parse(text, source, base_dir)
        self._check_names_free(bp, source)
        specs = await self._prepare(list(bp.specs.values()))
        created: list[Mission] = []
        try:
            root = self.create(MissionSpec(command=["overmind", "apply", source],
                                           name=name or bp.name, cwd=str(base_dir)))
            created.append(root)
            children = {}
            for n, spec in zip(bp.specs, specs, strict=True):
                created.append(self.create(_child(spec, root.id)))
                children[n] = created[-1].id
        except BaseException:
            self._abandon(created)
            if self.worktrees is not None:
                await self.worktrees.discard(specs)
            raise
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / f"{root.id}.toml").write_text(text)
        (self.dir / f"{root.id}.json").write_text(json.dumps(
            {"source": source, "base_dir": str(base_dir), "children": children}))
        self.ids.add(root.id)
        self.store.transition(root.id, S.SPAWNING)
        self.store.transition(root.id, S.RUNNING, reason=f"applied {source}")
        self._start(root, bp, children)
        return self.store.get_mission(root.id)

    def _check_names_free(self, bp: Blueprint, source: str) -> None:
        taken = [n for n in bp.specs if self.store.live_name_taken(n)]
        if taken:
            raise BlueprintError(f"{source}: a live mission is already named "
                                 f"{', '.join(taken)}; stop it or rename the blueprint's "
                                 "mission")

    def _abandon(self, created: list[Mission]) -> None:
        """End what a refused apply had recorded (children first), so nothing stays
        ``pending`` and no restart resumes it."""
        for m in reversed(created):
            with contextlib.suppress(InvalidTransition):
                self.store.transition(m.id, S.KILLED, reason="blueprint refused")

    async def _prepare(self, specs: list[MissionSpec]) -> list[MissionSpec]:
        if not any(s.worktree for s in specs):
            return specs
        if self.worktrees is None:
            raise BlueprintError("worktree missions need the engine's worktree pool")
        return await self.worktrees.prepare(specs)

    def resume(self, root: Mission) -> None:
        """Continue coordinating a blueprint mission after an engine restart."""
        meta = json.loads((self.dir / f"{root.id}.json").read_text())
        bp = parse((self.dir / f"{root.id}.toml").read_text(), meta["source"],
                   Path(meta["base_dir"]))
        if root.status is S.PENDING:
            self.store.transition(root.id, S.SPAWNING)
            self.store.transition(root.id, S.RUNNING)
        self._start(root, bp, meta["children"])

    def _start(self, root: Mission, bp: Blueprint, children: dict[str, str]) -> None:
        self.done[root.id] = asyncio.Event()
        self._wake[root.id] = asyncio.Event()
        self.tasks[root.id] = asyncio.get_running_loop().create_task(
            self._coordinate(root, bp, children), name=f"blueprint-{root.name}")

    def running(self, m: Mission) -> None:
        """``MissionListener``: a child runs."""
        self._child_changed(m)

    def ended(self, m: Mission) -> None:
        """``MissionListener``: a child ended."""
        self._child_changed(m)

    def _child_changed(self, m: Mission) -> None:
        if m.parent_id in self._wake:
            self._wake[m.parent_id].set()

    async def _coordinate(self, root: Mission, bp: Blueprint, children: dict[str, str]) -> None:
        try:
            while not self._step(root, bp, children):
                self._wake[root.id].clear()
                await self._wake[root.id].wait()
        finally:
            self.done[root.id].set()
            self._wake.pop(root.id, None)

    def _step(self, root: Mission, bp: Blueprint, children: dict[str, str]) -> bool:
        """Start/fail what became decidable; True once every child has ended."""
        state = {n: self.store.get_mission(i) for n, i in children.items()}
        changed = True
        while changed:  # failing one mission can decide its dependents in the same step
            changed = False
            for name, m in state.items():
                if m.status is S.PENDING and m.id not in self.supervisor.runtimes:
                    failed = self._decide(root, name, m, bp.depends[name], state)
                    if failed is not None:
                        state[name], changed = failed, True
        state = {n: self.store.get_mission(i) for n, i in children.items()}
        if not all(m.status.terminal for m in state.values()):
            return False
        ok = all(m.status is S.EXITED and (m.exit is None or not m.exit.returncode)
                 for m in state.values())
        failed = [n for n, m in state.items() if m.status is not S.EXITED]
        with contextlib.suppress(InvalidTransition):
            self.store.transition(root.id, S.EXITED if ok else S.FAILED, exit=ExitInfo(
                returncode=0 if ok else 1, reason="all missions exited" if ok
                else f"missions that did not exit cleanly: {', '.join(failed)}"))
        return True

    def _decide(self, root: Mission, name: str, m: Mission, deps: dict[str, str],
                state: dict[str, Mission]) -> Mission | None:
        """Launch ``m`` once its dependencies hold; fail it (and return it) when they can't."""
        verdicts = [_holds(state[d], cond) for d, cond in deps.items()]
        if all(v is True for v in verdicts):
            logs.write_marker(root.log_path, f"starting {name}")
            self.supervisor.launch(m)
        elif any(v is False for v in verdicts):
            broken = [d for d, v in zip(deps, verdicts, strict=True) if v is False]
            failed = self.store.transition(m.id, S.FAILED, reason=f"dependency "
                                           f"{', '.join(broken)} ended without meeting its "
                                           "condition")
            logs.write_marker(root.log_path, f"not starting {name}: {', '.join(broken)} failed")
            return failed
        return None

    def halt(self, root_id: str) -> None:
        """Stop coordinating (no more starts or verdicts); pending children become killed.

        Call before stopping the children so their ends are not read as a failure.
        """
        task = self.tasks.pop(root_id, None)
        if task:
            task.cancel()
        for child in self.store.children(root_id):
            if child.status is S.PENDING:
                self.store.transition(child.id, S.KILLED, reason="blueprint stopped")

    def finish_killed(self, root_id: str) -> None:
        """End a halted blueprint mission as killed, once its children are stopped."""
        with contextlib.suppress(InvalidTransition):
            self.store.transition(root_id, S.KILLED, reason="stopped by user")
        if root_id in self.done:
            self.done[root_id].set()

    async def wait(self, root_id: str, timeout_s: float | None) -> None:
        """Wait until the blueprint mission ended (or ``timeout_s`` s passed)."""
        done = self.done.get(root_id)
        if done is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), timeout_s)


def _child(spec: MissionSpec, parent_id: str) -> MissionSpec:
    spec.parent = parent_id
    return spec


def _holds(dep: Mission, condition: str) -> bool | None:
    """True: condition met; False: can never be met; None: not decided yet."""
    if condition == "started":
        if dep.started_at is not None:
            return True
        return False if dep.status.terminal else None
    if dep.status.terminal:
        return dep.status is S.EXITED and not (dep.exit and dep.exit.returncode)
    return None
