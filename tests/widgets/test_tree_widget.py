"""The execution tree: its reducer (``labextension/src/objectives.ts``, run in Node) on the
events of a real objective (real git, a real ACP agent process, a scripted model), and the
``%%overmind prompt`` / ``%overmind objectives ID`` widget with its text snapshot."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from test_widgets import VIEW, shown, widget_of

from overmind_jupyter.engine import Engine
from overmind_jupyter.magics import PENDING
from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.scripts import say, tool
from overmind_jupyter.widgets.bridge import request
from overmind_jupyter.widgets.tree import ExecutionTree, tree_snapshot, tree_text

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import log_task_scripts

pytestmark = pytest.mark.timeout(120)
LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"
NEW = "    print('adding')\n    return a + b\n"


def scripts(directory: Path) -> Path:
    """One task "log": read calc.py, edit it, say done (``flow_helpers``)."""
    return log_task_scripts(directory, [
        tool("read_file", path="calc.py"),
        tool("edit_file", path="calc.py", old_text="    return a + b\n", new_text=NEW),
        say("Added a print.")])


def project(root: Path) -> Path:
    return make_repo(root, {"calc.py": "def add(a, b):\n    return a + b\n"})


async def run_objective(tmp_path: Path) -> tuple[str, list[dict[str, Any]], Any]:
    """A finished objective's id, every event, and ``GET events?mission=`` via the route."""
    engine = Engine(project(tmp_path / "p"),
                    provider_env={"OVERMIND_MODEL": f"scripted:{scripts(tmp_path / 's')}"})
    await engine.start()
    try:
        o = await engine.prompt("log every addition", wait=True)
        mission = o["tasks"][0]["mission"]
        await engine.wait(mission, 30)  # its process may end after the objective
        events = await engine.events(after=0, limit=10_000)
        page = await request(engine, "GET", f"events?mission={mission}&after=0&limit=3")
        with pytest.raises(Exception, match="after: Input should be greater than or equal to 0"):
            await request(engine, "GET", "events?after=-1")
    finally:
        await engine.close()
    return o["id"], events, (mission, page)


def reduce(tmp_path: Path, events: list[dict[str, Any]], objective: str, snapshot_at: int,
           replay_from: int) -> dict[str, Any]:
    subprocess.run(["node", "scripts/build-widgets.mjs", "--tests"], cwd=LABEXTENSION,
                   check=True, timeout=60)
    path = tmp_path / "tree-input.json"
    path.write_text(json.dumps({"events": events, "objective": objective,
                                "snapshot_at": snapshot_at, "replay_from": replay_from}))
    done = subprocess.run(["node", str(LABEXTENSION / "test-build" / "tree.mjs"), str(path)],
                          capture_output=True, text=True, check=True, timeout=30)
    return json.loads(done.stdout)


def test_the_reducer_builds_the_tree_and_replays_to_the_same_tree(tmp_path):
    oid, events, (mission, page) = asyncio.run(run_objective(tmp_path))
    assert [e["mission"] for e in page["events"]] == [mission] * 3  # the kernel's route
    assert page["last_seq"] == page["events"][-1]["seq"]
    spawned = next(e["seq"] for e in events if e["type"] == "tool-result")
    out = reduce(tmp_path, events, oid, snapshot_at=spawned, replay_from=spawned - 5)
    live = out["live"]
    assert live[0].startswith("objective Log done scope=calc.py round=1 progress=1/1 ")
    assert '"tokens":' in live[0]  # run-complete's usage
    assert live[1].startswith("  task log done agents=1 tokens=") and "tokens=0" not in live[1]
    assert live[2] == "    agent builtin exited tools=2 stop=end_turn"
    steps = [line.strip() for line in live[3:-1]]
    assert steps[0].startswith('prompt "You are one agent of a team')
    assert steps[1] == ('tool read_file calc.py [calc.py] completed timed '
                        '"def add(a, b):\\n    return a + b\\n"')
    assert steps[2] == 'tool edit_file calc.py [calc.py] completed timed "edited calc.py"'
    assert steps[3].startswith('message "Added a print.')  # its chunks merged into one step
    assert len(steps) == 4
    assert live[-1] == "  change open files=calc.py"  # it waits for a reviewer
    # a snapshot taken mid-run plus overlapping live events, or every event twice: same tree
    assert out["replay"] == live
    assert out["twice"] == live and not out["changedAgain"]
    assert out["summary"][:2] == [live[0], "  task log done agents=1 tokens=0"]
    assert out["summaryAgents"] == 0  # the sidebar keeps no agent steps


@pytest.fixture
def magics_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The magics' project (``conftest.magics``): a git repository whose agents follow the
    scripts above."""
    monkeypatch.setenv("OVERMIND_MODEL", f"scripted:{scripts(tmp_path / 's')}")
    return project(tmp_path / "project")


def test_prompt_shows_the_tree_at_once_and_objectives_id_shows_it_filled(magics):
    pending, first = shown(magics, "prompt --auto-merge", "log every addition\n")
    assert pending["text/plain"] == PENDING  # shown at once, before the story agent ends
    tree = widget_of(first)
    assert isinstance(tree, ExecutionTree) and tree.view == "tree"
    assert tree.mode == "embedded" and first["text/plain"].startswith(
        f"objective {tree.objective} ")
    final = magics.portal.call(magics.engine.wait_objective, tree.objective, 60)
    assert final["state"] == "done"
    magics.portal.call(magics.engine.wait, final["tasks"][0]["mission"], 30)

    [again] = shown(magics, f"objectives {tree.objective[:5]}")
    assert widget_of(again).objective == tree.objective
    text = again["text/plain"]
    assert f"objective {tree.objective} done: Log" in text
    assert "  scope: calc.py (low)" in text
    assert "  task log done: log: change add()" in text
    assert "builtin (" in text and ") exited: 2 tool calls, " in text
    assert ("      ✓ read_file calc.py\n      ✓ edit_file calc.py\n"
            "      message: Added a print." in text)
    assert "merged: log: log: change add() (1 files)" in text
    assert again["text/html"].startswith('<pre class="overmind-snapshot">objective ')

    with pytest.raises(UsageError, match="no objective"):
        shown(magics, "objectives nosuch")


def test_prompt_wait_shows_the_live_tree_then_prints_the_summary_once_ended(magics):
    with capture_output() as captured:
        magics.shell.run_cell_magic("overmind", "prompt --wait", "log every addition")
    pending, first, final = captured.outputs  # a line at once, the tree in its place, then
    assert pending.data["text/plain"] == PENDING and not pending.update  # its final state
    assert first.update and first.transient == pending.transient  # the tree took its place
    tree = widget_of(first.data)
    assert isinstance(tree, ExecutionTree) and tree.wait
    head = first.data["text/plain"].splitlines()[0]
    assert head.startswith(f"objective {tree.objective} ") and " done" not in head  # shown early
    assert captured.stdout.startswith(f"objective {tree.objective} done")  # at the end
    assert "model: " in captured.stdout
    assert final.update and final.transient == first.transient  # the same display
    assert final.data[VIEW] == first.data[VIEW]  # the live view stays
    assert final.data["text/plain"].startswith(f"objective {tree.objective} done: Log\n")
    spent = re.search(r"tokens (\d+)", captured.stdout)[1]
    assert final.data["text/plain"].rstrip().endswith(f"tokens {spent}")  # as the summary
    assert VIEW not in shown(magics, "objectives")[0]  # the list stays a table


def test_a_prompt_not_sent_replaces_its_pending_line_with_why(magics, monkeypatch):
    for key in ("OVERMIND_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY",
                "GOOGLE_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(UsageError, match="no model configured"), capture_output() as seen:
        magics.shell.run_cell_magic("overmind", "prompt", "log every addition")
    pending, settled = seen.outputs
    assert pending.data["text/plain"] == PENDING
    assert settled.update and settled.transient == pending.transient  # the same output
    assert settled.data["text/plain"].startswith("prompt not sent: no model configured")


def test_the_snapshot_shows_agent_output_as_plain_text_without_escapes():
    objective = {"id": "o1", "state": "running", "title": "Colour", "error": "\x1b[2Jboom",
                 "tasks": [{"id": "t1", "name": "paint", "state": "running"}]}
    spawned = [{"type": "agent-spawned", "mission": "m1", "data": {"task": "t1"}}]
    said = [{"type": "agent-message", "data": {"text": "\x1b[31mred\x1b[0m\x07 done"}}]
    text = tree_text(objective, spawned, {"m1": said})
    assert "      message: red done\n" in text and "  error: boom\n" in text
    assert "\x1b" not in text and "\x07" not in text


def test_the_snapshot_of_an_objective_whose_agent_is_not_here_shows_its_tasks(tmp_path):
    """A mirrored objective names the host's missions, which this engine does not have."""
    async def body() -> str:
        engine = Engine(tmp_path)
        await engine.start()
        try:
            engine.records.insert("objective", "o1", "running", {"title": "Mirrored"})
            engine.store.append_event("agent-spawned", {"task": "t1", "name": "paint",
                                                        "agent": "builtin", "workspace": "",
                                                        "branch": ""},
                                      mission="host-mission", objective="o1")
            engine.store.flush()
            return (await tree_snapshot(engine, "o1"))[1]
        finally:
            await engine.close()
    text = asyncio.run(body())
    assert text.startswith("objective o1 running: Mirrored")
