"""The execution tree tells the truth (issue 17), measured in a real JupyterLab.

One server on a git project with a slow test suite (the pre-review check of a held change
takes seconds: state ``checking``) and a scripted model: each objective plans one task
"work", whose agent thinks 10 s before it reads ``calc.py``, then rewrites ``add`` (one line
removed, three added). The tree shows elapsed times that tick while running and freeze at
the ending events; Cancel (asked inline, no browser dialog) cancels a running objective
and its agent; the edit reads as a diff in both themes; the objective shows one total,
the engine's ``spent``, split into planning and agents; nothing sticks out of the 250 px
sidebar or a 1,000 px notebook output.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_process import JupyterProcess, alive, wait_until
from lab_driver import (
    TIMEOUT_MS,
    open_notebook,
    open_sidebar,
    screenshot,
    serving,
    start_lab,
    write_notebook,
)
from playwright.sync_api import Dialog, Locator, Page, expect
from test_sidebar_prompt import theme, worst

from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(300)
OLD = "    return a + b\n"
NEW = "    total = a + b\n    print('adding', total)\n    return total\n"
OBJECTIVES = 5  # role turns scripted: more than the tests start
THINK_S = 10  # the agent's first turn: long enough to watch it run, and to cancel it
SLOW_TESTS_S = 4  # the project's tests: the pre-review check's time in "checking"
ENDED = {"done", "failed", "cancelled"}


def work_scripts(directory: Path) -> Path:
    """Role scripts for ``OBJECTIVES`` one-task objectives, and the task's agent turns."""
    story = respond({"groups": [{"title": "Work", "prompt_ids": ["p1"], "summary": "w"}],
                     "story": "calc"})
    scope = respond({"files": [{"path": "calc.py"}], "complexity": "low", "rationale": "c"})
    plan = respond({"tasks": [{"name": "work", "description": "work: rewrite add()",
                               "scope": ["calc.py"]}]})
    done = respond({"done": True, "feedback": "ok"})
    think = {**tool("read_file", path="calc.py"), "delay_s": THINK_S}
    return write_role_scripts(
        directory, story=[story] * OBJECTIVES, scope=[scope] * OBJECTIVES,
        planner=[plan] * OBJECTIVES, evaluator=[done] * OBJECTIVES,
        tasks={"work": [think, tool("edit_file", path="calc.py", old_text=OLD, new_text=NEW),
                        say("Rewrote add().")]})


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    base = tmp_path_factory.mktemp("truth")
    root = base / "root"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text("def add(a, b):\n" + OLD)
    (root / "tests" / "test_calc.py").write_text(
        f"import time\n\nfrom calc import add\n\n\ndef test_add():\n"
        f"    time.sleep({SLOW_TESTS_S})\n    assert add(2, 3) == 5\n")
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "i"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    model = f"--Overmind.model=scripted:{work_scripts(base / 'scripts')}"
    with serving(start_lab(root, base / "home", args=(model,))) as server:
        yield server


def start_objective(lab: JupyterProcess, text: str) -> str:
    return lab.api("POST", "prompts", {"text": text})["id"]


@pytest.fixture(scope="module")
def finished(lab: JupyterProcess) -> dict[str, Any]:
    """An objective run to its end (its change held for review, tested first)."""
    oid = start_objective(lab, "rewrite add")
    return lab.api("POST", f"objectives/{oid}/wait", {"timeout_s": 120}, timeout=130)


def open_tree(page: Page, lab: JupyterProcess, oid: str, reload: bool = True) -> Locator:
    """Objective ``oid``'s tree opened from the sidebar's Objectives row (``reload``: in
    a fresh Lab)."""
    if reload:
        page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    row = open_sidebar(page).locator(f'.om-objective-row[data-objective-id="{oid}"]')
    row.click(timeout=TIMEOUT_MS)
    tree = page.locator('[id^="overmind-tree-"] .om-tree-view')
    expect(tree.locator(f'li[data-objective-id="{oid}"]')).to_be_visible(timeout=TIMEOUT_MS)
    return tree


def objective_row(tree: Locator) -> Locator:
    return tree.locator('li[data-node="objective"] > .om-tree-row')


# --- elapsed time -----------------------------------------------------------------------

# mutations of the tree outside its elapsed spans, from when `watch` ran
WATCH = """tree => { window.__omOutside = [];
  new MutationObserver(records => { for (const r of records) {
    const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    if (!el.closest('.om-tree-elapsed')) window.__omOutside.push(el.className || el.tagName);
  } }).observe(tree, {subtree: true, childList: true, characterData: true,
                       attributes: true}); }"""


def seconds(text: str) -> float:
    """``4.2 s`` / ``17 s`` / ``1m 05s`` as seconds."""
    if m := re.fullmatch(r"(\d+)m (\d+)s", text):
        return int(m[1]) * 60 + int(m[2])
    m = re.fullmatch(r"([\d.]+) s", text)
    assert m, text
    return float(m[1])


def event_spans(lab: JupyterProcess, oid: str) -> dict[str, float]:
    """What each node's elapsed time must be, from the events' timestamps."""
    events = lab.api("GET", f"events?objective={oid}&limit=10000")["events"]
    created = next(e["ts"] for e in events if e["type"] == "objective-created")
    ended = next(e["ts"] for e in events if e["type"] == "objective-status"
                 and e["data"]["state"] in ENDED)
    tasks = [e for e in events if e["type"] == "task-status"]
    run = next(e["ts"] for e in tasks if e["data"]["state"] == "running")
    stop = next(e["ts"] for e in tasks if e["data"]["state"] in ENDED)
    mission = next(e["mission"] for e in events if e["type"] == "agent-spawned")
    own = lab.api("GET", f"events?mission={mission}&limit=10000")["events"]
    born = min(e["ts"] for e in own if e["type"] == "mission-created") if own else created
    gone = next(e["ts"] for e in own if e["type"] == "mission-status"
                and e["data"]["status"] in ("exited", "failed", "killed", "lost"))
    return {"objective": ended - created, "task": stop - run, "agent": gone - born}


def expected_text(s: float) -> str:
    """``elapsed.ts``'s ``elapsedText`` of an ended node."""
    if s < 10:
        return f"{s:.1f} s"
    return f"{int(s)} s" if s < 60 else f"{int(s) // 60}m {int(s) % 60:02d}s"


# elements of the tree wider than the output it is in, and how far (px)
OUTSIDE = """(box, sel) => { const right = box.getBoundingClientRect().right;
  return [...box.querySelectorAll(sel)].filter(el => el.getClientRects().length)
    .map(el => [el.className || el.tagName, Math.round(el.getBoundingClientRect().right - right)])
    .filter(([, over]) => over > 0); }"""


def overflow(box: Locator, inside: str) -> dict[str, Any]:
    """What sticks out of ``box``: elements past its right edge, sideways scrolling."""
    return {"outside": box.evaluate(OUTSIDE, inside),
            "scroll": box.evaluate("el => el.scrollWidth - el.clientWidth")}


def test_elapsed_ticks_while_running_and_freezes_at_the_ending_events(
        lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "elapsed.ipynb", ["%load_ext overmind"])
    open_notebook(page, lab, "elapsed.ipynb")  # the kernel's first start (see test_tree)
    write_notebook(lab.root, "elapsed.ipynb", [
        "%load_ext overmind", "%%overmind prompt\nrewrite add, and time it"])
    open_notebook(page, lab, "elapsed.ipynb")
    tree = page.locator(".overmind-widget .om-tree-view")
    output = tree.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]")
    output.evaluate("el => { el.style.width = '1000px'; el.style.flex = 'none'; }")
    agent = tree.locator('li[data-node="agent"]')
    expect(agent.locator(".om-tree-state")).to_have_text("running · working", timeout=60_000)
    spans = {node: tree.locator(f'li[data-node="{node}"] > .om-tree-row .om-tree-elapsed')
             for node in ("objective", "task", "agent")}
    for span in spans.values():
        expect(span).to_have_attribute("data-elapsed", "running")
    tree.evaluate(WATCH)  # the agent thinks for 10 s: no event, only the clock moves
    ticks = [spans["objective"].inner_text()]
    for _ in range(2):
        expect(spans["objective"]).not_to_have_text(ticks[-1], timeout=2500)
        ticks.append(spans["objective"].inner_text())
    agent_ticked = spans["agent"].inner_text()
    outside_the_clock = page.evaluate("window.__omOutside")
    running = overflow(output, ".om-tree-view *")
    screenshot(page, "tree-truth-running")

    objective = tree.locator('li[data-node="objective"]')
    expect(objective).to_have_attribute("data-state", "checking", timeout=60_000)
    checking = objective.locator(":scope > .om-tree-row .om-tree-state").inner_text()
    expect(objective).to_have_attribute("data-state", "done", timeout=60_000)
    oid = objective.get_attribute("data-objective-id")
    truth = {node: expected_text(s) for node, s in event_spans(lab, oid).items()}
    for node, span in spans.items():  # the ending events' ts minus the first ones'
        expect(span).to_have_text(truth[node])
        expect(span).to_have_attribute("data-elapsed", "ended")
    ended = overflow(output, ".om-tree-view *")
    screenshot(page, "tree-truth-done")
    toast = page.locator(".Toastify__toast", has_text="1 wait for review")
    expect(toast).to_have_class(re.compile(r"Toastify__toast--info"))  # expected, no warning
    # the notebook re-renders its output when the snapshot is rewritten: the main-area
    # tree (one live view, never re-rendered) shows that the time stays frozen
    tab = open_tree(page, lab, oid, reload=False)
    frozen = {node: tab.locator(f'li[data-node="{node}"] > .om-tree-row .om-tree-elapsed')
              for node in spans}
    for node, span in frozen.items():
        expect(span).to_have_text(truth[node])
    with pytest.raises(AssertionError):  # two seconds on, it has not moved
        expect(frozen["objective"]).not_to_have_text(truth["objective"], timeout=2000)
    assert {node: span.inner_text() for node, span in frozen.items()} == truth

    print({"ticks": ticks, "agent": agent_ticked, "truth": truth, "checking": checking,
           "running": running, "ended": ended})
    assert [seconds(t) for t in ticks] == sorted({seconds(t) for t in ticks})  # counting up
    assert outside_the_clock == []  # ticking rewrote the elapsed spans and nothing else
    assert checking == "testing changes before review"
    assert running == ended == {"outside": [], "scroll": 0}  # fits a 1,000 px output


# --- Cancel -----------------------------------------------------------------------------

def test_cancel_from_the_tree_stops_a_running_objective_and_its_agent(
        lab: JupyterProcess, page: Page):
    dialogs: list[Dialog] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))
    oid = start_objective(lab, "rewrite add, then get cancelled")
    tree = open_tree(page, lab, oid)
    agent = tree.locator('li[data-node="agent"]')
    expect(agent.locator(".om-tree-state")).to_have_text("running · working", timeout=60_000)
    mission = lab.api("GET", f"missions/{agent.get_attribute('data-mission-id')}")
    assert alive(mission["pid"])

    sidebar = open_sidebar(page)  # the sidebar's row asks too; "No" keeps it running
    row = sidebar.locator(f'li.om-objective[data-objective-id="{oid}"]')
    row.get_by_role("button", name=f"cancel objective {oid}").click()
    expect(row.get_by_text("Cancel objective?")).to_be_visible()
    in_sidebar = overflow(sidebar, ".om-objective *")
    screenshot(page, "tree-truth-cancel-asked-in-sidebar")
    row.get_by_role("button", name=f"no, keep objective {oid}").click()
    expect(row.get_by_role("button", name=f"cancel objective {oid}")).to_be_focused()

    objective = tree.locator('li[data-node="objective"]')
    objective.get_by_role("button", name=f"cancel objective {oid}").click()
    expect(objective.get_by_text("Cancel objective?")).to_be_visible()
    screenshot(page, "tree-truth-cancel-asked")
    objective.get_by_role("button", name=f"yes, cancel objective {oid}").click()
    expect(objective).to_have_attribute("data-state", "cancelled", timeout=TIMEOUT_MS)
    expect(objective.locator(".om-cancel")).to_be_hidden()
    expect(row).to_have_attribute("data-state", "cancelled", timeout=TIMEOUT_MS)
    expect(row.locator(".om-cancel")).to_be_hidden()
    expect(agent).not_to_have_attribute("data-state", re.compile("running"),
                                        timeout=TIMEOUT_MS)
    screenshot(page, "tree-truth-cancelled")
    states = ".om-tree-state[data-state='cancelled']"  # error-coloured text in both themes
    light = worst(page.locator("body"), states)[states]
    theme(page, "JupyterLab Dark", dark=True)
    dark = worst(page.locator("body"), states)[states]
    theme(page, "JupyterLab Light", dark=False)
    assert min(light, dark) >= 4.5, (light, dark)  # dark was 4.4:1 (JupyterLab's red 1)

    assert lab.api("GET", f"objectives/{oid}")["state"] == "cancelled"
    wait_until(lambda: not alive(mission["pid"]), 30, "the agent's process to end")
    assert lab.api("GET", f"missions/{mission['id']}")["status"] in ("killed", "exited")
    assert dialogs == []  # asked inline, not with a blocking browser dialog
    assert in_sidebar == {"outside": [], "scroll": 0}, in_sidebar


def test_a_refused_cancel_says_why_inline(lab: JupyterProcess, page: Page,
                                          finished: dict[str, Any]):
    oid = finished["id"]
    tree = open_tree(page, lab, oid)
    objective = tree.locator('li[data-node="objective"]')
    expect(objective).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(objective.locator(".om-cancel")).to_be_hidden()  # nothing to cancel any more
    # as for a page that saw it running a moment before it ended: the engine refuses
    objective.locator(".om-cancel").evaluate("el => { el.hidden = false; }")
    objective.get_by_role("button", name=f"cancel objective {oid}").click()
    objective.get_by_role("button", name=f"yes, cancel objective {oid}").click()
    expect(objective.get_by_role("alert")).to_have_text(
        f"not cancelled: objective {oid} is done already")
    expect(objective).to_have_attribute("data-state", "done")


# --- edits ------------------------------------------------------------------------------

def test_an_edit_reads_as_a_diff_in_light_and_dark(lab: JupyterProcess, page: Page,
                                                    finished: dict[str, Any]):
    tree = open_tree(page, lab, finished["id"])
    edit = tree.locator('li[data-node="tool"]').filter(has_text="edit_file calc.py")
    expect(edit.locator(".om-tree-row > .om-tree-meta").first).to_have_text("+3 −1",
                                                                            timeout=TIMEOUT_MS)
    edit.get_by_role("button", name="result of edit_file calc.py").click()
    code = edit.locator("td.om-diff-code")
    expect(code).to_have_text(["-    return a + b", "+    total = a + b",
                               "+    print('adding', total)", "+    return total"])
    read = tree.locator('li[data-node="tool"]').filter(has_text="read_file calc.py")
    read.get_by_role("button", name="result of read_file calc.py").click()
    expect(read.locator(".om-tree-kv")).to_have_text(["path: calc.py"])
    text = edit.inner_text()
    seen = {}
    try:
        for name, dark in (("JupyterLab Light", False), ("JupyterLab Dark", True)):
            theme(page, name, dark)
            seen[name] = worst(edit, "td.om-diff-code[data-kind='+']",
                               "td.om-diff-code[data-kind='-']", "td.om-diff-code [class^=om-tok-]",
                               ".om-tree-edit .om-tree-label")
            expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=TIMEOUT_MS)
            screenshot(page, f"tree-truth-edit-{'dark' if dark else 'light'}")
    finally:
        theme(page, "JupyterLab Light", False)  # the theme is a saved user setting
    print(text, seen)
    assert "\\n" not in text and '{"' not in text  # was the input as escaped JSON
    for name, ratios in seen.items():
        assert min(ratios.values()) >= 4.5, (name, ratios)


# --- costs ------------------------------------------------------------------------------

def test_one_total_per_objective_is_the_engines_and_its_parts_add_up(
        lab: JupyterProcess, page: Page, finished: dict[str, Any]):
    oid, spent = finished["id"], finished["spent"]
    assert spent["cost_usd"] == 0  # the scripted model has no price: "cost unknown"
    tree = open_tree(page, lab, oid)
    total = objective_row(tree).locator(".om-tree-total")
    expect(total).to_have_text(f"{spent['tokens']:,} tok · cost unknown", timeout=TIMEOUT_MS)
    parts = objective_row(tree).locator(".om-tree-parts").inner_text()
    planning, agents = (int(n.replace(",", "")) for n in re.findall(r"[\d,]+(?= tok)", parts))
    task = tree.locator('li[data-node="task"] > .om-tree-row .om-tree-meta').inner_text()
    agent = tree.locator('li[data-node="agent"] > .om-tree-row .om-tree-meta').inner_text()
    row = open_sidebar(page).locator(f'li.om-objective[data-objective-id="{oid}"]')
    in_sidebar = row.locator(".om-objective-spent").inner_text()
    fits = overflow(open_sidebar(page), ".om-objectives-section *")
    width = open_sidebar(page).evaluate("el => el.clientWidth")
    screenshot(page, "tree-truth-costs")
    print({"spent": spent, "parts": parts, "task": task, "agent": agent, "row": in_sidebar,
           "fits": fits, "width": width})
    assert planning + agents == spent["tokens"]  # the parts add up to the one total
    assert f"{agents:,} tok · cost unknown" in task and f"{agents:,} tok · cost unknown" in agent
    assert in_sidebar == f"{spent['tokens']:,} tok · cost unknown"
    assert width <= 250 and fits == {"outside": [], "scroll": 0}, fits
    [mission] = [t["mission"] for t in finished["tasks"]]  # the agent, in `ps --all` too
    write_notebook(lab.root, "spent.ipynb", ["%load_ext overmind", "%overmind ps --all"])
    open_notebook(page, lab, "spent.ipynb")
    status = page.locator(f'.overmind-widget tr[data-mission-id="{mission}"] '
                          'td[data-col="status"]')
    expect(status).to_contain_text(f"{agents:,} tok · cost unknown", timeout=TIMEOUT_MS)
