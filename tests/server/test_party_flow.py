"""End to end, the whole party: two guests on server B, prompts planned and landed on A.

Server A hosts a party in a git project with a scripted model per role (``scripted:DIR``);
server B's engine joins twice (alice, bob) through B's REST API, as notebooks on B would.
The host approves both prompts; the story agent groups them into one objective; the
planner makes two tasks that run at once as real built-in agent (ACP) processes in their
own worktrees; the first change merges cleanly, the second conflicts (its agent strayed
outside its declared scope into the same lines), the referee's resolution is rejected for
a leftover marker and the host answers the conflict question. On B, each guest's party
websocket brought the status of the prompts to ``done`` — with the text of one's own
prompt only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_process import JupyterProcess, wait_until

from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(90)

ADD = "def add(a, b):\n    return a + b\n"
DOUBLE = "    return 2 * (a + b)\n"
LOG = "    print('adding')\n    return a + b\n"
PROMPTS = {"alice": "make add() return twice the sum", "bob": "log every addition"}
# "=======" alone passes the referee's own check, not the merge queue's validation
LEFTOVER = "def add(a, b):\n    print('adding')\n    return 2 * (a + b)\n=======\n"


def edit(new: str) -> list[dict[str, Any]]:
    return [tool("edit_file", path="calc.py", old_text="    return a + b\n", new_text=new),
            say("Changed add().")]


def scripts(directory: Path) -> Path:
    """One objective of both prompts (p1: alice's, p2: bob's); two parallel tasks."""
    task = [{"name": "double", "description": "double the sum", "scope": ["calc.py"]},
            {"name": "log", "description": "log additions", "scope": ["logging.md"]}]
    return write_role_scripts(
        directory,
        story=respond({"groups": [{"title": "Calc", "prompt_ids": ["p1", "p2"],
                                   "summary": "double and log"}], "story": "a calculator"}),
        scope=respond({"files": [{"path": "calc.py"}], "complexity": "low",
                       "rationale": "add() lives there"}),
        planner=respond({"tasks": task}), evaluator=respond({"done": True, "feedback": "ok"}),
        referee=respond({"resolution": LEFTOVER, "confidence": 0.95,
                         "explanation": "kept both"}),
        tasks={"double": edit(DOUBLE), "log": edit(LOG)})


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterProcess, ...]]:
    base = tmp_path_factory.mktemp("party-flow")
    repo = make_repo(base / "project", {"calc.py": ADD})
    model = f"scripted:{scripts(base / 'scripts')}"
    (base / "b").mkdir()
    started = []
    try:
        started.append(JupyterProcess(repo, base / "home-a", env={"OVERMIND_MODEL": model},
                                      args=("--Overmind.story_window_s=1.5",)).start())
        started.append(JupyterProcess(base / "b", base / "home-b").start())
        yield tuple(started)
    finally:
        left = [pid for server in started for pid in server.reap()]
        assert left == [], f"processes survived: {left}"


def conflict_question(a: JupyterProcess) -> dict[str, Any] | None:
    found = [q for q in a.api("GET", "questions")["questions"] if q["kind"] == "conflict"]
    return found[0] if found else None


def mirrored(b: JupyterProcess, party: str) -> list[dict[str, Any]]:
    """The host's party events as B's engine mirrored them (each guest's own view)."""
    return b.api("GET", f"events?party={party}&limit=10000")["events"]


def test_guests_prompts_become_one_objective_whose_changes_land_and_whose_status_they_see(
        servers: tuple[JupyterProcess, ...]) -> None:
    a, b = servers
    hosted = a.api("POST", "party", {"name": "ann", "auto_approve": list(PROMPTS),
                                     "auto_merge": True})  # the party lands its changes
    for name, text in PROMPTS.items():
        b.api("POST", "party/join", {"invite": hosted["invite"], "name": name})
        b.api("POST", "party/prompts", {"text": text, "member": name})
    queue = a.api("GET", "party")["hosting"]["queue"]
    assert [(p["name"], p["state"]) for p in queue] == [("alice", "queued"), ("bob", "queued")]
    for p in queue:  # within the story window: one batch for the story agent
        a.api("POST", f"party/prompts/{p['id']}", {"action": "approve"})
    objective = wait_until(lambda: a.api("GET", "objectives")["objectives"],
                           what="the story agent's objective")[0]
    ended = a.api("POST", f"objectives/{objective['id']}/wait", {"timeout_s": 60}, timeout=70)
    question = wait_until(lambda: conflict_question(a), what="the conflict question")
    _the_objective_ran_both_tasks_at_once_and_landed_one_change(a, ended)
    _the_rejected_resolution_is_the_hosts_to_answer(a, ended, question)
    _each_guest_saw_the_prompts_reach_done_and_only_its_own_text(b, hosted["party"]["id"],
                                                                 {p["name"]: p for p in queue})


def _the_objective_ran_both_tasks_at_once_and_landed_one_change(a: JupyterProcess,
                                                                ended: dict) -> None:
    assert ended["state"] == "done" and ended["title"] == "Calc"
    assert ended["members"] == ["alice", "bob"] and len(ended["prompts"]) == 2
    assert {t["name"]: t["state"] for t in ended["tasks"]} == {"double": "done", "log": "done"}
    events = a.api("GET", f"events?objective={ended['id']}&limit=10000")["events"]
    states = [e["data"]["state"] for e in events if e["type"] == "task-status"]
    assert states[:2] == ["running", "running"]  # both agents at once, no overlap in scope
    spawned = [e for e in events if e["type"] == "agent-spawned"]
    assert len({e["data"]["workspace"] for e in spawned}) == 2  # a worktree each
    assert sorted(c["state"] for c in ended["changes"]) == ["conflicted", "merged"]
    merged = next(c for c in ended["changes"] if c["state"] == "merged")
    landed = {"double": DOUBLE, "log": LOG}[merged["task"]]
    assert (Path(a.root) / "calc.py").read_text() == "def add(a, b):\n" + landed


def _the_rejected_resolution_is_the_hosts_to_answer(a: JupyterProcess, ended: dict,
                                                    question: dict) -> None:
    change = next(c for c in ended["changes"] if c["state"] == "conflicted")
    [report] = change["conflicts"]
    assert report["path"] == "calc.py" and "marker" in report["rejected_reason"]
    assert question["data"]["change"] == change["id"]
    before = (Path(a.root) / "calc.py").read_text()
    a.api("POST", f"questions/{question['id']}/answer", {"text": "close"})
    wait_until(lambda: a.api("GET", f"changes/{change['id']}")["state"] == "closed",
               what="the conflicted change closed")
    assert (Path(a.root) / "calc.py").read_text() == before  # the target kept its merge
    assert conflict_question(a) is None


def _each_guest_saw_the_prompts_reach_done_and_only_its_own_text(
        b: JupyterProcess, party: str, prompts: dict[str, dict]) -> None:
    def statuses(via: str, whose: str) -> list[str]:
        return [e["data"]["status"] for e in mirrored(b, party)
                if e["data"]["mirror"]["via"] == via
                and e["data"].get("id") == prompts[whose]["id"]]
    wait_until(lambda: all(statuses(g, w)[-1:] == ["done"] for g in prompts for w in prompts),
               what="every prompt done in both guests' views")
    for guest in prompts:
        assert statuses(guest, "alice") == ["queued", "approved", "grouped", "done"]
        seen = [e for e in mirrored(b, party) if e["data"]["mirror"]["via"] == guest]
        own = [e["data"] for e in seen if e["data"].get("id") == prompts[guest]["id"]]
        assert all(d["text"] == PROMPTS[guest] for d in own)
        other = next(n for n in prompts if n != guest)
        assert PROMPTS[other] not in json.dumps(seen)  # not even in another event
