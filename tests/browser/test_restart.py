"""The Jupyter server restarts mid-run: the views say "disconnected", then recover on
their own and stay live (their own JupyterLab: this module stops it)."""

from __future__ import annotations

from urllib.parse import urlsplit

import jupyter_process
import pytest
from jupyter_process import JupyterProcess, alive
from lab_driver import (
    TIMEOUT_MS,
    open_notebook,
    open_sidebar,
    screenshot,
    start_lab,
    write_notebook,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(240)


def test_views_show_disconnected_and_recover_after_a_server_restart(
        lab: JupyterProcess, page: Page, monkeypatch: pytest.MonkeyPatch):
    write_notebook(lab.root, "restart.ipynb", [
        "%load_ext overmind", "%overmind run --name survivor -- sleep 300", "%overmind ps"])
    open_notebook(page, lab, "restart.ipynb")
    pid = lab.track(lab.missions()["survivor"]["pid"])
    widget = page.locator(".overmind-widget .om-missions")
    sidebar = open_sidebar(page)
    pills = [widget.locator(".om-pill"), sidebar.locator(".om-missions .om-pill")]
    for pill in pills:
        expect(pill).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)

    lab.stop()  # missions survive (stop_missions_on_exit=False) and are re-adopted
    for pill in pills:
        expect(pill).to_have_attribute("data-state", "disconnected", timeout=TIMEOUT_MS)
    expect(pills[0]).to_have_text("disconnected — reconnecting")
    screenshot(page, "restart-disconnected")
    assert alive(pid)

    port = urlsplit(lab.url).port  # the page stays on the same address
    monkeypatch.setattr(jupyter_process, "free_port", lambda: port)
    again = start_lab(lab.root, lab.home, token=lab.jupyter_token)
    try:
        for pill in pills:
            expect(pill).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
        assert again.missions()["survivor"]["status"] == "running"  # re-adopted
        again.api("POST", "missions/survivor/stop", {"force": True})
        row = widget.locator("tr[data-mission-id]", has_text="survivor")
        expect(row).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
        expect(sidebar.locator("tr[data-mission-id]", has_text="survivor")).to_have_attribute(
            "data-status", "killed", timeout=TIMEOUT_MS)
        screenshot(page, "restart-recovered")
        assert not alive(pid)
    finally:
        again.api("POST", "shutdown", {}, timeout=60)
        assert again.reap() == []
