"""The execution tree in a real JupyterLab: ``%%overmind prompt`` with a scripted model
fills the tree in live (objective, plan, task, agent, tool calls, change) until it is done;
its change's "diff" opens the diff under the tree in the widget. The sidebar's Objectives
section opens the same tree in the main area, where "diff" opens that change's review tab
(``overmind:open-change`` with its id); after a page reload the replayed tree is the same."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_process import JupyterProcess
from lab_driver import (
    TIMEOUT_MS,
    check_built,
    lab_home,
    open_notebook,
    open_sidebar,
    screenshot,
    write_notebook,
)
from playwright.sync_api import Locator, Page, expect

from overmind_jupyter.testing.scripts import say, tool

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import log_task_scripts

pytestmark = pytest.mark.timeout(240)
NEW = "    print('adding')\n    return a + b\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    """JupyterLab on a git project whose engine plans one task "log" (scripted model)."""
    check_built()
    base = tmp_path_factory.mktemp("tree")
    root = base / "root"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    for args in (["init", "-q", "-b", "main"], ["add", "calc.py"],
                 ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "i"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    scripts = log_task_scripts(base / "scripts", [
        tool("read_file", path="calc.py"),
        tool("edit_file", path="calc.py", old_text="    return a + b\n", new_text=NEW),
        say("Added a print.")])
    server = JupyterProcess(root, base / "home", env=lab_home(base / "home"), args=(
        "--ServerApp.base_url=/a@b/", "--LabApp.expose_app_in_browser=True",
        f"--Overmind.model=scripted:{scripts}", "--Overmind.stop_missions_on_exit=False",
        "--Overmind.auto_merge=True"))  # changes land at once: this test follows a merge
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.track_tree()
        server.api("POST", "shutdown", {}, timeout=60)
    assert server.reap() == [], "processes survived the server"


def outline(tree: Locator) -> list[str]:
    """Each tree row's node kind, state and text (what a user reads; buttons aside), in
    order."""
    return tree.locator("li[data-node]").evaluate_all("""items => items.map(li => {
      const row = (li.querySelector(':scope > .om-tree-row') || li).cloneNode(true);
      row.querySelectorAll('button').forEach(b => b.remove());
      return [li.dataset.node, li.dataset.state || li.dataset.status || '', row.textContent]
        .join(' | ');
    })""")


def check_done(tree: Locator) -> None:
    objective = tree.locator('li[data-node="objective"]')
    expect(objective).to_have_attribute("data-state", "done", timeout=60_000)
    expect(tree.locator(".om-tree-title")).to_have_text("Log")
    task = tree.locator('li[data-node="task"]')
    expect(task).to_have_attribute("data-state", "done")
    expect(task.locator(".om-tree-name").first).to_have_text("task log")
    tools = tree.locator('li[data-node="tool"]')
    expect(tools).to_have_count(2)
    expect(tools.nth(0)).to_have_attribute("data-status", "completed")
    expect(tools.nth(0).locator(".om-tree-name")).to_have_text("read_file calc.py")
    expect(tools.nth(1).locator(".om-tree-preview")).to_have_text("edited calc.py")
    expect(tree.locator('li[data-node="message"]')).to_contain_text("Added a print.")
    expect(tree.locator('li[data-node="agent"] .om-tree-meta').first).to_contain_text(
        "2 tool calls")
    expect(tree.locator('li[data-node="change"]')).to_have_attribute("data-state", "merged")
    expect(tree.locator('li[data-node="scope"]')).to_have_text("scope: calc.py (low)")


def check_diff(diff: Locator) -> None:
    """``diff`` shows the change of the scripted task: the print added to calc.py."""
    calc = diff.locator('.om-diff-file[data-path="calc.py"]')
    expect(calc).to_be_visible(timeout=TIMEOUT_MS)
    expect(calc.locator('td.om-diff-code[data-kind="+"]')).to_have_text(
        ["+    print('adding')"])


def test_prompt_fills_the_tree_live_and_a_reload_replays_the_same_tree(
        lab: JupyterProcess, page: Page):
    # The kernel starts with a first opening: under load the page's first kernel websocket
    # can race the kernel's start (jupyter_server answers 500, the page reconnects) and
    # then no widget of that page ever loads; a second opening finds the kernel running.
    write_notebook(lab.root, "prompt.ipynb", ["%load_ext overmind"])
    open_notebook(page, lab, "prompt.ipynb")
    write_notebook(lab.root, "prompt.ipynb", [
        "%load_ext overmind", "%%overmind prompt\nlog every addition"])
    open_notebook(page, lab, "prompt.ipynb")
    tree = page.locator(".overmind-widget .om-tree-view")
    expect(tree.locator('li[data-node="objective"]')).to_be_visible(timeout=TIMEOUT_MS)
    check_done(tree)
    expect(tree.locator(".om-pill")).to_have_attribute("data-state", "live")
    first = tree.locator('li[data-node="tool"]').first
    first.get_by_role("button", name="result of read_file calc.py").click()
    expect(first.locator(".om-tree-detail pre").last).to_have_text(
        "def add(a, b):\n    return a + b\n")
    screenshot(page, "tree-widget-done")
    in_widget = outline(tree)
    change = tree.locator('li[data-node="change"]').get_attribute("data-change-id")
    tree.get_by_role("button", name=f"diff of change {change}").click()
    diff = page.locator(f'.overmind-widget .om-diff[data-change="{change}"]')
    check_diff(diff)
    screenshot(page, "tree-widget-diff")

    sidebar = open_sidebar(page)
    row = sidebar.locator(".om-objective-row")
    expect(row).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("1/1 tasks")
    row.click()
    main = page.locator('[id^="overmind-tree-"] .om-tree-view')
    check_done(main)
    screenshot(page, "tree-main-area")
    main.get_by_role("button", name=f"diff of change {change}").click()
    check_diff(page.locator(f'.om-change-review[data-change-id="{change}"] .om-diff'))

    page.reload()
    row = open_sidebar(page).locator(".om-objective-row")
    row.focus()
    page.keyboard.press("Enter")  # keyboard reachable
    main = page.locator('[id^="overmind-tree-"] .om-tree-view')
    check_done(main)
    expected = [line for line in in_widget if not line.startswith("tool ")]
    replayed = [line for line in outline(main) if not line.startswith("tool ")]
    assert replayed == expected  # the tool rows differ only by the opened result above
    assert len(outline(main)) == len(in_widget)
