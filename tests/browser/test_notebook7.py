"""Overmind in Notebook 7's UI (`/tree` and `/notebooks/…`, the same server as JupyterLab):
the sidebar opens from View › Left Sidebar, its views open below the page (Notebook 7
keeps the main area for the notebook or the file browser), and the widgets work in
cells."""

from __future__ import annotations

import re

import pytest
from jupyter_process import JupyterProcess, alive, wait_until
from lab_driver import TIMEOUT_MS, screenshot, write_notebook
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(240)


def row(scope, name: str):
    """The table row of mission ``name`` inside ``scope``."""
    return scope.locator("tr[data-mission-id]").filter(
        has=scope.page.locator('td[data-col="name"]', has_text=name))


def show_overmind(page: Page):
    """View › Left Sidebar › Show Overmind, as a user does; returns the panel."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^View$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Left Sidebar$")).click()
    page.locator(".lm-Menu-itemLabel", has_text="Show Overmind").click()
    panel = page.locator("#overmind-sidebar")
    expect(panel).to_be_visible(timeout=TIMEOUT_MS)
    return panel


def run_all_cells(page: Page, cells: int) -> None:
    """Run › Run All Cells once the kernel is idle; wait until the last cell has run."""
    idle = page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
    expect(idle).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1000)  # let the widget manager register its comm target
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
    prompts = page.locator(".jp-InputArea-prompt")
    expect(prompts.nth(cells - 1)).to_have_text(re.compile(r"\[\d+\]:"), timeout=60_000)
    expect(prompts.first).to_have_text("[1]:")  # every cell ran once


def test_the_sidebar_opens_from_the_view_menu_on_tree_and_shows_logs(
        lab: JupyterProcess, page: Page):
    mission = lab.api("POST", "missions", {"command": ["sh", "-c", "echo from-tree; sleep 300"],
                                           "name": "treenap"})
    lab.track(mission["pid"])
    page.goto(f"{lab.url}tree?token={lab.jupyter_token}")
    expect(page.locator(".jp-DirListing")).to_be_visible(timeout=TIMEOUT_MS)
    panel = show_overmind(page)
    nap = row(panel, "treenap")
    expect(nap).to_have_attribute("data-status", "running", timeout=TIMEOUT_MS)
    expect(panel.locator(".om-missions .om-pill")).to_have_attribute("data-state", "live")
    nap.get_by_role("button", name="actions for treenap").click()  # the row's menu
    panel.get_by_role("menuitem", name="Logs").click()
    logs = page.locator(".om-logs", has_text="logs of treenap")
    expect(logs.locator(".om-line").first).to_have_text("from-tree", timeout=TIMEOUT_MS)
    box = logs.bounding_box()
    assert box is not None and box["height"] > 150  # the down panel got room to show it
    screenshot(page, "notebook7-tree-sidebar-logs")
    lab.api("POST", "missions/treenap/stop", {"force": True})
    expect(nap).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)


def test_widgets_work_in_a_notebook_7_notebook(lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "nb7.ipynb", [
        "%load_ext overmind", "%overmind run --name nb7nap -- sleep 300", "%overmind ps"])
    page.goto(f"{lab.url}notebooks/nb7.ipynb?token={lab.jupyter_token}")
    run_all_cells(page, 3)
    widget = page.locator(".overmind-widget .om-missions")
    nap = row(widget, "nb7nap")
    expect(nap).to_have_attribute("data-status", "running", timeout=TIMEOUT_MS)
    first = lab.track(lab.missions()["nb7nap"]["pid"])

    nap.get_by_role("button", name="Restart nb7nap").click()
    expect(nap.locator('td[data-col="restarts"]')).to_have_text("1", timeout=TIMEOUT_MS)
    expect(nap).to_have_attribute("data-status", "running", timeout=TIMEOUT_MS)
    wait_until(lambda: not alive(first), what="the first run's process to end")
    lab.track(lab.missions()["nb7nap"]["pid"])
    panel = show_overmind(page)  # the sidebar beside the notebook, live from the same engine
    expect(row(panel, "nb7nap")).to_have_attribute("data-status", "running")
    screenshot(page, "notebook7-notebook-widget")

    nap.get_by_role("button", name="Stop nb7nap").click()
    expect(nap).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
    expect(row(panel, "nb7nap")).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
