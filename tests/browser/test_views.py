"""The widgets and the sidebar in a real JupyterLab (one for the module): live mission
status, stop and restart from the widget, CPU/memory, followed logs, the questions inbox,
a page reload (missions and open questions stay)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from jupyter_process import JupyterProcess, alive, wait_until
from lab_driver import (
    SIDEBAR_TAB,
    TIMEOUT_MS,
    command,
    open_notebook,
    open_sidebar,
    screenshot,
    write_notebook,
)
from playwright.sync_api import Locator, Page, expect
from test_sidebar_prompt import theme, worst

pytestmark = pytest.mark.timeout(180)


def row(scope, name: str):
    """The table row of mission ``name`` inside ``scope``."""
    return scope.locator("tr[data-mission-id]").filter(
        has=scope.page.locator('td[data-col="name"]', has_text=name))


# a row's buttons that are not wholly inside the output area that shows them (px beyond)
CLIPPED = """tr => { let box = tr.closest('.jp-OutputArea-output') || document.body;
  const edge = box.getBoundingClientRect().right;
  return [...tr.querySelectorAll('button')].map(b => [b.textContent,
    Math.round(b.getBoundingClientRect().right - edge)]).filter(([, over]) => over > 0); }"""


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
    expect(napper.locator('td[data-col="status"]')).to_contain_text("stopped")
    expect(in_sidebar).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
    expect(napper.get_by_role("button", name="Stop napper")).to_be_disabled()
    wait_until(lambda: not alive(pid), what="the mission's process to end")
    screenshot(page, "missions-stopped")


SPINNER = ("python3 -c 'import itertools; b = bytearray(48 << 20); "
           "print(\"spinning\", flush=True); any(itertools.repeat(0))'")  # one busy core


def test_restart_from_the_widget_and_live_cpu_memory_from_one_request(
        lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "restart-row.ipynb", [
        "%load_ext overmind", f"%overmind run --name spinner -- {SPINNER}", "%overmind ps"])
    open_notebook(page, lab, "restart-row.ipynb")
    first = lab.track(lab.missions()["spinner"]["pid"])
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/overmind/api/missions" in r.url
            else None)
    widget = page.locator(".overmind-widget .om-missions")
    spinner = row(widget, "spinner")
    expect(spinner.locator('td[data-col="memory"]')).to_have_text(
        re.compile(r"^(4[89]|[5-9]\d|\d{3})\.\d MiB$"), timeout=TIMEOUT_MS)  # its 48 MiB
    expect(spinner.locator('td[data-col="cpu"]')).to_have_text(re.compile(r"^[1-9]\d* %$"),
                                                               timeout=TIMEOUT_MS)
    expect(spinner.locator('td[data-col="activity"]')).to_have_text("spinning")
    assert calls and all(u.endswith("missions?stats=1") for u in calls), calls  # batched
    screenshot(page, "missions-cpu-memory")

    spinner.get_by_role("button", name="Restart spinner").click()
    expect(spinner.locator('td[data-col="restarts"]')).to_have_text("1", timeout=TIMEOUT_MS)
    expect(spinner).to_have_attribute("data-status", "running", timeout=TIMEOUT_MS)
    wait_until(lambda: not alive(first), what="the first run's process to end")
    again = lab.track(lab.missions()["spinner"]["pid"])
    assert again != first and alive(again)
    sidebar = open_sidebar(page)
    row(sidebar, "spinner").get_by_role("button", name="actions for spinner").click()
    expect(sidebar.get_by_role("menuitem", name="Restart")).to_be_enabled()  # its row menu
    page.keyboard.press("Escape")
    screenshot(page, "missions-restarted")
    spinner.get_by_role("button", name="Kill spinner").click()
    expect(spinner).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
    expect(spinner.get_by_role("button", name="Restart spinner")).to_be_disabled()


CHATTY = ("sh -c 'i=0; while true; do i=$((i+1)); "
          "printf \"\\033[31mred\\033[0m line %s <b>bold?</b>\\n\" $i; sleep 0.1; done'")


def test_logs_follow_a_chatty_mission_with_colours_search_and_pause(
        lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "logs.ipynb", [
        "%load_ext overmind", f"%overmind run --name chatty -- {CHATTY}",
        "%overmind logs chatty -f"])
    open_notebook(page, lab, "logs.ipynb")
    lab.track(lab.missions()["chatty"]["pid"])
    view = page.locator(".overmind-widget .om-logs")
    lines = view.locator(".om-line")
    expect(lines.nth(20)).to_be_visible(timeout=TIMEOUT_MS)  # it keeps following
    first = lines.first
    expect(first).to_contain_text("red line")
    expect(first.locator("span.om-fg-1")).to_have_text("red")  # ANSI red, escapes gone
    expect(first).to_contain_text("<b>bold?</b>")  # agent/mission text stays text
    assert view.locator(".om-log b").count() == 0
    assert "\x1b" not in (view.locator(".om-log").text_content() or "")

    view.get_by_role("button", name="Pause").click()
    paused_at = lines.count()
    page.wait_for_timeout(600)
    assert lines.count() == paused_at  # nothing added while paused
    view.get_by_role("button", name="Resume").click()
    expect(lines.nth(paused_at + 3)).to_be_attached(timeout=TIMEOUT_MS)

    view.get_by_role("searchbox").fill("line 7")
    expect(view.locator(".om-count")).to_contain_text("of")
    visible = view.locator(".om-line:not([hidden])")
    expect(visible.first).to_contain_text("line 7")
    screenshot(page, "logs-follow")
    lab.api("POST", "missions/chatty/stop", {"force": True})
    expect(view.locator(".om-log-state")).to_have_text("mission killed", timeout=TIMEOUT_MS)


def test_reloading_the_page_shows_the_same_state(lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "reload.ipynb", [
        "%load_ext overmind", "%overmind run --name keeper -- sleep 300",
        "%overmind run --name goner -- sleep 300", "%overmind ps --all",
        "%overmind questions"])
    open_notebook(page, lab, "reload.ipynb")
    for name in ("keeper", "goner"):
        lab.track(lab.missions()[name]["pid"])
    waiter = lab.api("POST", "missions", {  # the scripted agent asks, and waits for an answer
        "command": ["ask", "make", "deploy"], "kind": "agent", "agent": "fake",
        "name": "waiter"})
    lab.track(waiter["pid"])
    inbox = page.locator(".overmind-widget .om-inbox")
    expect(inbox.locator(".om-question")).to_contain_text("make deploy", timeout=TIMEOUT_MS)
    widget = page.locator(".overmind-widget .om-missions")
    row(widget, "goner").get_by_role("button", name="Kill goner").click()
    expect(row(widget, "goner")).to_have_attribute("data-status", "killed",
                                                   timeout=TIMEOUT_MS)
    command(page, "docmanager:save")
    expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=TIMEOUT_MS)

    page.reload()
    widget = page.locator(".overmind-widget .om-missions")  # restored from the kernel
    expect(row(widget, "keeper")).to_have_attribute("data-status", "running",
                                                    timeout=TIMEOUT_MS)
    expect(row(widget, "goner")).to_have_attribute("data-status", "killed")
    inbox = page.locator(".overmind-widget .om-inbox")  # the open question is still asked
    expect(inbox.locator(".om-question")).to_contain_text("make deploy", timeout=TIMEOUT_MS)
    expect(page.locator(SIDEBAR_TAB)).to_have_attribute("data-count", "1")
    sidebar = open_sidebar(page)
    expect(row(sidebar, "keeper")).to_have_attribute("data-status", "running")
    expect(row(sidebar, "goner")).to_have_count(0)  # ended before the page loaded
    expect(sidebar.locator(".om-question")).to_contain_text("make deploy")
    screenshot(page, "reloaded")
    inbox.locator(".om-question").get_by_role("button", name="deny").click()
    assert lab.api("POST", "missions/waiter/wait", {"timeout_s": 30})["status"] == "exited"


# the question count on the sidebar's tab: its badge's box and the tab's (px)
BADGE = """tab => { const b = getComputedStyle(tab, '::after');
  const r = tab.getBoundingClientRect();
  return [parseFloat(b.width), parseFloat(b.height), r.width, r.height]; }"""


def test_a_question_from_an_agent_is_answered_from_the_inbox(lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "inbox.ipynb", ["%load_ext overmind", "%overmind questions",
                                              "%overmind ps"])
    open_notebook(page, lab, "inbox.ipynb")
    inbox = page.locator(".overmind-widget .om-inbox")
    expect(inbox.locator(".om-pill")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
    asker = lab.api("POST", "missions", {  # the scripted ACP agent asks to run a command
        "command": ["ask", "pytest", "-q", "&&", "curl", "evil.example"], "kind": "agent",
        "agent": "fake", "name": "asker"})
    lab.track(asker["pid"])
    question = inbox.locator(".om-question")
    expect(question).to_contain_text("pytest -q && curl evil.example", timeout=TIMEOUT_MS)
    expect(question.locator(".om-kind")).to_have_text("tool-approval")
    expect(page.locator(SIDEBAR_TAB)).to_have_attribute("data-count", "1")  # the badge
    sidebar = open_sidebar(page)
    expect(sidebar.locator(".om-question")).to_have_count(1)
    expect(row(sidebar, "asker")).to_be_visible(timeout=TIMEOUT_MS)  # an agent mission
    in_ps = row(page.locator(".overmind-widget .om-missions"), "asker")
    expect(in_ps).to_be_visible(timeout=TIMEOUT_MS)
    assert in_ps.evaluate(CLIPPED) == []  # were Kill 31 px and Logs 78 px past the edge
    scroll, client = sidebar.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert scroll <= client, "an agent mission's buttons widen the sidebar"  # was 352 > 250
    width, height, tab_width, tab_height = page.locator(SIDEBAR_TAB).evaluate(BADGE)
    assert width <= 20 and height <= 16, (width, height)  # a corner pill: was 25×48 px
    assert width * height < 0.2 * tab_width * tab_height  # the tab's icon stays visible
    screenshot(page, "inbox-question")

    question.get_by_role("button", name="deny").click()
    expect(inbox.locator(".om-question")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(sidebar.locator(".om-question")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(page.locator(SIDEBAR_TAB)).not_to_have_attribute("data-count", re.compile("."))
    done = lab.api("POST", "missions/asker/wait", {"timeout_s": 30})
    assert done["status"] == "exited"
    said = [e["data"]["text"] for e in lab.api("GET", f"events?mission={asker['id']}")["events"]
            if e["type"] == "agent-message"]
    assert "".join(said) == "permission for pytest -q && curl evil.example: reject_once"
    assert lab.api("GET", "questions")["questions"] == []


def test_with_an_engine_embedded_in_the_kernel_the_widget_goes_through_the_comm(
        lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "embedded.ipynb", [
        "import os, subprocess\nos.makedirs('emb', exist_ok=True)\n"
        "subprocess.run(['git', 'init', '-q', 'emb'], check=True)\nos.chdir('emb')",
        "%load_ext overmind\n%config OvermindMagics.mode = 'embedded'",
        "%overmind run --name inkernel -- sleep 300", "%overmind ps"])
    open_notebook(page, lab, "embedded.ipynb")
    assert "inkernel" not in lab.missions()  # not the server's engine
    widget = page.locator(".overmind-widget .om-missions")
    mission = row(widget, "inkernel")
    expect(mission).to_have_attribute("data-status", "running", timeout=TIMEOUT_MS)
    expect(widget.locator(".om-pill")).to_have_attribute("data-state", "live")
    pid = int(page.locator(".jp-OutputArea-output", has_text="started inkernel")
              .text_content().rsplit("pid", 1)[1])
    assert alive(pid)
    mission.get_by_role("button", name="Restart inkernel").click()  # a REST route, in the kernel
    expect(mission.locator('td[data-col="restarts"]')).to_have_text("1", timeout=TIMEOUT_MS)
    wait_until(lambda: not alive(pid), what="the embedded mission's first run to end")
    expect(mission).to_have_attribute("data-status", "running", timeout=TIMEOUT_MS)
    mission.get_by_role("button", name="Stop inkernel").click()  # a call over the comm
    expect(mission).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
    screenshot(page, "embedded-comm")


LONG_NAME = "warehouse-backfill-of-every-partition"
LONG_COMMAND = ["sh", "-c", "sleep 300; echo backfilled every partition of the warehouse "
                "tables from the raw event archive"]

# the Missions section's elements whose box ends past the sidebar's right edge (px beyond)
PAST_PANEL = """section => { const panel = section.closest('#overmind-sidebar');
  const right = panel.getBoundingClientRect().left + panel.clientLeft + panel.clientWidth;
  return [section, ...section.querySelectorAll('*')].filter(el => el.getClientRects().length)
    .map(el => [el.tagName + '.' + el.className + ' ' + (el.getAttribute('aria-label') || ''),
                Math.round(el.getBoundingClientRect().right - right)])
    .filter(([, over]) => over > 0); }"""

# how far the sidebar, the section and its table scroll sideways (px beyond their width)
SIDEWAYS = """section => [section.closest('#overmind-sidebar'), section,
  section.querySelector('table')].map(el => el.scrollWidth - el.clientWidth)"""

# the section's cells whose text is cut: [column, text, title]
CUT = """section => [...section.querySelectorAll('td')].filter(td => td.scrollWidth >
  td.clientWidth).map(td => [td.dataset.col, td.textContent, td.title])"""


@pytest.fixture(scope="module")
def crowded(lab: JupyterProcess) -> Iterator[dict[str, dict]]:
    """An agent mission named like the issue's (waiting on its question) and a command
    mission with a long name and command, both running."""
    asker = lab.api("POST", "missions", {"command": ["ask", "make", "deploy"], "kind": "agent",
                                         "agent": "fake", "name": "layout-asker"})
    backfill = lab.api("POST", "missions", {"command": LONG_COMMAND, "name": LONG_NAME})
    for mission in (asker, backfill):
        lab.track(mission["pid"])
    question = wait_until(lambda: next((q for q in lab.api("GET", "questions")["questions"]
                                        if q["mission"] == asker["id"]), None),
                          what="layout-asker's question")
    yield {"asker": asker, "backfill": backfill}
    lab.api("POST", f"questions/{question['id']}/answer", {"text": "deny"})
    lab.api("POST", f"missions/{backfill['id']}/stop", {"force": True})


def sidebar_missions(page: Page, lab: JupyterProcess, *running: str) -> Locator:
    """JupyterLab at its default 250 px sidebar, the missions ``running`` listed in it."""
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    section = open_sidebar(page).locator(".om-missions")
    for name in running:
        expect(row(section, name)).to_have_attribute("data-status", "running",
                                                     timeout=TIMEOUT_MS)
    assert section.evaluate("el => el.closest('#overmind-sidebar').clientWidth") <= 250
    return section


def test_the_sidebar_missions_fit_250_px_with_cut_text_titled(
        lab: JupyterProcess, page: Page, crowded: dict[str, dict]):
    section = sidebar_missions(page, lab, "layout-asker", LONG_NAME)
    assert section.evaluate(PAST_PANEL) == []  # Stop/Restart/Kill/Logs were 36 px past
    assert section.evaluate(SIDEWAYS) == [0, 0, 0]
    cut = section.evaluate(CUT)
    assert [c for c in cut if c[1] not in c[2]] == [], cut  # each cut text whole in its title
    assert ["name", LONG_NAME] in [c[:2] for c in cut], cut
    name = row(section, LONG_NAME).locator('td[data-col="name"]')
    expect(name).to_have_attribute("title", re.compile("backfilled every partition"))  # command
    expect(name).to_have_css("text-overflow", "ellipsis")
    status = row(section, "layout-asker").locator('td[data-col="status"]')
    expect(status).to_have_attribute("title", re.compile("^running"))


def ps_layout(widget: Locator) -> dict:
    """The widget's output width, its buttons past the output's edge by row, how far it
    scrolls sideways and its cut cells whose title lacks their text (px)."""
    rows = widget.locator("tr[data-mission-id]")
    return {"width": widget.evaluate("el => el.closest('.jp-OutputArea-output').clientWidth"),
            "clipped": [c for tr in rows.all() if (c := tr.evaluate(CLIPPED))],
            "sideways": widget.evaluate("el => el.scrollWidth - el.clientWidth"),
            "untitled": [c for c in widget.evaluate(CUT) if c[1].rstrip("…") not in c[2]]}


def test_the_notebook_ps_widget_fits_a_1000_px_window(
        lab: JupyterProcess, page: Page, crowded: dict[str, dict]):
    write_notebook(lab.root, "narrow-ps.ipynb", ["%load_ext overmind", "%overmind ps --all"])
    open_notebook(page, lab, "narrow-ps.ipynb")  # at 1400 px: the status bar says when idle
    page.set_viewport_size({"width": 1000, "height": 900})
    page.wait_for_function("() => document.querySelector('.jp-NotebookPanel')"
                           ".getBoundingClientRect().right <= 1000")
    widget = page.locator(".overmind-widget .om-missions")
    for name in ("layout-asker", LONG_NAME):
        expect(row(widget, name)).to_be_visible(timeout=TIMEOUT_MS)
    beside_files = ps_layout(widget)  # the file browser open: buttons two by two
    screenshot(page, "ps-1000px")
    command(page, "application:toggle-left-area")
    page.wait_for_function("el => el.closest('.jp-OutputArea-output').clientWidth > 760",
                           arg=widget.element_handle())
    alone = ps_layout(widget)  # the notebook alone: buttons in a row
    for found in (beside_files, alone):  # were 81–227 px past a 568 px output
        assert found["clipped"] == [] and found["sideways"] == 0, found
        assert found["untitled"] == [], found
    assert beside_files["width"] < 600 < alone["width"] <= 1000, (beside_files, alone)
    print("ps at 1000 px:", beside_files, alone)


# the widget's elements not wholly inside the output area that shows it: [element, px
# beyond its left, right, top and bottom edges]
OUTSIDE_OUTPUT = """widget => { const out = widget.closest('.jp-OutputArea-output')
    .getBoundingClientRect();
  return [widget, ...widget.querySelectorAll('*')].filter(el => el.getClientRects().length)
    .map(el => { const r = el.getBoundingClientRect();
      return [el.tagName + '.' + el.className, ...[out.left - r.left, r.right - out.right,
        out.top - r.top, r.bottom - out.bottom].map(Math.round)]; })
    .filter(([, ...beyond]) => beyond.some(px => px > 0)); }"""


def narrow_output(page: Page, widget: Locator, viewport: int) -> int:
    """The notebook alone in a ``viewport`` px wide window; the widget's output width."""
    command(page, "application:toggle-left-area")  # the file browser closed
    page.set_viewport_size({"width": viewport, "height": 900})
    page.wait_for_function(f"el => el.closest('.jp-OutputArea-output').clientWidth < {viewport}"
                           " - 100", arg=widget.element_handle(), timeout=TIMEOUT_MS)
    return widget.evaluate("el => el.closest('.jp-OutputArea-output').clientWidth")


def test_the_notebook_ps_widget_fits_a_320_px_output_with_its_actions_in_a_menu(
        lab: JupyterProcess, page: Page, crowded: dict[str, dict]):
    napper = lab.api("POST", "missions", {"name": "narrow-napper", "command": [
        "sh", "-c", "echo napping in a narrow notebook; sleep 300"]})
    lab.track(napper["pid"])
    write_notebook(lab.root, "ps-320.ipynb", ["%load_ext overmind", "%overmind ps --all"])
    open_notebook(page, lab, "ps-320.ipynb")
    widget = page.locator(".overmind-widget:has(.om-missions)")
    missions = widget.locator(".om-missions")
    for name in ("narrow-napper", "layout-asker", LONG_NAME):
        expect(row(missions, name)).to_be_visible(timeout=TIMEOUT_MS)
    width = narrow_output(page, widget, 436)
    assert 300 <= width <= 400, width  # JupyterLab's notebook: 320 px of a 436 px window
    shown = missions.evaluate("el => [...el.querySelectorAll('th')].filter(th => "
                              "th.getClientRects().length).map(th => th.dataset.col)")
    assert shown == ["name", "status", "actions"], shown
    assert widget.evaluate(OUTSIDE_OUTPUT) == [], widget.evaluate(OUTSIDE_OUTPUT)
    assert [c for c in missions.evaluate(CUT) if c[1].rstrip("…") not in c[2]] == []
    expect(row(missions, "narrow-napper").get_by_role("button", name="Stop narrow-napper")
           ).to_be_hidden()  # the buttons gave way to the menu
    screenshot(page, "ps-320px")

    mine = row(missions, "narrow-napper")
    more = mine.get_by_role("button", name="actions for narrow-napper")
    menu = missions.get_by_role("menu", name="actions for narrow-napper")
    first = missions.locator("tr[data-mission-id]").first.locator(".om-rowmenu-button")
    first.click()  # no room above it: below, the output growing when the rows are few
    expect(missions.get_by_role("menu").locator("visible=true")).to_have_count(1)
    open_menus = [widget.evaluate(OUTSIDE_OUTPUT)]
    page.keyboard.press("Escape")
    more.click()
    expect(menu.get_by_role("menuitem")).to_have_text(["Stop", "Restart", "Kill", "Logs"])
    open_menus.append(widget.evaluate(OUTSIDE_OUTPUT))
    screenshot(page, "ps-320px-menu")
    menu.get_by_role("menuitem", name="Logs").click()
    logs = widget.locator(".om-logs")
    expect(logs).to_contain_text("napping in a narrow notebook", timeout=TIMEOUT_MS)
    with_logs = widget.evaluate(OUTSIDE_OUTPUT)
    more.click()
    menu.get_by_role("menuitem", name="Stop").click()
    expect(mine).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
    expect(mine.locator('td[data-col="status"]')).to_contain_text("stopped")
    assert lab.missions()["narrow-napper"]["exit"]["stopped"]
    more.click()  # stopped: only Logs applies
    expect(menu.get_by_role("menuitem", name="Stop")).to_be_disabled()
    expect(menu.get_by_role("menuitem", name="Logs")).to_be_enabled()
    page.keyboard.press("Escape")
    print("ps at", width, "px: open menus", open_menus, "with logs", with_logs)
    assert open_menus == [[], []] and with_logs == [], (open_menus, with_logs)


def test_the_row_menu_opens_inside_the_panel_by_keyboard_and_mouse(
        lab: JupyterProcess, page: Page, crowded: dict[str, dict]):
    section = sidebar_missions(page, lab, "layout-asker", LONG_NAME)
    actions = row(section, "layout-asker").get_by_role("button", name="actions for layout-asker")
    expect(actions).to_have_attribute("aria-haspopup", "menu")
    menu = section.get_by_role("menu", name="actions for layout-asker")
    actions.press("Enter")
    expect(menu).to_be_visible()
    expect(actions).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("menuitem")).to_have_text(["Logs", "Stop", "Restart", "Kill"])
    expect(menu.get_by_role("menuitem", name="Logs")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Stop")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # wraps round
    expect(menu.get_by_role("menuitem", name="Kill")).to_be_focused()
    assert section.evaluate(PAST_PANEL) == []  # the open menu too
    print("menu", menu.bounding_box(), "panel", page.locator("#overmind-sidebar").bounding_box())
    assert section.evaluate(SIDEWAYS) == [0, 0, 0]
    screenshot(page, "sidebar-missions-menu")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(actions).to_be_focused()
    expect(actions).to_have_attribute("aria-expanded", "false")

    actions.press(" ")  # Space opens too; Logs opens the log view and closes the menu
    menu.get_by_role("menuitem", name="Logs").press("Enter")
    expect(menu).to_be_hidden()
    logs = page.locator(f"#overmind-logs-{crowded['asker']['id']} .om-logs")
    expect(logs.locator(".om-title")).to_have_text("logs of layout-asker", timeout=TIMEOUT_MS)

    backfill = row(section, LONG_NAME)
    more = backfill.get_by_role("button", name=f"actions for {LONG_NAME}")
    more.click()
    menu = section.get_by_role("menu", name=f"actions for {LONG_NAME}")
    expect(menu).to_be_visible()
    section.locator(".om-title").click()  # a click outside closes it
    expect(menu).to_be_hidden()
    more.click()
    menu.get_by_role("menuitem", name="Stop").click()
    expect(menu).to_be_hidden()
    expect(more).to_be_focused()
    stopped = wait_until(lambda: (m := lab.missions()[LONG_NAME])["status"] == "killed" and m,
                         what="the engine to stop the backfill")
    assert stopped["exit"]["stopped"], stopped
    expect(backfill).to_have_attribute("data-status", "killed", timeout=TIMEOUT_MS)
    more.click()  # an ended mission: only Logs applies
    expect(menu.get_by_role("menuitem", name="Logs")).to_be_enabled()
    for label in ("Stop", "Restart", "Kill"):
        expect(menu.get_by_role("menuitem", name=label)).to_be_disabled()
    page.keyboard.press("ArrowDown")  # the disabled items are skipped
    expect(menu.get_by_role("menuitem", name="Logs")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()


# the Missions section's texts: a running and a stopped row, the menu's items
MISSION_TEXTS = ("th", 'tr[data-status="running"] td[data-col="status"]',
                 'tr[data-status="exited"] td[data-col="status"]', 'td[data-col="name"]',
                 ".om-pill", ".om-rowmenu-button", ".om-rowmenu-item:enabled",
                 ".om-rowmenu-item:disabled")


def test_the_missions_section_reads_in_light_and_dark(
        lab: JupyterProcess, page: Page, crowded: dict[str, dict]):
    section = sidebar_missions(page, lab, "layout-asker")
    done = lab.api("POST", "missions", {"command": ["true"], "name": "done-quickly"})
    lab.track(done["pid"])
    expect(row(section, "done-quickly")).to_have_attribute("data-status", "exited",
                                                           timeout=TIMEOUT_MS)
    more = row(section, "done-quickly").get_by_role("button", name="actions for done-quickly")
    seen = {}
    try:
        for name, dark in (("JupyterLab Light", False), ("JupyterLab Dark", True)):
            theme(page, name, dark)
            more.click()
            seen[name] = worst(section, *MISSION_TEXTS)
            screenshot(page, f"sidebar-missions-{'dark' if dark else 'light'}")
            page.keyboard.press("Escape")
    finally:
        theme(page, "JupyterLab Light", False)  # the theme is a saved user setting
    print(seen)
    assert {n: t for n, t in seen.items() if min(t.values()) < 4.5} == {}, seen
