"""Each member's share of the party's model spending, in the host's party panel (issue 17).

One JupyterLab hosts ada's party; its engine joins it twice, as bob and as cy (real guest
links). Each guest's prompt becomes its own objective: scripted roles (story, scope,
planner, evaluator) whose turns report tokens (bob's fewer than cy's), and one task run by
an agent that behaves like Claude Code on the wire (``testing/acp_agent.py --like
claude``: tokens and a USD cost per prompt). The panel shows each member's tokens and
USD as the engine reports them (``GET party``: ``party_view.member_spending``), the host
nothing (it spent nothing), readable (≥ 4.5:1) in the light and dark themes and inside
the 250 px sidebar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_process import JupyterProcess, wait_until
from lab_driver import FAKE_AGENT, TIMEOUT_MS, open_sidebar, screenshot, serving, start_lab
from playwright.sync_api import Locator, Page, expect
from test_party_panel import end_objective, member
from test_sidebar_prompt import theme, worst
from test_views import PAST_PANEL

from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.scripts import respond, write_role_scripts

pytestmark = pytest.mark.timeout(240)

# per objective, in the order the objectives ask: bob's first, then cy's
TITLES = ("Log additions", "Log subtractions")
ROLE_USAGE = ({"input_tokens": 200, "output_tokens": 40},
              {"input_tokens": 700, "output_tokens": 150})
# planner and evaluator turns per objective: the agent changes no file, so the engine
# plans a second round before it asks the host (who answers stop)
ROUNDS = 2
SPENT = re.compile(r"^([\d,]+) tok · \$(\d+\.\d+)$")  # components/usage.ts amountText


def role_scripts(directory: Path) -> Path:
    """Story, scope, planner and evaluator turns of the two one-task objectives."""
    def turns(answer: dict[str, Any], per_objective: int = 1) -> list[dict[str, Any]]:
        return [respond(answer, usage) for usage in ROLE_USAGE for _ in range(per_objective)]
    return write_role_scripts(
        directory,
        story=[respond({"groups": [{"title": title, "prompt_ids": ["p1"], "summary": "log"}],
                        "story": "calc"}, usage) for title, usage in zip(TITLES, ROLE_USAGE,
                                                                         strict=True)],
        scope=turns({"files": [{"path": "calc.py"}], "complexity": "low", "rationale": "c"}),
        planner=turns({"tasks": [{"name": "log", "description": "log: change add()",
                                  "scope": ["calc.py"]}]}, ROUNDS),
        evaluator=turns({"done": True, "feedback": "ok"}, ROUNDS))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    """Scripted roles, and ``claude``: the scripted ACP agent behaving like Claude Code
    (it needs an Anthropic key in its environment, which only it is given)."""
    base = tmp_path_factory.mktemp("party-spending")
    make_repo(base / "root", {"calc.py": "def add(a, b):\n    return a + b\n"})
    with serving(start_lab(
            base / "root", base / "home", env={"ANTHROPIC_API_KEY": "sk-ant-test-key"},
            args=(f"--Overmind.model=scripted:{role_scripts(base / 'scripts')}",),
            agents={"claude": [*FAKE_AGENT, "--like", "claude"]})) as server:
        yield server


def run_guest_prompt(lab: JupyterProcess, name: str, text: str, title: str) -> None:
    """``name`` (joined here) submits ``text``, run by ``claude``; returns once its
    objective ``title`` has ended."""
    lab.api("POST", "party/prompts", {"text": text, "member": name, "agent": "claude"})
    wait_until(lambda: any(o["title"] == title for o in lab.api("GET", "objectives")[
        "objectives"]), 60, f"{name}'s prompt to become objective {title}")
    end_objective(lab, title)


@pytest.fixture(scope="module")
def spent(lab: JupyterProcess) -> dict[str, dict[str, Any]]:
    """ada's party, bob's and cy's prompts run to their end: each member's ``spent`` as
    ``GET party`` reports it, by name."""
    hosted = lab.api("POST", "party", {"name": "ada", "auto_approve": ["bob", "cy"],
                                       "auto_approve_prompts": True})
    lab.api("POST", "party/join", {"invite": hosted["invite"], "name": "bob"})
    second = lab.api("POST", "party/invites", {})
    lab.api("POST", "party/join", {"invite": second["invite"], "name": "cy"})
    for name, text, title in (("bob", "log every addition", TITLES[0]),
                              ("cy", "log every subtraction", TITLES[1])):
        run_guest_prompt(lab, name, text, title)
    members = lab.api("GET", "party")["hosting"]["members"]
    return {m["name"]: m["spent"] for m in members}


def shown(row: Locator) -> tuple[int, float]:
    """A member row's spending as read on the page: (tokens, USD)."""
    text = row.locator(".om-member-spent").text_content()
    found = SPENT.match(text)
    assert found, text
    return int(found[1].replace(",", "")), float(found[2])


def test_the_host_sees_each_members_tokens_and_usd_as_the_engine_reports_them(
        lab: JupyterProcess, page: Page, spent: dict[str, dict[str, Any]]):
    ids = {o["title"]: o["id"] for o in lab.api("GET", "objectives")["objectives"]}
    totals = [lab.api("GET", f"objectives/{ids[title]}")["spent"] for title in TITLES]
    assert spent["ada"] == {"tokens": 0, "cost_usd": 0.0}, spent
    for name, total in zip(("bob", "cy"), totals, strict=True):  # one prompt each
        assert spent[name]["tokens"] == total["tokens"] > 0, (spent, totals)
        assert spent[name]["cost_usd"] == pytest.approx(total["cost_usd"]), (spent, totals)
        assert spent[name]["cost_usd"] > 0, spent  # the agent's prompts are priced
    assert spent["bob"]["tokens"] < spent["cy"]["tokens"]  # their roles' turns differ

    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    section = open_sidebar(page).locator(".om-party-section")
    expect(member(section, "cy")).to_be_visible(timeout=TIMEOUT_MS)
    for name in ("bob", "cy"):
        tokens, usd = shown(member(section, name))
        assert tokens == spent[name]["tokens"], (name, tokens, spent[name])
        assert usd == pytest.approx(spent[name]["cost_usd"], abs=0.00005), (name, usd)
    expect(member(section, "ada").locator(".om-member-spent")).to_have_count(0)
    screenshot(page, "party-spending")
    print("spent", spent)


def test_the_members_spending_reads_in_light_and_dark_inside_250_px(
        lab: JupyterProcess, page: Page, spent: dict[str, dict[str, Any]]):
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    sidebar = open_sidebar(page)
    section = sidebar.locator(".om-party-section")
    expect(section.locator(".om-member-spent")).to_have_count(2, timeout=TIMEOUT_MS)
    seen = {}
    try:
        for name, dark in (("JupyterLab Light", False), ("JupyterLab Dark", True)):
            theme(page, name, dark)
            seen[name] = {"texts": worst(section, ".om-member-spent", ".om-member-name",
                                         ".om-role"),
                          "outside": section.evaluate(PAST_PANEL)}
            screenshot(page, f"party-spending-{'dark' if dark else 'light'}")
    finally:
        theme(page, "JupyterLab Light", False)  # the theme is a saved user setting
    width = sidebar.evaluate("el => el.clientWidth")
    print("party spending at", width, "px:", json.dumps(seen))
    assert width <= 250, width  # JupyterLab's default sidebar
    for name, found in seen.items():
        assert found["outside"] == [], (name, found)
        assert min(found["texts"].values()) >= 4.5, (name, found["texts"])
