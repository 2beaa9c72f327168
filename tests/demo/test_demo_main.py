"""`make demo`'s core end to end (``python -m demo.main``), then the real project's state.

One run of the demo — tabulate 0.9.0 from PyPI, an Overmind server, the quickstart
notebook executed headless with the scripted model, the summary, ``overmind shutdown`` —
then checks what a user would look at afterwards: one merge commit per change on
``main``, tabulate's own tests passing with the new format's, the documented example
matching the real output, the objective's events in ``.overmind/``, the executed notebook
with its widget snapshots, and nothing left running or checked out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from demo_helpers import git, left_behind, records

from overmind_jupyter.agents.adapters import PROVIDER_KEYS
from overmind_jupyter.store.store import Store, default_db_path

CHECKOUT = Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:  # `demo` is a folder of the checkout, not installed
    sys.path.insert(0, str(CHECKOUT))
from demo import scenario  # noqa: E402

pytestmark = pytest.mark.timeout(420)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo run: its work directory, output and exit status (one run per module)."""
    work = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OVERMIND_") and k not in PROVIDER_KEYS}
    env.update(JUPYTER_RUNTIME_DIR=str(work / "runtime"), IPYTHONDIR=str(work / "ipython"),
               # as in a JupyterLab terminal: another server's address, which must not be used
               OVERMIND_URL="http://127.0.0.1:9/", OVERMIND_TOKEN="not-this-one")
    done = subprocess.run([sys.executable, "-m", "demo.main", "--workdir", str(work)],
                          cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=400)
    return {"work": work, "repo": work / "tabulate", "env": env, "code": done.returncode,
            "out": done.stdout + done.stderr}


def test_the_demo_succeeds_and_says_the_model_is_scripted(run: dict) -> None:
    assert run["code"] == 0, run["out"][-4000:]
    assert "model: scripted model" in run["out"]
    assert "2 of 2 merged" in run["out"]
    assert "left behind: no process, no worktree" in run["out"]


def test_main_moved_by_one_merge_commit_per_change(run: dict) -> None:
    changes = records(run["repo"], "change")
    first_parent = git(run["repo"], "log", "--first-parent", "--format=%P|%s", "main")
    lines = first_parent.splitlines()
    assert lines[-1].endswith("|tabulate 0.9.0 from its PyPI source distribution")
    merges = lines[:-1]
    assert len(merges) == len(changes) == 2
    assert all(len(line.split("|")[0].split()) == 2 for line in merges)
    assert {line.split("|")[1].split(":")[0] for line in merges} == \
        {f"Merge change {c.id}" for c in changes}
    assert {c.state for c in changes} == {"merged"}


def test_tabulates_own_tests_pass_with_the_new_ones(run: dict) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--color=no", "-o", "addopts="], cwd=run["repo"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "271 passed" in done.stdout  # 269 of the release + the 2 the agent added
    new = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=", "test/test_output.py", "-k", "dokuwiki"],
                         cwd=run["repo"], capture_output=True, text=True, timeout=300)
    assert "2 passed" in new.stdout, new.stdout[-2000:]


def test_the_documented_example_is_what_tabulate_prints(run: dict) -> None:
    code = ('from tabulate import tabulate; print(tabulate([["spam", 42], ["eggs", 451], '
            '["bacon", 0]], ["item", "qty"], tablefmt="dokuwiki"))')
    shown = subprocess.run([sys.executable, "-c", code], cwd=run["repo"], check=True,
                           capture_output=True, text=True).stdout
    assert shown.strip() == scenario.EXAMPLE
    assert scenario.EXAMPLE in (run["repo"] / "README.md").read_text()
    assert "`dokuwiki`" in (run["repo"] / "CHANGELOG").read_text()


def test_overmind_dir_holds_the_objectives_events(run: dict) -> None:
    (objective,) = records(run["repo"], "objective")
    assert objective.state == "done"
    assert objective.data.members == ["alice", "bob"]  # two prompts, one objective
    store = Store(default_db_path(run["repo"]))
    try:
        events = store.read_events(objective=objective.id, limit=10_000)
    finally:
        store.close()
    types = [e["type"] for e in events]
    for expected in ("objective-created", "scope-ready", "plan-ready", "run-complete"):
        assert types.count(expected) == 1, expected
    assert types.count("agent-spawned") == 2
    checks = [e["data"] for e in events if e["type"] == "verification"]
    assert len(checks) == 2 and all(c["ok"] for c in checks)
    merged = [e for e in events if e["type"] == "change-status"
              and e["data"]["state"] == "merged"]
    assert len(merged) == 2


def test_the_executed_notebook_is_written_with_widget_snapshots(run: dict) -> None:
    nb = json.loads((run["work"] / "quickstart.ipynb").read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    widgets = [o["data"] for o in outputs if WIDGET_VIEW in o.get("data", {})]
    assert widgets and all("text/html" in d and "text/plain" in d for d in widgets)
    assert any("dokuwiki-format" in "".join(d["text/plain"]) for d in widgets)  # ps --all
    assert "widgets" not in nb["metadata"]  # no saved state: nbconvert shows the snapshots


def test_nothing_is_left_behind_after_shutdown(run: dict) -> None:
    assert not left_behind(run["repo"], run["work"], Path(run["env"]["JUPYTER_RUNTIME_DIR"]))
