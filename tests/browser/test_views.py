"""The widgets and the sidebar in a real JupyterLab (one for the module): live mission
status, stop and restart from the widget, CPU/memory, followed logs, the questions inbox,
a page reload (missions and open questions stay)."""

from __future__ import annotations

import re

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
from playwright.sync_api import Page, expect

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
    expect(row(sidebar, "spinner").get_by_role("button", name="Restart spinner")).to_be_enabled()
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
