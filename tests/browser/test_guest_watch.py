"""A collaborator watches its prompt run, in its own JupyterLab: server A hosts the party
(scripted model: one task "log"), server B is alice's JupyterLab, whose engine joined A.
Alice's prompt becomes an objective on A; B's sidebar shows it live — its task, its
agent's tool call and its end — with the same tree as the host's, through the party link
(issue 17's "collaborators watch"). Two real servers, a real ACP agent, Chromium."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_process import JupyterProcess
from lab_driver import TIMEOUT_MS, open_sidebar, screenshot, start_lab
from playwright.sync_api import Page, expect

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import host_and_guest

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterProcess, ...]]:
    with host_and_guest(tmp_path_factory.mktemp("guest-watch"), start_lab) as both:
        yield both


def open_lab(page: Page, lab: JupyterProcess) -> None:
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=60_000)


def test_a_guest_sees_its_prompts_objective_run_live_in_its_own_sidebar(
        servers: tuple[JupyterProcess, ...], page: Page) -> None:
    a, b = servers
    hosted = a.api("POST", "party", {"name": "ann", "auto_approve": ["alice"],
                                     "auto_approve_prompts": True})
    b.api("POST", "party/join", {"invite": hosted["invite"], "name": "alice"})
    open_lab(page, b)
    sidebar = open_sidebar(page)
    b.api("POST", "party/prompts", {"text": "log every addition", "member": "alice"})
    row = sidebar.locator(".om-objective-row")
    expect(row).to_have_attribute("data-state", "done", timeout=60_000)
    expect(row).to_contain_text("Log")
    expect(row).to_contain_text("1/1 tasks")
    row.click()
    tree = page.locator('[id^="overmind-tree-"] .om-tree-view')
    expect(tree.locator('li[data-node="objective"]')).to_have_attribute(
        "data-state", "done", timeout=TIMEOUT_MS)
    task = tree.locator('li[data-node="task"]')
    expect(task).to_have_attribute("data-state", "done")
    expect(task.locator(".om-tree-name").first).to_have_text("task log")
    tool = tree.locator('li[data-node="tool"]')
    expect(tool).to_have_count(1)
    expect(tool.first).to_have_attribute("data-status", "completed")
    change = tree.locator('li[data-node="change"]')  # held for review on the host
    expect(change).to_have_count(1)
    expect(change.locator(".om-tree-state").first).to_have_text("open")
    # read-only here: its diff and the objective's cancel live on the host (was: a "diff"
    # button answering 404 from this server)
    expect(change.get_by_role("button")).to_have_count(0)
    expect(tree.get_by_role("button", name="Cancel")).to_have_count(0)
    screenshot(page, "guest-watch-tree")
    open_lab(page, b)  # a new page: B's objectives list names the followed one, replayed
    row = open_sidebar(page).locator(".om-objective-row")
    expect(row).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("1/1 tasks")
