"""Hub placement benchmark: how soon a task placed on a JupyterHub target has its agent
running, from a cold and from a warm named server, and 8 tasks over 4 named servers
against the same 8 here.

usage: .venv/bin/python bench/hub_placement_bench.py [--runs N]

A real JupyterHub on 127.0.0.1 (``tests/hub/hub_harness.py``: SimpleLocalProcessSpawner,
named servers on; the proxy from npm). Measured with ``time.perf_counter``:

- **placed → agent running**: ``HubRunner.run`` from the call until the remote engine
  answered that the agent mission started (server start or warm take, repository bundle
  shipped, mission started). Cold: a target without a pool. Warm: a target with
  ``warm`` = 1 whose idle server is ready. Goals (issue 18): ≤ 2 s warm, ≤ 30 s cold.
- **8 tasks**: one objective whose planner gives 8 tasks on 8 files (scripted model, one
  edit each), from the prompt to ``done`` with every change merged: the hub target
  (capacity 4, ``local`` disabled) against ``local`` alone (capacity 4), side by side.
  On one machine the named servers share its cores, so this measures the overhead of
  placement, not a speed-up.

Always exits 0 when a goal is missed; a broken harness exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests" / d) for d in ("hub", "browser", "")]

from hub_harness import Hub  # noqa: E402

from overmind_jupyter.config import HUB_TOKEN_ENV, MODEL_ENV, Settings  # noqa: E402
from overmind_jupyter.engine import Engine  # noqa: E402
from overmind_jupyter.model import MissionKind, MissionSpec  # noqa: E402
from overmind_jupyter.testing.repos import make_repo  # noqa: E402
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts  # noqa: E402

USER = "carol"
WARM_GOAL_S, COLD_GOAL_S = 2.0, 30.0
FILES = [f"mod{i}.py" for i in range(8)]


def scripts(directory: Path) -> Path:
    """An objective of 8 tasks, one file each (disjoint scopes: they run at once)."""
    tasks = [{"name": f"t{i}", "description": f"document {f}", "scope": [f]}
             for i, f in enumerate(FILES)]
    return write_role_scripts(
        directory,
        story=respond({"groups": [{"title": "Docs", "prompt_ids": ["p1"], "summary": "d"}],
                       "story": "mods"}),
        scope=respond({"files": [{"path": f} for f in FILES], "complexity": "low",
                       "rationale": "docs"}),
        planner=respond({"tasks": tasks}), evaluator=respond({"done": True, "feedback": "ok"}),
        tasks={f"t{i}": [tool("edit_file", path=f, old_text="X = 1\n",
                              new_text='"""Documented."""\nX = 1\n'), say("Done.")]
               for i, f in enumerate(FILES)})


async def placements(hub: Hub, work: Path, warm: int, runs: int) -> list[float]:
    """Seconds from ``HubRunner.run`` to the agent running, ``runs`` times."""
    repo = make_repo(work / f"p-{warm}", {f: "X = 1\n" for f in FILES})
    model = f"scripted:{scripts(work / f's-{warm}')}"
    engine = Engine(repo, Settings(mode="local"), provider_env={MODEL_ENV: model})
    await engine.start()
    try:
        await engine.target_add("hub", hub.url, USER, capacity=2, warm=warm, doctor=False)
        target, found = engine.target_registry.resolve("hub"), []
        for n in range(runs):
            if warm:
                await _until(lambda: engine.hub_runner.pool.idle.get("hub"))
            found.append(await _one_placement(engine, repo, work, target, n, model))
        return found
    finally:
        await engine.close()


async def _one_placement(engine: Engine, repo: Path, work: Path, target, n: int,
                         model: str) -> float:
    tree = work / f"wt-{target.data.warm}-{n}"
    subprocess.run(["git", "worktree", "add", "-q", "-b", tree.name, str(tree)], cwd=repo,
                   check=True)
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()
    spec = MissionSpec([f"Document {FILES[0]}."], kind=MissionKind.AGENT, name=f"t0-{n}",
                       cwd=str(tree), env={MODEL_ENV: f"{model.removesuffix('/')}"})
    began = time.perf_counter()
    started = await engine.hub_runner.run(target, spec, f"bench{n}", "o-bench", base, tree)
    took = time.perf_counter() - began
    await engine.hub_runner.wait(started.id)
    return took


async def objective_wall(hub: Hub, work: Path, on_hub: bool) -> float:
    """Seconds from the prompt to ``done`` of the 8-task objective."""
    label = "hub" if on_hub else "local"
    repo = make_repo(work / f"o-{label}", {f: "X = 1\n" for f in FILES})
    model = f"scripted:{scripts(work / f'so-{label}')}"
    engine = Engine(repo, Settings(mode="local", auto_merge=True, max_parallel=4,
                                   per_objective=8), provider_env={MODEL_ENV: model})
    await engine.start()
    try:
        if on_hub:
            await engine.target_add("hub", hub.url, USER, capacity=4, doctor=False)
            await engine.target_action("local", "disable")
        began = time.perf_counter()
        made = await engine.prompt("Document every module.")
        done = await engine.wait_objective(made["id"], timeout_s=600)
        took = time.perf_counter() - began
        merged = sum(c["state"] == "merged" for c in done["changes"])
        assert done["state"] == "done" and merged == 8, (
            done["state"], done.get("outcome"), merged,
            [(t["name"], t["state"], t.get("reason"), t.get("error")) for t in done["tasks"]
             if t["state"] != "done"],
            [(c["id"], c["state"], c.get("outcome")) for c in done["changes"]
             if c["state"] != "merged"])
        return took
    finally:
        await engine.close()


async def _until(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the warm pool did not fill"
        await asyncio.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        work = Path(tmp)
        hub = Hub(work / "hub", named_servers=True).start()
        try:
            os.environ[HUB_TOKEN_ENV] = hub.token(USER)
            cold = asyncio.run(placements(hub, work, 0, runs))
            warm = asyncio.run(placements(hub, work, 1, runs))
            local = asyncio.run(objective_wall(hub, work, on_hub=False))
            remote = asyncio.run(objective_wall(hub, work, on_hub=True))
        finally:
            left = hub.stop()
    report(cold, warm, local, remote)
    return 0 if not left else 1


def report(cold: list[float], warm: list[float], local: float, remote: float) -> None:
    c, w = statistics.median(cold), statistics.median(warm)
    print("placed → agent running (median of runs, s)")
    print(f"  cold named server   {c:6.2f}   goal ≤ {COLD_GOAL_S:.0f} s   "
          f"{'met' if c <= COLD_GOAL_S else 'MISSED'}   runs {[round(x, 2) for x in cold]}")
    print(f"  warm named server   {w:6.2f}   goal ≤ {WARM_GOAL_S:.0f} s    "
          f"{'met' if w <= WARM_GOAL_S else 'MISSED'}   runs {[round(x, 2) for x in warm]}")
    print(f"  warm / cold         {w / c:6.3f}")
    print("8 tasks, prompt → done with 8 changes merged (s)")
    print(f"  local (capacity 4)              {local:6.2f}   (baseline)")
    print(f"  hub, 4 named servers            {remote:6.2f}   ratio {remote / local:.2f}")


if __name__ == "__main__":
    sys.exit(main())
