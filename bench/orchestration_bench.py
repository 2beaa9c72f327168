#!/usr/bin/env python
"""Orchestration benchmark: what the orchestrator adds around its agents, and how well
independent tasks overlap.

    .venv/bin/python bench/orchestration_bench.py [--quick] [--turns N]

Every run is a real objective: a fresh git repository (tmp), an in-process ``Engine``
with a scripted model per role (``scripted:DIR``, ``testing.scripts``), a prompt whose
planner makes N independent tasks — task ``tK`` writes ``out/tK.txt`` only (non-overlapping
scopes) — and real built-in agent (ACP) processes in their own worktrees. Auto-merge is
off (``Settings(auto_merge=False)``) so merges never count. Figures come from the events'
timestamps (``ts``, taken when an event is appended).

1. Orchestration overhead per task, zero model latency (issue target ≤ 200 ms): a task's
   ``task-status running`` → ``done`` minus its agent's own work (``mission-status
   running`` → ``agent-finished``), i.e. budget gate + worktree acquire + spawn before the
   agent runs, and commit + diff stat + change record after it finished (its process
   exits meanwhile, off the task's path). Mean over 8 tasks run 1 at a time (1a) and 4 at
   a time (1b); baseline column: the agents' own work.
   *Details* break it into stages.
2. Overlap: 8 independent tasks vs 1, every agent turn with ``delay_s`` = 2 s of
   simulated model latency (``--turns`` turns per task, default 3: write, read back,
   summary); ``max_parallel`` = ``per_objective`` = 8. Wall time ``plan-ready`` → last
   ``task-status done``, median of 2 interleaved rounds; target ≤ 1.25× the single
   task's.

An untimed one-task objective warms the disk cache and the interpreter first. Prints one
table (PASS/MISS) and exits 0 whatever the result; only a broken harness exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from _report import Row, Run, print_head  # noqa: E402

from overmind_jupyter.config import Settings  # noqa: E402
from overmind_jupyter.engine import Engine  # noqa: E402
from overmind_jupyter.testing.repos import make_repo  # noqa: E402
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts  # noqa: E402

OVERHEAD_TARGET_MS, OVERLAP_TARGET = 200.0, 1.25
LATENCY_S = 2.0  # s of simulated model latency per agent turn (row 2)
TIMEOUT_S = 120.0  # s one objective may take before the harness gives up
MS = 1000.0
PROMPT = "Write one output file per task"
# (label, start mark, end mark) of the stages in Details; marks are TaskTimes fields
STAGES = [
    ("task running → mission created (budget gate, worktree acquire)", "running", "created"),
    ("mission created → process running (spawn)", "created", "started"),
    ("process running → ACP session (agent start; mission's own life)", "started", "session"),
    ("agent finished → change open (commit, diff stat, record)", "finished", "change"),
    ("change open → task done", "change", "done"),
    ("agent finished → process exited (off the task's path since 2026-11-21)", "finished",
     "exited"),
]
MISSION_MARKS = {"mission-created": "created", "agent-session": "session",
                 "agent-finished": "finished"}


def scripts(directory: Path, n: int, delay_s: float = 0.0, turns: int = 2) -> Path:
    """Role scripts: ``n`` independent tasks ``t0`` … whose agents take ``turns`` turns
    (write their file, read it back ``turns - 2`` times, summarise), each after
    ``delay_s`` s."""
    files = [f"out/t{k}.txt" for k in range(n)]
    work = {f"t{k}": [tool("write_file", path=path, content=f"task {k}\n"),
                      *[tool("read_file", path=path) for _ in range(turns - 2)],
                      say(f"Wrote {path}.")] for k, path in enumerate(files)}
    return write_role_scripts(
        directory,
        story=respond({"groups": [{"title": "Outputs", "prompt_ids": ["p1"],
                                   "summary": PROMPT}], "story": "A benchmark project."}),
        scope=respond({"files": [{"path": p, "new": True} for p in files],
                       "complexity": "low", "rationale": "one new file per task"}),
        planner=respond({"tasks": [{"name": f"t{k}", "description": f"Write {path}",
                                    "scope": [path]} for k, path in enumerate(files)]}),
        evaluator=respond({"done": True, "feedback": "every file is there"}),
        tasks={name: [{**turn, "delay_s": delay_s} for turn in turns_]
               for name, turns_ in work.items()})


async def objective(root: Path, n: int, parallel: int, delay_s: float = 0.0,
                    turns: int = 2) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one objective of ``n`` tasks, ``parallel`` at a time, in a fresh repository
    under ``root``; return it (``Engine.objective`` shape) and every event.

    Raises:
        RuntimeError: the objective did not end with every task done and one change each.
    """
    repo = make_repo(root / "repo", {"README.md": "# orchestration benchmark\n"})
    model = f"scripted:{scripts(root / 'scripts', n, delay_s, turns)}"
    engine = Engine(repo, Settings(auto_merge=False, max_parallel=parallel,
                                   per_objective=parallel),
                    provider_env={"OVERMIND_MODEL": model})
    await engine.start()
    try:
        result = await asyncio.wait_for(engine.prompt(PROMPT, wait=True), TIMEOUT_S)
        for task in result["tasks"]:  # their exits (off the task's path) show in Details
            await engine.wait(task["mission"], TIMEOUT_S)
        engine.store.flush()
        events = _all_events(engine)
    finally:
        await engine.close()
    states = [t["state"] for t in result["tasks"]]
    if result["state"] != "done" or states != ["done"] * n or len(result["changes"]) != n:
        raise RuntimeError(f"objective ended {result['state']} ({result.get('error')}), "
                           f"tasks {states}, {len(result['changes'])} changes")
    return result, events


def _all_events(engine: Engine) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while batch := engine.store.read_events(after=found[-1]["seq"] if found else 0,
                                            limit=1000):
        found.extend(batch)
    return found


class TaskTimes:
    """Event timestamps (s, epoch) of one task's stages, found by task, mission and
    change id: ``running``, ``created``, ``started``, ``session``, ``finished``,
    ``exited``, ``change``, ``done``."""

    def __init__(self, task: dict[str, Any], events: list[dict[str, Any]]) -> None:
        marks: dict[str, float] = {}
        for ev in events:
            for mark in _marks(ev, task):
                marks.setdefault(mark, ev["ts"])  # the first of each (one session, …)
        missing = {s for _, a, b in STAGES for s in (a, b)} - marks.keys()
        if missing:
            raise RuntimeError(f"task {task['name']}: no event for {sorted(missing)}")
        self.marks = marks

    def span(self, start: str, end: str) -> float:
        """``end`` − ``start`` in ms."""
        return (self.marks[end] - self.marks[start]) * MS

    @property
    def overhead_ms(self) -> float:
        """Task running → done minus the agent's own work, process running → agent
        finished (ms). The process's exit is not on the task's path."""
        return self.span("running", "done") - self.span("started", "finished")


def _marks(ev: dict[str, Any], task: dict[str, Any]) -> list[str]:
    data, kind = ev["data"], ev["type"]
    if kind == "task-status" and data.get("task") == task["id"]:
        return [data["state"]]
    if kind == "change-status" and data.get("change") == task["change"]:
        return ["change"] if data["state"] == "open" else []
    if ev["mission"] != task["mission"]:
        return []
    if kind == "mission-status" and data["status"] in ("running", "exited"):
        return ["started" if data["status"] == "running" else "exited"]
    return [MISSION_MARKS[kind]] if kind in MISSION_MARKS else []


def task_times(result: dict[str, Any], events: list[dict[str, Any]]) -> list[TaskTimes]:
    """``TaskTimes`` of every task of ``result``."""
    return [TaskTimes(t, events) for t in result["tasks"]]


def wall_s(result: dict[str, Any], events: list[dict[str, Any]]) -> float:
    """``plan-ready`` → the last ``task-status done`` of the objective (s)."""
    mine = [e for e in events if e["objective"] == result["id"]]
    plan = next(e["ts"] for e in mine if e["type"] == "plan-ready")
    return max(e["ts"] for e in mine if e["type"] == "task-status"
               and e["data"]["state"] == "done") - plan


async def overheads(root: Path, n: int) -> dict[int, list[TaskTimes]]:
    """Zero latency: ``n`` tasks 1 at a time and 4 at a time → their ``TaskTimes``."""
    await objective(root / "warm-up", 1, 1)
    found = {}
    for parallel in (1, 4):
        found[parallel] = task_times(*await objective(root / f"zero-{parallel}", n, parallel))
    return found


async def overlap(root: Path, n: int, turns: int, rounds: int
                  ) -> dict[int, list[tuple[float, float]]]:
    """``LATENCY_S`` per turn, ``rounds`` times: 1 task, then ``n`` at once → per count,
    [(wall s, slowest agent start ms)] per round."""
    found: dict[int, list[tuple[float, float]]] = {1: [], n: []}
    for r in range(rounds):
        for count in (1, n):
            result, events = await objective(root / f"latency-{count}-{r}", count, count,
                                             LATENCY_S, turns)
            starts = [t.span("started", "session") for t in task_times(result, events)]
            found[count].append((wall_s(result, events), max(starts)))
    return found


def table(o: dict[int, list[TaskTimes]] | None,
          w: dict[int, list[tuple[float, float]]] | None, n: int, turns: int) -> list[Row]:
    """The result rows from ``overheads`` (``o``) and ``overlap`` (``w``); None: failed."""
    rows = []
    for key, parallel in (("1a", 1), ("1b", 4)):
        times = (o or {}).get(parallel)
        value = statistics.mean(t.overhead_ms for t in times) if times else None
        life = statistics.mean(t.span("started", "finished") for t in times) if times else None
        rows.append(Row(key, f"overhead per task, 0 latency, {parallel} at a time (ms)", value,
                        "{:.0f}", "agent's own work", life, "≤ 200 ms",
                        value is not None and value <= OVERHEAD_TARGET_MS))
    one, many = (statistics.median(s for s, _ in w[k]) if w else None for k in (1, n))
    rows.append(Row("2", f"{n} independent tasks, {LATENCY_S:g} s/turn × {turns} (s)", many,
                    "{:.2f}", "1 task, same script", one, f"≤ {OVERLAP_TARGET}× 1 task",
                    many is not None and one is not None and many <= OVERLAP_TARGET * one,
                    peer=True))
    return rows


def details(o: dict[int, list[TaskTimes]] | None,
            w: dict[int, list[tuple[float, float]]] | None, n: int) -> None:
    """Print the overhead's stages and every round of row 2 under *Details*."""
    if o:
        print("  stage means (ms)" + " " * 50 + "1 at a time  4 at a time")
        for label, start, end in STAGES:
            cells = [statistics.mean(t.span(start, end) for t in o[p]) for p in (1, 4)]
            print(f"  {label:66s}{cells[0]:11.0f}{cells[1]:13.0f}")
        for p in (1, 4):
            print(f"  overhead per task, {p} at a time (ms): "
                  + " ".join(f"{t.overhead_ms:.0f}" for t in o[p]))
    for k, label in ((1, "1 task"), (n, f"{n} tasks")) if w else ():
        print(f"  row 2, {label}: wall " + ", ".join(f"{s:.2f}" for s, _ in w[k])
              + " s; slowest agent start (process running → ACP session) "
              + ", ".join(f"{a:.0f}" for _, a in w[k]) + " ms")


async def main_async(n: int, turns: int, quick: bool) -> None:
    run = Run()
    with tempfile.TemporaryDirectory(prefix="overmind-orch-bench-",
                                     ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        with run.phase("overhead"):
            o = await run.aattempt("1", overheads(root, n))
        with run.phase("overlap"):
            w = await run.aattempt("2", overlap(root, n, turns, 1 if quick else 2))
    print_head("orchestration", quick, f"; {n} tasks, built-in agent, scripted model",
               table(o, w, n, turns))
    details(o, w, n)
    run.print_footer()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="4 tasks instead of 8, row 2 once instead of twice")
    ap.add_argument("--turns", type=int, default=3, choices=range(2, 6),
                    help="agent turns per task in row 2 (default 3)")
    args = ap.parse_args()
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    asyncio.run(main_async(4 if args.quick else 8, args.turns, args.quick))


if __name__ == "__main__":
    main()
