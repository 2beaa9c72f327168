"""A reviewer reviews from its own JupyterLab: server A hosts the party on a project with
tests (scripted model: one objective of two tasks, "log" on calc.py and "swap" on
ops.py, each a change held for review and checked before review), server B is alice's
JupyterLab, whose engine joined A. As a collaborator alice sees the objective's changes
without any review control; once the host makes her a reviewer her sidebar shows each
undecided change's pre-review check and Merge / Request changes… / Close, which go
through B's ``party_review`` to A: a merge lands on A's main, requested changes give A's
objective a follow-up task that B's tree shows running, and its change is closed from
the tree (issue 17: "the host and members the host makes reviewers merge, request
changes or close"). Two real servers, real ACP agent processes, Chromium."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_process import JupyterProcess, wait_until
from lab_driver import TIMEOUT_MS, open_sidebar, screenshot, start_lab
from playwright.sync_api import Locator, Page, expect
from test_sidebar_prompt import theme, worst

from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import LOG_EDIT, host_and_guest

pytestmark = pytest.mark.timeout(420)

PROJECT = {"calc.py": "def add(a, b):\n    return a + b\n",
           "ops.py": "def sub(a, b):\n    return a - b\n",
           "tests/test_calc.py": "from calc import add\nfrom ops import sub\n\n\n"
                                 "def test_add():\n    assert add(2, 3) == 5\n\n\n"
                                 "def test_sub():\n    assert sub(5, 3) == 2\n"}
SWAPPED, REVIEWED = "    return -(b - a)\n", "    return a - b  # as before\n"


def edit(path: str, old: str, new: str) -> list[dict[str, Any]]:
    return [tool("edit_file", path=path, old_text=old, new_text=new), say(f"Edited {path}.")]


def two_task_host(base: Path) -> JupyterProcess:
    """A party host on ``PROJECT`` (tests included: the pre-review check runs them) whose
    scripted model plans one objective of two tasks, "log" (calc.py) and "swap" (ops.py),
    and scripts the follow-up of a review of "swap" ("swap-review")."""
    repo = make_repo(base / "project", PROJECT)
    task = {"name": "", "description": "", "scope": [], "depends_on": []}
    scripts = write_role_scripts(
        base / "scripts",
        story=respond({"groups": [{"title": "Tidy", "prompt_ids": ["p1"],
                                   "summary": "tidy"}], "story": "calc"}),
        scope=respond({"files": [{"path": "calc.py"}, {"path": "ops.py"}],
                       "complexity": "low", "rationale": "two files"}),
        planner=respond({"tasks": [
            {**task, "name": "log", "description": "log additions", "scope": ["calc.py"]},
            {**task, "name": "swap", "description": "reorder sub", "scope": ["ops.py"]}]}),
        evaluator=respond({"done": True, "feedback": "ok"}),
        tasks={"log": edit("calc.py", "    return a + b\n", LOG_EDIT),
               "swap": edit("ops.py", "    return a - b\n", SWAPPED),
               "swap-review": edit("ops.py", SWAPPED, REVIEWED)})
    return JupyterProcess(repo, base / "home-a",
                          env={"OVERMIND_MODEL": f"scripted:{scripts}"}).start()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterProcess, ...]]:
    with host_and_guest(tmp_path_factory.mktemp("guest-reviewer"), start_lab,
                        two_task_host) as both:
        yield both


@pytest.fixture(scope="module")
def held(servers: tuple[JupyterProcess, ...]) -> dict[str, Any]:
    """Alice's prompt, run on A to its end: ``{objective, log, swap}`` (ids), both
    changes open (held for review) and checked."""
    a, b = servers
    hosted = a.api("POST", "party", {"name": "ann", "auto_approve": ["alice"],
                                     "auto_approve_prompts": True})
    b.api("POST", "party/join", {"invite": hosted["invite"], "name": "alice"})
    b.api("POST", "party/prompts", {"text": "tidy calc and ops", "member": "alice"})
    objective = wait_until(lambda: next((o for o in a.api("GET", "objectives")["objectives"]
                                         if o["state"] == "done"), None), 180, "the objective")
    changes = {c["task"]: c for c in a.api("GET", f"changes?objective={objective['id']}")[
        "changes"]}
    assert {c["state"] for c in changes.values()} == {"open"}, changes
    assert all(c["check"]["state"] == "passed" for c in changes.values()), changes
    return {"objective": objective["id"], "log": changes["log"]["id"],
            "swap": changes["swap"]["id"]}


def set_role(a: JupyterProcess, b: JupyterProcess, role: str) -> None:
    """The host gives alice ``role``; returns once B's engine knows it."""
    (alice,) = [m for m in a.api("GET", "party")["hosting"]["members"] if m["name"] == "alice"]
    a.api("POST", f"party/members/{alice['id']}", {"action": "role", "role": role})
    wait_until(lambda: b.api("GET", "party")["joined"][0]["member"]["role"] == role, 30,
               f"alice's role {role} on B")


def open_lab(page: Page, lab: JupyterProcess) -> Locator:
    """B's JupyterLab with the Overmind sidebar shown; returns the sidebar."""
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=60_000)
    return open_sidebar(page)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


# review controls not wholly inside the sidebar panel, and how far (px) beyond each side
OUTSIDE = """panel => { const box = panel.getBoundingClientRect();
  const left = box.left + panel.clientLeft, right = left + panel.clientWidth;
  return [...panel.querySelectorAll('.om-party-review, .om-party-review *')]
    .filter(el => el.getClientRects().length).map(el => { const r = el.getBoundingClientRect();
      return [el.tagName + '.' + el.className, Math.round(left - r.left),
              Math.round(r.right - right)]; })
    .filter(([, l, r]) => l > 0 || r > 0); }"""

# the review's texts: undecided (check, buttons, requested text, error), then answered
ASKING = (".om-party-review-title", ".om-party-review .om-check:visible",
          ".om-party-review .om-button:visible", ".om-party-review .om-review-text:visible",
          ".om-party-review .om-message:visible")
ANSWERED = (".om-party-review-title", ".om-party-review .om-change-notice:visible")


def looks(page: Page, sidebar: Locator, texts: tuple[str, ...]) -> dict[str, Any]:
    """In the light and the dark theme: the sidebar's width, what of the review sticks
    out of it, and the lowest contrast of each of ``texts``."""
    seen = {}
    try:
        for dark in (False, True):
            theme(page, f"JupyterLab {'Dark' if dark else 'Light'}", dark)
            seen["dark" if dark else "light"] = {
                "width": sidebar.evaluate("el => el.clientWidth"),
                "outside": sidebar.evaluate(OUTSIDE),
                "scroll": sidebar.evaluate("el => el.scrollWidth - el.clientWidth"),
                "texts": worst(sidebar, *texts)}
    finally:
        theme(page, "JupyterLab Light", False)  # the theme is a saved user setting
    print(seen)
    return seen


def fits_and_reads(seen: dict[str, Any]) -> None:
    for found in seen.values():
        assert found["width"] <= 250 and found["outside"] == [] and found["scroll"] == 0, found
        assert min(found["texts"].values()) >= 4.5, found["texts"]


def test_a_reviewer_guest_sees_the_check_and_merges_from_its_sidebar_a_collaborator_cannot(
        servers: tuple[JupyterProcess, ...], held: dict[str, Any], page: Page) -> None:
    a, b = servers
    set_role(a, b, "collaborator")
    sidebar = open_lab(page, b)
    objective = sidebar.locator(f'li.om-objective[data-objective-id="{held["objective"]}"]')
    expect(objective).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    objective.locator(".om-objective-row").click()
    tree = page.locator('[id^="overmind-tree-"] .om-tree-view')
    change = tree.locator(f'li[data-node="change"][data-change-id="{held["log"]}"]')
    expect(change).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    # a collaborator: the changes are shown, read-only (no review control anywhere)
    expect(tree.locator('li[data-node="change"]').get_by_role("button")).to_have_count(0)
    expect(objective.locator("button:visible")).to_have_count(0)
    expect(page.locator(".om-party-review:visible")).to_have_count(0)

    set_role(a, b, "reviewer")  # live: no reload
    review = objective.locator(f'.om-party-review[data-change-id="{held["log"]}"]')
    expect(review).to_be_visible(timeout=TIMEOUT_MS)
    tip = git(a.root, "rev-parse", "main").strip()
    expect(review.locator(".om-check")).to_contain_text(
        f"Checked before review: tests passed on main@{tip[:8]}")
    expect(change.get_by_role("button", name="Merge")).to_be_visible()  # the tree's too

    form_text = review.get_by_label(f"requested changes of change {held['log']}")
    review.get_by_role("button", name="Request changes…").click()
    expect(form_text).to_be_focused()
    form_text.fill("z" * 20_001)  # over the API's bound: the guest's server refuses it
    review.get_by_role("button", name="Send review").click()
    expect(review.get_by_role("alert")).to_contain_text("invalid request", timeout=TIMEOUT_MS)
    expect(form_text).to_have_value("z" * 20_001)  # kept for another try
    fits_and_reads(looks(page, sidebar, ASKING))

    review.get_by_role("button", name="Merge").click()
    expect(review.get_by_role("status")).to_contain_text("merged: ", timeout=120_000)
    expect(change).to_have_attribute("data-state", "merged", timeout=TIMEOUT_MS)
    expect(review.locator(".om-party-review-title")).to_contain_text("merged")
    expect(review.get_by_role("button", name="Merge")).to_be_hidden()
    screenshot(page, "guest-reviewer")
    fits_and_reads(looks(page, sidebar, ANSWERED))
    landed = a.api("GET", f"changes/{held['log']}")
    assert landed["state"] == "merged" and landed["merge_commit"], landed
    assert git(a.root, "rev-parse", "main").strip() == landed["merge_commit"]
    assert "print('adding')" in git(a.root, "show", "main:calc.py")


def test_requested_changes_from_a_guest_reviewer_become_a_follow_up_in_its_tree(
        servers: tuple[JupyterProcess, ...], held: dict[str, Any], page: Page) -> None:
    a, b = servers
    set_role(a, b, "reviewer")
    open_lab(page, b).locator(
        f'li.om-objective[data-objective-id="{held["objective"]}"] .om-objective-row').click()
    tree = page.locator('[id^="overmind-tree-"] .om-tree-view')
    change = tree.locator(f'li[data-node="change"][data-change-id="{held["swap"]}"]')
    expect(change).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    change.get_by_role("button", name="Request changes…").click()
    change.get_by_label(f"requested changes of change {held['swap']}").fill(
        "keep sub as a - b, with a comment")
    change.get_by_role("button", name="Send review").click()
    expect(change.get_by_role("status")).to_contain_text(
        "changes requested: follow-up task swap-review queued", timeout=TIMEOUT_MS)
    expect(change).to_have_attribute("data-state", "closed", timeout=TIMEOUT_MS)
    task = tree.locator('li[data-node="task"]').filter(has_text="task swap-review")
    expect(task).to_be_visible(timeout=TIMEOUT_MS)  # the host's follow-up, live here
    expect(task).to_have_attribute("data-state", "done", timeout=120_000)
    assert a.api("GET", f"changes/{held['swap']}")["state"] == "closed"
    assert "swap-review" in {t["name"] for t in a.api(
        "GET", f"objectives/{held['objective']}")["tasks"]}

    opened = tree.locator(  # the follow-up's change (the other task's may be open too)
        f'li[data-node="change"][data-state="open"]:not([data-change-id="{held["log"]}"])')
    expect(opened).to_have_count(1, timeout=TIMEOUT_MS)
    follow_id = opened.get_attribute("data-change-id")
    follow = tree.locator(f'li[data-node="change"][data-change-id="{follow_id}"]')
    follow.get_by_role("button", name="Close").click()
    expect(follow).to_have_attribute("data-state", "closed", timeout=TIMEOUT_MS)
    assert a.api("GET", f"changes/{follow_id}")["state"] == "closed"
