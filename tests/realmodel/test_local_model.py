"""The main job with a real model (issue 13): Qwen2.5-Coder 1.5B on 2 CPU cores, on
tabulate 0.9.0 from PyPI. What a real model writes is not ours to choose, so these tests
assert what Overmind guarantees whatever it writes: each run ends within a bound, either
with its change merged and tabulate's own tests passing on the merged result, or with an
open question that names the cause; every event is well-formed and the sequence has no
gap; nothing is written outside the worktree; no process or worktree is left behind."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from overmind_jupyter.engine import Engine
from overmind_jupyter.events import EVENT_TYPES
from overmind_jupyter.model import MissionKind, MissionSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from demo import project

pytestmark = pytest.mark.timeout(1_500)
BOUND_S = 1_200  # s an objective may take on 2 shared cores before it counts as stuck
BBCODE = ("Add a 'bbcode' table format to tabulate, similar to the existing 'jira' format: "
          "[table], [tr], [th] and [td] tags. Add a test for it in test/test_output.py.")
FORMAT_EDIT = ("In tabulate/__init__.py, add a 'bbcode' table format next to the 'jira' "
               "one: rows as [tr][td]cell[/td][/tr], header cells as [th].")


def check_events(events: list[dict[str, Any]]) -> None:
    """Every event has the wire envelope of ``events.py``, a known type, JSON data, and
    the sequence numbers have no gap."""
    for e in events:
        assert set(e) >= {"seq", "ts", "type", "mission", "objective", "party", "data"}, e
        assert e["type"] in EVENT_TYPES and isinstance(e["data"], dict), e
        assert all(e[k] is None or isinstance(e[k], str) for k in ("mission", "objective"))
        json.dumps(e)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a gap in the event sequence"


async def settle(engine: Engine, oid: str, bound_s: float) -> dict[str, Any]:
    """The objective once it has ended or waits on a question (``questions`` added)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        found = await engine.objective(oid)
        open_ = [q.to_dict() for q in await engine.list_questions() if q.objective == oid]
        if found["state"] in ("done", "failed", "cancelled") or open_:
            return {**found, "questions": open_}
        await asyncio.sleep(1.0)  # minutes-long model turns: a second is fine-grained
    raise AssertionError(f"objective {oid} neither ended nor asked within {bound_s:g} s: "
                         f"{(await engine.objective(oid))['state']}")


def project_tests_pass(repo: Path) -> bool:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "test"], cwd=repo, capture_output=True, text=True, timeout=600)
    return done.returncode == 0


def worktrees(repo: Path) -> list[str]:
    out = project.git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")
            and Path(line.split(" ", 1)[1]) != repo]


def children() -> list[str]:
    return [f"{p.pid} {p.name()}" for p in psutil.Process().children(recursive=True)
            if p.status() != psutil.STATUS_ZOMBIE and "llama-server" not in p.name()]


def report(name: str, payload: dict[str, Any]) -> None:
    """What happened, for the closing note and bench/README (printed with -s)."""
    print(f"\n[real model] {name}: {json.dumps(payload, default=str)[:2000]}")


async def test_an_objective_lands_its_change_or_asks(tmp_path: Path, local_model) -> None:
    repo = project.prepare(tmp_path / "tabulate")
    head = project.git(repo, "rev-parse", "HEAD").strip()
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": local_model.model_id})
    await engine.start()
    began = time.monotonic()
    try:
        objective = await engine.prompt(BBCODE, auto_merge=True)  # through the merge queue
        final = await settle(engine, objective["id"], BOUND_S)
        engine.store.flush()
        events = await engine.events(limit=100_000)
    finally:
        await engine.close()
    merged = [c for c in final["changes"] if c["state"] == "merged"]
    report("objective", {"state": final["state"], "wall_s": round(time.monotonic() - began),
                         "tasks": [(t["name"], t["state"]) for t in final["tasks"]],
                         "merged": len(merged), "questions": [q["text"][:300] for q in
                                                              final["questions"]]})
    check_events(events)
    if final["state"] == "done" and merged:
        assert project.git(repo, "rev-parse", "HEAD").strip() != head
        assert project_tests_pass(repo), "main moved but tabulate's tests fail on it"
    else:
        assert final["questions"], f"ended {final['state']} without a question: " \
                                   f"{final.get('error')}"
        assert all(len(q["text"]) > 20 for q in final["questions"])
    assert worktrees(repo) == [] or final["questions"], worktrees(repo)
    assert children() == []


async def test_an_agent_in_a_worktree_edits_only_its_worktree(tmp_path: Path,
                                                              local_model) -> None:
    """The issue's second run: one agent mission with ``--worktree``. It ends (with a
    change, a question, or a clean end of turn), and the host checkout stays as it was."""
    repo = project.prepare(tmp_path / "tabulate")
    before = project.git(repo, "status", "--porcelain")
    module = (repo / "tabulate" / "__init__.py").read_text()
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": local_model.model_id})
    await engine.start()
    try:
        m = await engine.run(MissionSpec(FORMAT_EDIT.split(), kind=MissionKind.AGENT,
                                         worktree=True, name="bb"))
        ended = await settle_mission(engine, m.id, 900)
        engine.store.flush()
        every = await engine.events(limit=100_000)  # a mission's own events skip seqs
        events = [e for e in every if e["mission"] == m.id]
        changes = await engine.changes()
        questions = [q.to_dict() for q in await engine.list_questions()]
    finally:
        await engine.close()
    tools = [e["data"] for e in events if e["type"] == "tool-result"]
    report("agent", {"status": ended, "tools": [(t.get("title"), t.get("status")) for t in tools],
                     "changes": [c.get("files") for c in changes],
                     "questions": [q["text"][:200] for q in questions]})
    check_events(every)
    assert (repo / "tabulate" / "__init__.py").read_text() == module
    assert project.git(repo, "status", "--porcelain") == before
    # a change, a question, or a clean end whose last word is the agent's (a small model
    # may stop without editing: that is reported, not hidden; landing is the benchmark's)
    finished = [e["data"] for e in events if e["type"] == "agent-finished"]
    assert changes or questions or (ended == "exited" and finished and
                                    finished[-1]["stop_reason"] == "end_turn"), (ended, finished)
    refused = [t for t in tools if t.get("status") == "failed"]
    assert all(len(str(t.get("output") or "")) > 20 for t in refused), refused  # says why
    assert children() == []


async def settle_mission(engine: Engine, mission_id: str, bound_s: float) -> str:
    """The mission's status once it ended, or ``"asking"`` when it waits on a question."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        status = (await engine.info(mission_id))["status"]
        if status in ("exited", "failed", "killed", "lost"):
            return status
        if any(q.mission == mission_id for q in await engine.list_questions()):
            return "asking"
        await asyncio.sleep(1.0)
    raise AssertionError(f"mission {mission_id} neither ended nor asked within {bound_s:g} s")


