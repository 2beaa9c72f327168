"""The scheduler runs tasks in dependency order within its caps, and cancels dependents."""

from __future__ import annotations

import asyncio

import pytest
from engine_harness import until
from hypothesis import given, settings
from hypothesis import strategies as st

from overmind_jupyter.orchestrator.scheduler import Scheduler, TaskNode

pytestmark = pytest.mark.timeout(60)


class Recorder:
    """A runner that records concurrency and ends tasks as told (default done).

    ``delay``: how long each task's work lasts (s), long enough for tasks to overlap;
    ``hold``: the work never ends by itself, only a cancel ends it.
    """

    def __init__(self, outcome: dict[str, str] | None = None, delay: float = 0.01,
                 hold: bool = False) -> None:
        self.outcome, self.delay, self.hold = outcome or {}, delay, hold
        self.live: set[str] = set()
        self.peak = 0
        self.started: list[str] = []
        self.states: list[tuple[str, str, str]] = []

    async def run(self, node: TaskNode) -> str:
        self.started.append(node.name)
        self.live.add(node.name)
        self.peak = max(self.peak, len(self.live))
        try:
            if self.hold:
                await asyncio.Event().wait()  # nobody sets it: work only a cancel ends
            else:  # the work's duration, modelled: a stand-in for work, not a wait
                await asyncio.sleep(self.delay)
            result = self.outcome.get(node.name, "done")
            if result == "crash":
                raise RuntimeError("agent process vanished")
            return result
        finally:
            self.live.discard(node.name)

    def observe(self, node: TaskNode, state: str, reason: str) -> None:
        self.states.append((node.name, state, reason))


def nodes(objective: str, spec: dict[str, str], workspace: dict[str, str] | None = None
          ) -> list[TaskNode]:
    """``{"b": "a c"}``: task b depends on a and c (ids = names)."""
    return [TaskNode(name, name, objective, frozenset(deps.split()),
                     (workspace or {}).get(name)) for name, deps in spec.items()]


async def test_dependencies_run_first_and_independent_tasks_in_parallel() -> None:
    rec = Recorder()
    sched = Scheduler(rec.run, rec.observe, max_parallel=4)
    sched.add(nodes("o", {"a": "", "b": "", "c": "a b", "d": "c"}))
    assert await sched.wait("o") == {"a": "done", "b": "done", "c": "done", "d": "done"}
    assert set(rec.started[:2]) == {"a", "b"} and rec.started[2:] == ["c", "d"]
    assert rec.peak == 2


async def test_global_and_per_objective_caps_hold() -> None:
    rec = Recorder(delay=0.02)
    sched = Scheduler(rec.run, rec.observe, max_parallel=3, per_objective=2)
    sched.add(nodes("o1", {f"x{i}": "" for i in range(5)}))
    sched.add(nodes("o2", {f"y{i}": "" for i in range(5)}))
    await asyncio.gather(sched.wait("o1"), sched.wait("o2"))
    assert rec.peak == 3


async def test_one_writer_per_workspace() -> None:
    rec = Recorder()
    sched = Scheduler(rec.run, rec.observe)
    sched.add(nodes("o", {"a": "", "b": "", "c": ""}, workspace={"a": "shared", "b": "shared"}))
    await sched.wait("o")
    assert rec.peak == 2  # c beside a or b, never a beside b


async def test_failed_dependency_cancels_dependents_transitively() -> None:
    rec = Recorder({"a": "failed"})
    sched = Scheduler(rec.run, rec.observe)
    sched.add(nodes("o", {"a": "", "b": "a", "c": "b", "d": ""}))
    assert await sched.wait("o") == {"a": "failed", "b": "cancelled", "c": "cancelled",
                                     "d": "done"}
    assert ("b", "cancelled", "dependency a failed") in rec.states
    assert ("c", "cancelled", "dependency b cancelled") in rec.states
    assert "b" not in rec.started


async def test_a_crashing_runner_fails_only_its_task() -> None:
    rec = Recorder({"a": "crash"})
    sched = Scheduler(rec.run, rec.observe)
    sched.add(nodes("o", {"a": "", "b": ""}))
    assert await sched.wait("o") == {"a": "failed", "b": "done"}
    assert ("a", "failed", "RuntimeError: agent process vanished") in rec.states


async def test_cancel_objective_interrupts_running_and_pending_tasks() -> None:
    rec = Recorder(hold=True)
    sched = Scheduler(rec.run, rec.observe)
    sched.add(nodes("o", {"a": "", "b": "a"}))
    sched.add(nodes("p", {"z": ""}))
    await until(lambda: rec.live == {"a", "z"}, what="a and z running")
    sched.cancel("o", "host cancelled the objective")
    assert await asyncio.wait_for(sched.wait("o"), 5) == {"a": "cancelled", "b": "cancelled"}
    assert ("a", "cancelled", "host cancelled the objective") in rec.states
    assert sched.nodes["z"].state == "running"
    sched.cancel("p", "cleanup")
    await sched.wait("p")


def test_bad_graphs_are_refused() -> None:
    sched = Scheduler(Recorder().run, Recorder().observe)
    with pytest.raises(ValueError, match="unknown"):
        sched.add(nodes("o", {"a": "ghost"}))


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 8))
    deps = {f"t{i}": " ".join(f"t{j}" for j in range(i)
                              if draw(st.booleans()) and draw(st.booleans()))
            for i in range(n)}
    outcome = {name: draw(st.sampled_from(["done", "done", "failed", "crash"])) for name in deps}
    return deps, outcome, draw(st.integers(1, 4))


@settings(max_examples=40, deadline=None)
@given(graphs())
def test_property_order_caps_and_cancellation(case) -> None:
    deps, outcome, cap = case
    rec = Recorder(outcome, delay=0)
    sched = Scheduler(rec.run, rec.observe, max_parallel=cap)

    async def main() -> dict[str, str]:
        sched.add(nodes("o", deps))
        return await asyncio.wait_for(sched.wait("o"), 10)

    final = asyncio.run(main())
    assert rec.peak <= cap
    for name, wants in deps.items():
        required = wants.split()
        if name in rec.started:  # started only after every dependency was done
            assert all(final[d] == "done" for d in required)
            assert all(rec.started.index(d) < rec.started.index(name) for d in required)
        else:
            assert final[name] == "cancelled" and any(final[d] != "done" for d in required)
