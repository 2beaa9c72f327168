"""The review widgets of ``%overmind diff ID`` and ``%overmind changes`` (IPython's test
shell, an engine embedded in this process, a real git repository): their snapshots, and
the diff as data through the comm bridge."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output
from test_widgets import Frontend, shown, widget_of

from overmind_jupyter.widgets.changes import ChangeList, DiffView, diffstat

pytestmark = pytest.mark.timeout(90)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e.x", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def change(magics) -> str:
    """A change of no objective in the project: ``calc.py`` edited, ``<b>.md`` added."""
    root = Path.cwd()
    git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(root, "add", "calc.py")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-q", "-b", "feat")
    (root / "calc.py").write_text("def add(a, b):\n    return a + b + 0\n")
    (root / "<b>.md").write_text("# \x1b[31mred\x1b[0m <script>\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "edit")
    git(root, "checkout", "-q", "main")
    magics.connect()
    base = git(root, "rev-parse", "main").strip()
    rec = magics.portal.call(lambda: magics.engine.changes_.create(
        "feed0002", objective=None, task="edit", title="edit add", branch="feat",
        base_commit=base, target="main", author="test", requested_by="host",
        workspace=None))
    return rec.id


def test_diff_shows_the_review_widget_with_a_diffstat_snapshot(magics, change):
    [shown_diff] = shown(magics, f"diff {change}")
    view = widget_of(shown_diff)
    assert isinstance(view, DiffView) and view.change == change and view.mode == "embedded"
    text = shown_diff["text/plain"]
    assert text.startswith(f"change {change} [open] edit add\nfeat → main\n")
    assert " calc.py |    2 +-" in text and "2 files changed, 2 insertions(+), 1 deletions(-)" \
        in text
    assert "+    return a + b + 0" in text and "\x1b" not in text  # escapes stripped
    assert "&lt;script&gt;" in shown_diff["text/html"] and "<script>" not in \
        shown_diff["text/html"]
    with capture_output() as one_file:  # one file: plain text, no widget
        magics.shell.run_line_magic("overmind", f"diff {change} --path calc.py")
    assert not one_file.outputs and "return a + b + 0" in one_file.stdout


def test_changes_shows_the_live_list_and_the_bridge_serves_its_diff(magics, change):
    [listing] = shown(magics, "changes")
    widget = widget_of(listing)
    assert isinstance(widget, ChangeList) and widget.objective == ""
    assert change in listing["text/plain"] and "open" in listing["text/plain"]
    front = Frontend(widget)
    front.say({"type": "call", "id": 1, "method": "request",
               "args": ["GET", f"changes/{change}/files", None]})
    files = {f["path"]: f for f in front.reply(1)["result"]["files"]}
    assert files["<b>.md"]["status"] == "added"
    assert files["calc.py"]["hunks"][0]["lines"][-1] == ["+", "    return a + b + 0"]


def test_diffstat_scales_bars_and_marks_binary_files():
    stat = [{"path": "a.py", "added": 80, "deleted": 0, "binary": False},
            {"path": "img.png", "added": 0, "deleted": 0, "binary": True}]
    text = diffstat(stat, width=20)
    assert " a.py    |   80 " + "+" * 20 + "\n" in text and "img.png |  Bin" in text
    assert diffstat([]) == " 0 files changed\n"
