"""What an executed notebook keeps of the Overmind widgets: a notebook run headless by a
real kernel (nbclient, an engine embedded in the kernel, a scripted model), written to
disk, then read back as a file and as ``jupyter nbconvert --to html`` renders it.

- the saved snapshots are the final truth: the tree says what the summary says, and the
  party, changes and ps widgets shown before later cells changed their data say what those
  commands say at the end;
- nbconvert's HTML shows each widget's snapshot as visible text (no empty widget views);
- no invite secret is written into the notebook.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient

from overmind_jupyter.testing.repos import make_repo

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import log_task_scripts

pytestmark = pytest.mark.timeout(300)
VIEW = "application/vnd.jupyter.widget-view+json"
PARTY_URL = "http://127.0.0.1:9/"  # invites name it; nobody connects
SECRET = re.compile(r"overmind\+\S*#[\w-]+\.[\w-]{16,}")  # an invite string with its secret
CELLS = {
    "setup": "%load_ext overmind\n%config OvermindMagics.mode = 'embedded'",
    "host": "%overmind host --name ada",
    "party": "%overmind party",
    "changes": "%overmind changes",
    "ps": "%overmind run --name nap -- sleep 60\n%overmind ps --all",
    "questions": "%overmind questions",
    "prompt": "%%overmind prompt --wait\nlog every addition",
    "invite": "%overmind party invite --role viewer",
    "kill": "%overmind kill nap\n%overmind wait nap",
    "truth": ("%config OvermindMagics.widgets = 'off'\n%overmind party\n%overmind changes\n"
              "%overmind ps --all"),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook of ``CELLS`` executed in a fresh git project and written to disk."""
    work = tmp_path_factory.mktemp("saved")
    root = make_repo(work / "project", {"calc.py": "def add(a, b):\n    return a + b\n"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    env.update(JUPYTER_RUNTIME_DIR=str(work / "runtime"), IPYTHONDIR=str(work / "ipython"),
               OVERMIND_MODEL=f"scripted:{log_task_scripts(work / 'scripts')}",
               OVERMIND_PARTY_URL=PARTY_URL)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, metadata={
        "tags": [name]}) for name, source in CELLS.items()])
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(root)}},
                   extra_arguments=["--IPKernelApp.log_level=ERROR"]).execute(env=env)
    path = work / "saved.ipynb"
    nbformat.write(nb, path)
    return path


def outputs(nb: Any, name: str) -> list[Any]:
    """The outputs of the cell tagged ``name``."""
    return next(c.outputs for c in nb.cells if name in c.metadata.get("tags", []))


def widget(nb: Any, name: str) -> dict[str, Any]:
    """The saved mimebundle of the (single) widget the cell ``name`` displayed."""
    [data] = [o.data for o in outputs(nb, name) if VIEW in o.get("data", {})]
    return data


def printed(nb: Any, name: str) -> str:
    """What the cell ``name`` printed (its stream outputs and plain-text displays)."""
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                   for o in outputs(nb, name) if VIEW not in o.get("data", {}))


def test_the_saved_snapshots_say_what_the_commands_say_at_the_end(saved):
    nb = nbformat.read(saved, as_version=4)
    assert not [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    tree = widget(nb, "prompt")["text/plain"]
    summary = printed(nb, "prompt")
    oid = summary.split()[1]
    assert summary.startswith(f"objective {oid} done")
    assert tree.startswith(f"objective {oid} done: Log\n")  # was: planning
    [spent] = re.findall(r"tokens (\d+)", summary)
    assert tree.rstrip().endswith(f"tokens {spent}")
    truth = printed(nb, "truth")
    [change] = re.findall(r"^(\w+) .*log: change add\(\)", truth, re.M)
    assert change in widget(nb, "changes")["text/plain"]  # shown before the objective ran
    assert re.search(r"^\S+\s+nap\s+command\s+stopped \(sig 9\)", widget(nb, "ps")["text/plain"],
                     re.M)  # was: running
    party = widget(nb, "party")["text/plain"]  # shown before `party invite` made a second
    invites = party.split("invites:\n")[1]
    assert len(invites.strip().splitlines()) == 3  # header + ada's + the viewer's invite
    assert "viewer" in invites


def test_nbconvert_html_shows_every_widget_snapshot_as_visible_text(saved, tmp_path):
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--output-dir",
                    str(tmp_path), str(saved)], check=True, capture_output=True, timeout=120)
    page = BeautifulSoup((tmp_path / "saved.html").read_text(), "html.parser")
    assert not page.select(f'script[type="{VIEW}"]')  # no view that renders as nothing
    for tag in page(["script", "style"]):
        tag.decompose()
    for hidden in page.select("[hidden], [style*='display:none'], [style*='display: none']"):
        hidden.decompose()
    visible = " ".join(page.get_text(" ").split())
    nb = nbformat.read(saved, as_version=4)
    for name in ("host", "party", "changes", "ps", "questions", "prompt", "invite"):
        first = widget(nb, name)["text/plain"].splitlines()[0]
        assert " ".join(first.split()) in visible, (name, first)


def test_no_invite_secret_is_written_into_the_notebook(saved):
    text = saved.read_text()
    assert not SECRET.findall(text)
    nb = nbformat.read(saved, as_version=4)
    for name, role in (("host", "collaborator"), ("invite", "viewer")):
        snapshot = widget(nb, name)["text/plain"]
        assert f"({role}, valid 1d)" in snapshot and "live panel only" in snapshot
