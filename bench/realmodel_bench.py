"""The main job with a real model: six tasks on three pinned PyPI projects, each run by the
pipeline (story → scope → plan → agents in worktrees → merge queue with the project's own
tests) and, as the baseline in the same run, by one agent alone in a worktree without
planning (its change merged through the same gate). Issue 13's benchmark.

    .venv/bin/python bench/realmodel_bench.py [--tasks ID,ID] [--skip-parallel]

Needs ``make local-model``. The model is Qwen2.5-Coder 1.5B under llama-server (2 slots);
a recording proxy in front of it (``_llm_proxy``) attributes tokens, cached prompt tokens
and model time (llama-server's own ``timings``) to each role. Prints, per task: landed
(merged with the project's tests passing: y/n), wall time, model time, tokens in/out,
cached prompt tokens, tool-call errors, guard trips, scope recall (the share of the files
the task must touch that the scope extractor listed); then totals and the ratios issue 13
targets. Targets are goals, not assertions: the run always exits 0 unless the harness
itself breaks. Minutes per task on 2 cores: a full run takes one to two hours.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _llm_proxy import Call, Proxy  # noqa: E402

from demo.project import TABULATE, Pin, git, prepare  # noqa: E402
from overmind_jupyter.engine import Engine  # noqa: E402
from overmind_jupyter.localmodel.install import installed  # noqa: E402
from overmind_jupyter.localmodel.serve import LocalServer  # noqa: E402
from overmind_jupyter.model import MissionKind, MissionSpec  # noqa: E402

INFLECTION = Pin("inflection", "0.5.1",
                 "1a29730d366e996aaacffb2f1f1cb9593dc38e2ddd30c91250c6dde09ea9b417")
TOOLZ = Pin("toolz", "0.12.1", "ecca342664893f177a13dac0e6b41cbd8ac25a358e5f215316d43e2100224f4d")
BOUND_S = 1_200  # s per run before it counts as not landed


@dataclasses.dataclass(frozen=True)
class Task:
    """A feature of 10-40 lines with a test; ``files``: what it must touch (for recall)."""

    id: str
    pin: Pin
    prompt: str
    files: tuple[str, ...]
    tests: tuple[str, ...]


TASKS = (
    Task("tab-bbcode", TABULATE, "Add a 'bbcode' table format to tabulate, similar to the "
         "existing 'jira' format: [table], [tr], [th] and [td] tags. Add a test for it in "
         "test/test_output.py.", ("tabulate/__init__.py", "test/test_output.py"), ("test",)),
    Task("tab-dokuwiki", TABULATE, "Add a 'dokuwiki' table format to tabulate: header cells "
         "between ^, data cells between |, like the existing 'jira' format. Add a test in "
         "test/test_output.py.", ("tabulate/__init__.py", "test/test_output.py"), ("test",)),
    Task("infl-kebab", INFLECTION, "Add a function kebabize(word) to inflection.py that turns "
         "'SomeTitle' and 'some_title' into 'some-title', like dasherize and underscore. Add "
         "tests for it in test_inflection.py.", ("inflection/__init__.py",
                                                 "test_inflection.py"), ("test_inflection.py",)),
    Task("infl-initials", INFLECTION, "Add a function initials(word) to inflection that "
         "returns the upper-case first letters of each word of a titleized string, e.g. "
         "'raw scaled scorer' -> 'RSS'. Add tests in test_inflection.py.",
         ("inflection/__init__.py", "test_inflection.py"), ("test_inflection.py",)),
    Task("toolz-invert", TOOLZ, "Add a function invert(d) to toolz/dicttoolz.py that swaps "
         "the keys and values of a dictionary, like valmap and keymap build new dicts. Export "
         "it and add a test in toolz/tests/test_dicttoolz.py.",
         ("toolz/dicttoolz.py", "toolz/tests/test_dicttoolz.py"), ("toolz/tests",)),
    Task("toolz-countby", TOOLZ, "Add a function countby(key, seq) to toolz/itertoolz.py that "
         "counts the items of seq per key(item) into a dict, like frequencies and groupby. "
         "Export it and add a test in toolz/tests/test_itertoolz.py.",
         ("toolz/itertoolz.py", "toolz/tests/test_itertoolz.py"), ("toolz/tests",)),
)


@dataclasses.dataclass
class Run:
    """One run's outcome and figures."""

    task: str
    mode: str
    landed: bool = False
    wall_s: float = 0.0
    calls: list[Call] = dataclasses.field(default_factory=list)
    tool_errors: int = 0
    guard_trips: int = 0
    recall: float | None = None
    note: str = ""

    @property
    def model_s(self) -> float:
        return sum(c.model_ms for c in self.calls) / 1000

    @property
    def tokens(self) -> tuple[int, int, int]:
        return (sum(c.prompt_tokens for c in self.calls),
                sum(c.completion_tokens for c in self.calls),
                sum(c.cached_tokens for c in self.calls))

    def cache_after_first(self) -> tuple[int, int]:
        """(cached, prompt) tokens of every call but each role's first (prefix-cache hits)."""
        seen: set[str] = set()
        cached = prompt = 0
        for c in self.calls:
            if c.role in seen:
                cached, prompt = cached + c.cached_tokens, prompt + c.prompt_tokens
            seen.add(c.role)
        return cached, prompt


def fresh_repo(task: Task, work: Path) -> Path:
    return prepare(Path(tempfile.mkdtemp(prefix=f"{task.id}-", dir=work)) / task.pin.name,
                   task.pin)


def project_tests_pass(repo: Path, tests: tuple[str, ...]) -> bool:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           *tests], cwd=repo, capture_output=True, timeout=600)
    return done.returncode == 0


async def count_events(engine: Engine, run: Run, **where: Any) -> list[dict[str, Any]]:
    engine.store.flush()
    events = await engine.events(limit=1_000_000, **where)
    run.tool_errors = sum(e["type"] == "tool-result" and e["data"].get("status") == "failed"
                          for e in events)
    run.guard_trips = sum(e["type"] == "agent-finished" and bool(e["data"].get("guard"))
                          for e in events)
    return events


async def pipeline(task: Task, work: Path, proxy: Proxy) -> Run:
    run, repo = Run(task.id, "pipeline"), fresh_repo(task, work)
    head = git(repo, "rev-parse", "HEAD").strip()
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"openai:qwen2.5-coder-1.5b@"
                                                          f"{proxy.url}"})
    await engine.start()
    cursor, began = proxy.mark(), time.monotonic()
    try:
        objective = await engine.prompt(task.prompt)
        final = await settle(engine, objective["id"])
        run.wall_s = time.monotonic() - began
        events = await count_events(engine, run)
        scope = next((e["data"]["files"] for e in events if e["type"] == "scope-ready"), [])
        run.recall = sum(f in scope for f in task.files) / len(task.files)
        merged = [c for c in final["changes"] if c["state"] == "merged"]
        run.note = f"{final['state']}, {len(merged)} merged" + (
            f", asks: {final['asks'][:80]}" if final.get("asks") else "")
        run.landed = bool(merged) and git(repo, "rev-parse", "HEAD").strip() != head and \
            project_tests_pass(repo, task.tests)
    finally:
        await engine.close()
        run.calls = proxy.since(cursor)
    return run


async def settle(engine: Engine, oid: str) -> dict[str, Any]:
    """The objective once ended, or cancelled when it asks a question or passes the bound."""
    deadline = time.monotonic() + BOUND_S
    while True:
        found = await engine.objective(oid)
        asks = [q.text for q in await engine.list_questions() if q.objective == oid]
        if found["state"] in ("done", "failed", "cancelled"):
            return found
        if asks or time.monotonic() > deadline:
            await engine.cancel_objective(oid)
            return {**(await engine.objective(oid)), "asks": asks[0] if asks else "timeout"}
        await asyncio.sleep(1.0)


async def single(task: Task, work: Path, proxy: Proxy) -> Run:
    run, repo = Run(task.id, "single"), fresh_repo(task, work)
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"openai:qwen2.5-coder-1.5b@"
                                                          f"{proxy.url}"})
    await engine.start()
    cursor, began = proxy.mark(), time.monotonic()
    try:
        m = await engine.run(MissionSpec(task.prompt.split(), kind=MissionKind.AGENT,
                                         worktree=True, name="solo"))
        status = await settle_mission(engine, m.id)
        changes = await engine.changes() if status == "exited" else []
        for change in changes:
            await engine.merge(change["id"])
        merged = [c for c in await engine.changes() if c["state"] == "merged"]
        run.wall_s = time.monotonic() - began
        await count_events(engine, run, mission=m.id)
        run.note = f"{status}, {len(merged)} merged"
        run.landed = bool(merged) and project_tests_pass(repo, task.tests)
    finally:
        await engine.close()
        run.calls = proxy.since(cursor)
    return run


async def settle_mission(engine: Engine, mid: str) -> str:
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        status = (await engine.info(mid))["status"]
        if status in ("exited", "failed", "killed", "lost"):
            return status
        if any(q.mission == mid for q in await engine.list_questions()):
            await engine.stop(mid)
            return "asked"
        await asyncio.sleep(1.0)
    await engine.stop(mid)
    return "timeout"


def row(r: Run) -> str:
    tin, tout, cached = r.tokens
    recall = "—" if r.recall is None else f"{r.recall:.0%}"
    return (f"| {r.task} | {r.mode} | {'y' if r.landed else 'n'} | {r.wall_s:.0f} | "
            f"{r.model_s:.0f} | {tin} / {tout} | {cached} | {r.tool_errors} | "
            f"{r.guard_trips} | {recall} | {r.note} |")


def report(runs: list[Run], parallel: tuple[float, float] | None) -> str:
    lines = ["| task | mode | landed | wall s | model s | tokens in / out | cached | "
             "tool errors | guard trips | scope recall | outcome |",
             "|---|---|---|---|---|---|---|---|---|---|---|", *map(row, runs)]
    pipe = [r for r in runs if r.mode == "pipeline"]
    solo = [r for r in runs if r.mode == "single"]

    def total(rs: list[Run]) -> tuple[int, float, float]:
        return (sum(sum(r.tokens[:2]) for r in rs), sum(r.wall_s for r in rs),
                sum(r.model_s for r in rs))
    (pt, pw, pm), (st, sw, _) = total(pipe), total(solo)
    cached = [r.cache_after_first() for r in pipe]
    hit = sum(c for c, _ in cached) / max(1, sum(p for _, p in cached))
    lines += ["", f"- landed: pipeline {sum(r.landed for r in pipe)} of {len(pipe)} "
              f"(goal ≥ 4 of 6), single agent {sum(r.landed for r in solo)} of {len(solo)}",
              f"- tokens pipeline / single: {pt} / {st} = {pt / max(1, st):.2f}× (goal ≤ 1.3×)",
              f"- wall pipeline / single: {pw:.0f} s / {sw:.0f} s = {pw / max(1, sw):.2f}×",
              f"- wall / model time (pipeline): {pw:.0f} s / {pm:.0f} s = "
              f"{pw / max(1, pm):.2f}× (goal ≤ 1.3×)",
              f"- prefix-cache hits after each role's first turn: {hit:.0%} of prompt tokens "
              "(goal ≥ 60 %)"]
    if parallel:
        lines.append(f"- 2 tasks in parallel on 2 slots / in sequence: {parallel[0]:.0f} s / "
                     f"{parallel[1]:.0f} s = {parallel[0] / parallel[1]:.2f}× (goal ≤ 0.7×)")
    lines.append(f"- load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return "\n".join(lines)


async def parallel_vs_sequence(tasks: list[Task], work: Path, proxy: Proxy) -> tuple[float, float]:
    began = time.monotonic()
    await asyncio.gather(*(single(t, work, proxy) for t in tasks))
    together = time.monotonic() - began
    began = time.monotonic()
    for t in tasks:
        await single(t, work, proxy)
    return together, time.monotonic() - began


async def main(args: argparse.Namespace) -> None:
    ready = installed()
    if ready is None:
        sys.exit("the local model is not set up: run `make local-model`")
    chosen = [t for t in TASKS if not args.tasks or t.id in args.tasks.split(",")]
    work = Path(tempfile.mkdtemp(prefix="realmodel-bench-"))
    runs: list[Run] = []
    with LocalServer(ready, slots=2) as server:
        proxy = Proxy(server.endpoint.removesuffix("/v1")).start()
        for task in chosen:
            for mode in (pipeline, single):
                runs.append(await mode(task, work, proxy))
                print(row(runs[-1]), flush=True)
        both = None if args.skip_parallel else await parallel_vs_sequence(
            [t for t in TASKS if t.id in ("infl-kebab", "toolz-invert")], work, proxy)
        proxy.stop()
    print("\n" + report(runs, both))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="", help="comma-separated task ids (default: all)")
    parser.add_argument("--skip-parallel", action="store_true")
    asyncio.run(main(parser.parse_args()))
