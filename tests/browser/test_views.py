"""Mission table and sidebar in a real JupyterLab: live status, stop from the widget,
followed logs, reload; one JupyterLab for the module."""

from __future__ import annotations

import pytest
from jupyter_process import JupyterProcess, alive, wait_until
from lab_driver import TIMEOUT_MS, open_notebook, open_sidebar, screenshot, write_notebook
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(180)


def row(scope, name: str):
    """The table row of mission ``name`` inside ``scope``."""
    return scope.locator("tr[data-mission-id]").filter(
        has=scope.page.locator('td[data-col="name"]', has_text=name))


def test_a_mission_shows_in_the_widget_and_sidebar_and_stops_from_the_widget(
        lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "missions.ipynb", [
        "%load_ext overmind", "%overmind run --name napper -- sleep 300", "%overmind ps"])
    open_notebook(page, lab, "missions.ipynb")
    widget = page.locator(".overmind-widget .om-missions")
    napper = row(widget, "napper")
    expect(napper.locator('td[data-col="status"]')).to_have_text("running", timeout=TIMEOUT_MS)
    expect(widget.locator(".om-pill")).to_have_attribute("data-state", "live")
    sidebar = open_sidebar(page)
    in_sidebar = row(sidebar, "napper")
    expect(in_sidebar.locator('td[data-col="status"]')).to_have_text("running")
    pid = lab.track(lab.missions()["napper"]["pid"])
    screenshot(page, "missions-running")

    napper.get_by_role("button", name="Stop napper").click()
    expect(napper).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
    expect(napper.locator('td[data-col="status"]')).to_contain_text("killed")
    expect(in_sidebar).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
    expect(napper.get_by_role("button", name="Stop napper")).to_be_disabled()
    wait_until(lambda: not alive(pid), what="the mission's process to end")
    screenshot(page, "missions-stopped")
