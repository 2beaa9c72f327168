"""Widget outputs in a real JupyterLab, then the notebook saved: the views are live (their
comm opens outside the cell's request), ``%overmind host`` shows its invite in the live
panel only, and when the party changes behind the notebook the kernel rewrites both party
outputs: a new live view takes each one's place, the replaced views let go of their
event websockets, and the saved file holds the new snapshots and no secret."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jupyter_process import JupyterProcess, wait_until
from lab_driver import TIMEOUT_MS, command, open_notebook, screenshot, write_notebook
from playwright.sync_api import Page, WebSocket, expect

pytestmark = pytest.mark.timeout(180)


def event_sockets(page: Page) -> list[dict[str, Any]]:
    """The event websockets the page opens from now on: ``{"ws", "closed"}`` each."""
    found: list[dict[str, Any]] = []

    def opened(ws: WebSocket) -> None:
        if "/overmind/api/events" in ws.url:
            entry = {"ws": ws, "closed": False}
            ws.on("close", lambda _: entry.update(closed=True))
            found.append(entry)
    page.on("websocket", opened)
    return found


def pumped(page: Page, cond: Any) -> Any:
    """``cond`` for ``wait_until`` that first lets Playwright deliver the page's events
    (the sync API dispatches them only while it runs)."""
    return lambda: page.wait_for_timeout(50) or cond()


def saved_outputs(page: Page, lab: JupyterProcess, name: str) -> list[str]:
    """Save the notebook; the ``text/plain`` of each saved display output."""
    command(page, "docmanager:save")
    expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=TIMEOUT_MS)
    nb = json.loads((lab.root / name).read_text())
    return ["".join(o["data"]["text/plain"]) for c in nb["cells"] for o in c["outputs"]
            if "data" in o]


def test_a_changed_party_rewrites_its_outputs_and_the_saved_file_keeps_no_secret(
        lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "party.ipynb", [
        "%load_ext overmind", "%overmind host --name ada", "%overmind party"])
    sockets = event_sockets(page)
    open_notebook(page, lab, "party.ipynb")
    panels = page.locator(".overmind-widget .om-party")
    expect(panels).to_have_count(2, timeout=TIMEOUT_MS)  # live views of both outputs
    field = panels.first.locator("input.om-invite-string")
    expect(field).to_have_value(re.compile(r"^overmind\+http"), timeout=TIMEOUT_MS)
    invite = field.input_value()
    expect(panels.locator(".om-pill")).to_have_text(["live", "live"], timeout=TIMEOUT_MS)
    page.wait_for_timeout(100)  # deliver the socket events
    live = sum(not s["closed"] for s in sockets)  # the views' and the sidebar's

    lab.api("POST", "party/invites", {"role": "viewer"})  # the party changes
    wait_until(pumped(page, lambda: sum(s["closed"] for s in sockets) == 2), 30,
               what="both outputs rewritten and their replaced views closed")
    assert len(sockets) == live + 2  # a new view in each output, as live as the old one
    expect(panels).to_have_count(2)
    expect(panels.first.locator("input.om-invite-string")).to_have_value(invite)  # again
    expect(panels.last.locator("li.om-invite")).to_have_count(2)
    screenshot(page, "party-outputs-rewritten")

    host, party = saved_outputs(page, lab, "party.ipynb")
    assert host.startswith("invite ") and "its secret shows in the live panel only" in host
    for text in (host, party):
        assert re.search(r"viewer\s+active", text)  # the invite made after they were shown
    assert invite.split("#")[1] not in (lab.root / "party.ipynb").read_text()
