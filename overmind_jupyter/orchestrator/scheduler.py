"""The scheduler: runs ready tasks respecting dependencies, caps and workspace locks.

A task is ready when every task it depends on is ``done``. Ready tasks start in the
order they were added, while fewer than ``max_parallel`` tasks run in total, fewer than
``per_objective`` run for the task's objective, and no running task holds the same
workspace (one writer per workspace; a task with ``workspace=None`` has its own). A
dependency that ends ``failed`` or ``cancelled`` cancels its dependents, transitively.
(Dependency-driven dispatch as in orcha's scheduler and Overstory's task graph.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from ..errors import OvermindError

log = logging.getLogger("overmind.scheduler")
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
ENDED = frozenset({DONE, FAILED, CANCELLED})


@dataclasses.dataclass(eq=False)
class TaskNode:
    """One schedulable task. ``depends_on`` holds task ids of the same objective."""

    id: str
    name: str
    objective: str
    depends_on: frozenset[str] = frozenset()
    workspace: str | None = None
    state: str = "pending"  # pending | running | done | failed | cancelled


Runner = Callable[[TaskNode], Awaitable[str]]  # runs a task; returns done|failed|cancelled
Observer = Callable[[TaskNode, str, str], None]  # (task, new state, reason)


class Scheduler:
    """Dispatches ``TaskNode``s to ``run``.

    Args:
        run: coroutine that executes one task and returns its end state; an exception
            counts as ``failed``; cancellation of the objective cancels its coroutine.
        on_state: told of every state change (``running``, ``done``, ``failed``,
            ``cancelled``) with a human-readable reason; it persists them.
        max_parallel: global cap on running tasks.
        per_objective: cap on running tasks of one objective.
    """

    def __init__(self, run: Runner, on_state: Observer, *, max_parallel: int = 4,
                 per_objective: int = 4) -> None:
        if max_parallel < 1 or per_objective < 1:
            raise ValueError("caps must be ≥ 1")
        self.run, self.on_state = run, on_state
        self.max_parallel, self.per_objective = max_parallel, per_objective
        self.nodes: dict[str, TaskNode] = {}
        self.running: dict[str, asyncio.Task[None]] = {}
        self.closed = False  # once the engine stops: no new task, no recorded end
        self._changed = asyncio.Event()

    def add(self, nodes: list[TaskNode]) -> None:
        """Add tasks (ids unique across the scheduler) and start those that are ready.

        Raises:
            ValueError: a duplicate id, or a dependency on an unknown task.
        """
        for node in nodes:
            if node.id in self.nodes:
                raise ValueError(f"task {node.id} scheduled twice")
            self.nodes[node.id] = node
        for node in nodes:
            unknown = node.depends_on - self.nodes.keys()
            if unknown:
                raise ValueError(f"task {node.name} depends on unknown {sorted(unknown)}")
        self._pump()

    async def wait(self, objective: str) -> dict[str, str]:
        """Wait until every task of ``objective`` has ended; return ``{name: state}``."""
        while True:
            mine = [n for n in self.nodes.values() if n.objective == objective]
            if all(n.state in ENDED for n in mine):
                return {n.name: n.state for n in mine}
            self._changed.clear()
            await self._changed.wait()

    def cancel(self, objective: str, reason: str) -> None:
        """Cancel every unfinished task of ``objective`` (running ones are interrupted)."""
        for node in self.nodes.values():
            if node.objective != objective or node.state in ENDED:
                continue
            task = self.running.get(node.id)
            if task is not None:
                task.cancel(reason)
            else:
                self._end(node, CANCELLED, reason)

    def close(self) -> list[asyncio.Task[None]]:
        """Stop scheduling and cancel the running tasks without recording their end (the
        engine is stopping: the records keep ``running`` and a restart resumes them);
        returns the tasks to wait for."""
        self.closed = True
        running = list(self.running.values())
        for task in running:
            task.cancel("engine stopping")
        return running

    def counts(self) -> dict[str, int]:
        """``{state: number of tasks}`` over every task ever added."""
        found: dict[str, int] = {}
        for node in self.nodes.values():
            found[node.state] = found.get(node.state, 0) + 1
        return found

    # -- dispatch -------------------------------------------------------------------
    def _pump(self) -> None:
        if self.closed:
            return
        self._cancel_orphans()
        for node in list(self.nodes.values()):
            if node.state == "pending" and self._ready(node) and self._fits(node):
                self._start(node)

    def _ready(self, node: TaskNode) -> bool:
        return all(self.nodes[d].state == DONE for d in node.depends_on)

    def _fits(self, node: TaskNode) -> bool:
        live = [self.nodes[i] for i in self.running]
        if len(live) >= self.max_parallel:
            return False
        if sum(n.objective == node.objective for n in live) >= self.per_objective:
            return False
        return node.workspace is None or all(n.workspace != node.workspace for n in live)

    def _cancel_orphans(self) -> None:
        """Cancel pending tasks whose dependency failed or was cancelled (transitively)."""
        changed = True
        while changed:
            changed = False
            for node in self.nodes.values():
                bad = [self.nodes[d] for d in node.depends_on
                       if self.nodes[d].state in (FAILED, CANCELLED)]
                if node.state == "pending" and bad:
                    self._end(node, CANCELLED, f"dependency {bad[0].name} {bad[0].state}")
                    changed = True

    def _start(self, node: TaskNode) -> None:
        node.state = "running"
        self.on_state(node, "running", "dependencies done" if node.depends_on else "ready")
        self.running[node.id] = asyncio.get_running_loop().create_task(
            self._execute(node), name=f"task-{node.name}")

    async def _execute(self, node: TaskNode) -> None:
        try:
            state, reason = await self.run(node), ""
            if state not in ENDED:
                state, reason = FAILED, f"runner returned {state!r}"
        except asyncio.CancelledError as exc:
            state, reason = CANCELLED, (str(exc.args[0]) if exc.args else "cancelled")
        except OvermindError as exc:  # a failure the runner explains (e.g. no target)
            state, reason = FAILED, exc.message
        except Exception as exc:  # a crashing runner fails its task, never the scheduler
            log.exception("task %s crashed", node.name)
            state, reason = FAILED, f"{type(exc).__name__}: {exc}"
        self.running.pop(node.id, None)
        self._end(node, state, reason)
        self._pump()

    def _end(self, node: TaskNode, state: str, reason: str) -> None:
        if self.closed:
            return
        node.state = state
        self.on_state(node, state, reason)
        self._changed.set()
