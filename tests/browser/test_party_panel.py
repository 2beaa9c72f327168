"""The party in a real JupyterLab: hosting from the palette, invites, a guest joining (this
same engine joins its own party as bob through the Join party… command, a real guest
link), its prompts in the queue, approve / reorder / role / kick from the panel, New
prompt… as the host; and guest mode (a 403 ``party-member`` answer, faked with Playwright
routes since the real path runs under JupyterHub in tests/hub)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from jupyter_process import JupyterProcess, wait_until
from lab_driver import TIMEOUT_MS, open_sidebar, screenshot, start_lab
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, expect

from overmind_jupyter.testing.repos import make_repo

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    """JupyterLab whose engine has a (scripted) model, so prompts become objectives. The
    script directory is empty: the story agent fails and each prompt becomes its own
    objective titled by its first line (``objectives.py``); planning then stops."""
    base = tmp_path_factory.mktemp("party")
    scripts, config = base / "scripts", base / "home" / "config"  # JUPYTER_CONFIG_DIR
    for folder in (scripts, config):
        folder.mkdir(parents=True)
    make_repo(base / "root", {"README.md": "a project\n"})  # objectives need a commit
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"Overmind": {"model": f"scripted:{scripts}"}}))
    server = start_lab(base / "root", base / "home")
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.track_tree()
        server.api("POST", "shutdown", {}, timeout=60)
    assert server.reap() == [], "processes survived the server"


def open_lab(page: Page, lab: JupyterProcess) -> None:
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=60_000)


def palette(page: Page, label: str) -> None:
    """Run a command that opens a dialog from JupyterLab's command palette by its label.
    The modal palette can close again while the page settles (a panel re-render takes
    the focus): then the Enter reaches nothing, and the palette is opened again."""
    search = page.locator(".lm-CommandPalette-input")
    dialog = page.locator(".jp-Dialog")
    for _ in range(4):
        if not search.is_visible():
            page.keyboard.press("Control+Shift+C")
        try:
            search.fill(label, timeout=3000)
            expect(page.locator(".lm-CommandPalette-item.lm-mod-active")).to_contain_text(
                label, timeout=3000)
            search.press("Enter", timeout=3000)  # the palette re-renders often: no click
            expect(dialog).to_be_visible(timeout=5000)
            return
        except (PlaywrightError, AssertionError):
            page.wait_for_timeout(500)
    expect(dialog).to_be_visible(timeout=TIMEOUT_MS)


def fill_dialog(page: Page, values: dict[str, str]) -> None:
    """Fill the fields of the open Overmind form dialog by name and accept it."""
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
    for name, value in values.items():
        dialog.locator(f'[name="{name}"]').fill(value)
    dialog.locator(".jp-mod-accept").click()
    expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)


def member(section, name: str):
    return section.locator("li.om-member").filter(
        has=section.page.locator(".om-member-name", has_text=name))


def queue_texts(section) -> list[str]:
    return section.locator("ol.om-queue .om-prompt-text").all_text_contents()


def test_host_invite_join_queue_and_kick_from_the_panel(lab: JupyterProcess, page: Page):
    open_lab(page, lab)
    section = open_sidebar(page).locator(".om-party-section")
    expect(section.get_by_role("button", name="Host a party…")).to_be_visible(
        timeout=TIMEOUT_MS)
    palette(page, "Overmind: Host party")
    fill_dialog(page, {"name": "ada"})
    reveal = section.locator(".om-invite-reveal")
    expect(reveal).to_contain_text("shown only now", timeout=TIMEOUT_MS)
    invite = section.locator("input.om-invite-string").input_value()
    assert invite.startswith("overmind+http://127.0.0.1:") and "/a@b/#" in invite
    expect(section.locator(".om-party-name").first).to_have_text("ada's party")
    expect(member(section, "ada")).to_have_attribute("data-role", "host")

    section.get_by_role("button", name="create an invite").click()
    expect(section.locator("input.om-invite-string")).not_to_have_value(invite)
    invites = section.locator("li.om-invite")
    expect(invites).to_have_count(2)
    invites.last.get_by_role("button").click()  # revoke the unused one
    expect(invites).to_have_count(1)

    palette(page, "Overmind: Join party…")
    fill_dialog(page, {"invite": invite, "name": "bob"})
    bob = member(section, "bob")
    expect(bob).to_have_attribute("data-state", "pending", timeout=TIMEOUT_MS)
    bob.get_by_role("button", name="Approve bob").click()
    expect(bob).to_have_attribute("data-presence", "present", timeout=TIMEOUT_MS)
    expect(section.locator("li.om-joined-party")).to_contain_text("as bob",
                                                                   timeout=TIMEOUT_MS)

    first, second = (lab.api("POST", "party/prompts", {"text": t, "member": "bob"})
                     for t in ("add a --version flag", "document the CLI"))
    wait_until(lambda: queue_texts(section) == ["add a --version flag", "document the CLI"],
               what="both prompts in the queue")
    section.locator(f'li[data-prompt-id="{second["id"]}"]').get_by_role(
        "button", name="move up prompt from bob").click()
    wait_until(lambda: queue_texts(section) == ["document the CLI", "add a --version flag"],
               what="the reordered queue")
    section.locator(f'li[data-prompt-id="{first["id"]}"]').get_by_role(
        "button", name="approve prompt from bob").click()
    wait_until(lambda: queue_texts(section) == ["document the CLI"], what="approved leaves")
    expect(section.locator(f'ul.om-prompts li[data-prompt-id="{first["id"]}"]')).to_be_visible()
    screenshot(page, "party-host")

    bob.get_by_label("role of bob").select_option("viewer")
    expect(bob).to_have_attribute("data-role", "viewer", timeout=TIMEOUT_MS)
    bob.get_by_role("button", name="Kick bob").click()
    expect(bob).to_have_attribute("data-state", "kicked", timeout=TIMEOUT_MS)
    expect(bob).to_have_attribute("data-presence", "gone")
    hosted = lab.api("GET", "party")["hosting"]
    assert {m["name"]: m["state"] for m in hosted["members"]} == {"ada": "approved",
                                                                   "bob": "kicked"}

    palette(page, "Overmind: New prompt…")
    fill_dialog(page, {"text": "speed up the parser\nit is slow on big files"})
    wait_until(lambda: any(o["title"] == "speed up the parser"
                           for o in lab.api("GET", "objectives")["objectives"]),
               timeout=60, what="the host's prompt to become an objective")

    # planning cannot go on (no scripted plan): both objectives fail (answering `stop`
    # to a planning question where one is asked), and the page says so: a red toast,
    # and bob's prompt reads failed, not done
    for title in ("speed up the parser", "add a --version flag"):
        end_objective(lab, title)
    started = page.locator(".Toastify__toast", has_text="started: speed up the parser")
    expect(started).to_have_class(re.compile(r"Toastify__toast--info"))  # not a success
    toast = page.locator(".Toastify__toast", has_text="objective speed up the parser failed")
    expect(toast).to_have_class(re.compile(r"Toastify__toast--error"), timeout=TIMEOUT_MS)
    done = section.locator(f'ul.om-prompts li[data-prompt-id="{first["id"]}"] .om-status')
    expect(done).to_have_text("failed", timeout=TIMEOUT_MS)
    expect(done).to_have_attribute("data-status", "failed")


def end_objective(lab: JupyterProcess, title: str) -> None:
    """Until the objective titled ``title`` has ended, answering ``stop`` to its question."""
    objectives = lab.api("GET", "objectives")["objectives"]
    oid = next(o["id"] for o in objectives if o["title"] == title)

    def ended() -> bool:
        for q in lab.api("GET", "questions")["questions"]:
            if q.get("objective") == oid:
                lab.api("POST", f"questions/{q['id']}/answer", {"text": "stop"})
        state = lab.api("GET", f"objectives/{oid}")["state"]
        return state in ("done", "failed", "cancelled")
    wait_until(ended, timeout=60, what=f"objective {title} to end")


def pump_until(page: Page, check, what: str, timeout_s: float = 20) -> None:
    """Wait for ``check()`` while Playwright runs (route handlers only run inside
    Playwright calls, so a plain sleep would starve them)."""
    for _ in range(int(timeout_s * 4)):
        if check():
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


MEMBER_VIEW = {
    "party": {"id": "pty-1", "name": "ada's party", "state": "open"},
    "me": {"id": "mbr-2", "name": "bob", "role": "collaborator", "state": "approved"},
    "members": [{"id": "mbr-1", "name": "ada", "role": "host", "state": "approved"},
                {"id": "mbr-2", "name": "bob", "role": "collaborator", "state": "approved"}],
    "queue": [],
    "prompts": [
        {"id": "prm-1", "member": "mbr-2", "name": "bob", "state": "approved",
         "text": "my own <b>prompt</b>", "position": 1, "visibility": "private"},
        {"id": "prm-2", "member": "mbr-3", "name": "cy", "state": "queued", "position": 2,
         "visibility": "private"}],
}


def test_a_party_member_sees_the_member_view_and_prompts_through_party_me(
        lab: JupyterProcess, page: Page):
    calls: dict[str, list] = {"status": [], "me": [], "posted": []}

    def status(route: Route) -> None:
        calls["status"].append(1)
        route.fulfill(status=403, content_type="application/json", body=json.dumps({
            "message": "this is ada's Overmind; you (bob) take part as a party member",
            "reason": "party-member"}))

    def me(route: Route) -> None:
        calls["me"].append(1)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(MEMBER_VIEW))

    def prompts(route: Route) -> None:
        calls["posted"].append(route.request.post_data_json)
        route.fulfill(status=201, content_type="application/json", body=json.dumps(
            {"id": "prm-3", "member": "mbr-2", "name": "bob", "state": "queued",
             "text": "x", "position": 3}))

    for path, handler in (("status", status), ("party/me", me), ("party/me/prompts", prompts)):
        # JupyterLab's requests may carry a cache-busting query
        page.route(re.compile(rf".*/overmind/api/{path}(\?.*)?$"), handler)
    open_lab(page, lab)
    sidebar = open_sidebar(page)
    expect(sidebar).to_have_class(re.compile(r"\bom-member-mode\b"), timeout=TIMEOUT_MS)
    section = sidebar.locator(".om-party-section")
    expect(section.locator(".om-member-note")).to_have_text(
        "you are a collaborator in ada's party")
    expect(sidebar.locator(".om-missions")).to_be_hidden()
    expect(sidebar.locator(".om-inbox")).to_be_hidden()
    mine = section.locator('li[data-prompt-id="prm-1"]')
    expect(mine).to_contain_text("my own <b>prompt</b>")  # text, never markup
    assert mine.locator("b").count() == 0
    other = section.locator('li[data-prompt-id="prm-2"]')
    expect(other).to_contain_text("queued")
    assert other.locator(".om-prompt-text").count() == 0
    pump_until(page, lambda: len(calls["me"]) >= 2, "the member view to be polled")
    assert len(calls["status"]) == 1  # no retry loop against the host routes
    screenshot(page, "party-member")

    palette(page, "Overmind: New prompt…")
    text = page.locator('.jp-Dialog textarea[name="text"]')
    text.fill("please add tests")
    text.press("Control+Enter")  # Enter alone adds a line
    expect(page.locator(".jp-Dialog")).to_be_hidden(timeout=TIMEOUT_MS)
    pump_until(page, lambda: calls["posted"] == [{"text": "please add tests"}],
               "the prompt posted to party/me/prompts")
