"""The sidebar's prompt box and its "Needs you" queue in a real JupyterLab (issue 17).

Three servers: ``lab`` has a scripted model (an empty script directory: the story agent
fails, so each prompt becomes its own objective titled by its first line, and planning
stops there), a second model choice with a long id, and a provider key in its
environment that must never reach the page; ``bare_lab`` has no model at all;
``chooser_lab`` plans the one-task "log" objective and offers a second scripted model
whose task agent edits differently, and one without a key. The box submits with an
agent, "hold for review" and a budget, on the default model or a chosen one; keeps the
text and shows the server's message on an error; says which model answers, or that none
is configured (then Submit is disabled). "Needs you" lists an open question and a held
change oldest first, live, and opens the change's review. Both fit the 250 px sidebar
with text ≥ 4.5:1 in the light and dark themes.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_process import JupyterProcess, wait_until
from lab_driver import (
    NO_PROVIDER,
    TIMEOUT_MS,
    command,
    open_sidebar,
    screenshot,
    serving,
    start_lab,
)
from playwright.sync_api import Locator, Page, Route, expect
from test_changes import PAINTED
from test_themes import contrast

from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.scripts import say, tool

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import log_task_scripts

pytestmark = pytest.mark.timeout(240)

SECRET = "sk-overmind-test-0123456789abcdef"  # a provider key the browser must never see
NO_MODEL = "no model configured — set OVERMIND_MODEL or c.Overmind.model on the server"
PROMPTS = re.compile(r".*/overmind/api/prompts(\?.*)?$")
KEY_LIKE = re.compile(r"(^|_)(api_?)?(key|secret|token|password)$", re.I)
# a second model choice of ``lab``: a long id (an endpoint needs no key), for the layout
LONG_CHOICE = "openai:qwen2.5-coder-1.5b-instruct-q4_k_m@http://127.0.0.1:8091/v1"
NO_KEY_CHOICE = "gemini:gemini-2.5-flash"  # NO_PROVIDER: no Gemini key, not choosable
CHOSEN_EDIT = "    print('chosen')\n    return a + b\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    """A scripted model (no scripts), a second choice, and a provider key only the server
    may know."""
    base = tmp_path_factory.mktemp("prompt")
    (base / "scripts").mkdir()
    make_repo(base / "root", {"README.md": "a project\n"})  # objectives need a commit
    with serving(start_lab(base / "root", base / "home", env={
            **NO_PROVIDER, "OPENAI_API_KEY": SECRET, "OVERMIND_MODELS": LONG_CHOICE},
            args=(f"--Overmind.model=scripted:{base / 'scripts'}",))) as server:
        yield server


@pytest.fixture(scope="module")
def chooser_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    """The "log" objective on scripted model A (its task adds ``print('adding')``), and
    two more choices: scripted model B's task script (it adds ``print('chosen')``) and a
    model without a key."""
    base = tmp_path_factory.mktemp("choice")
    make_repo(base / "root", {"calc.py": "def add(a, b):\n    return a + b\n"})
    default = log_task_scripts(base / "a")
    other = log_task_scripts(base / "b", [tool(
        "edit_file", path="calc.py", old_text="    return a + b\n", new_text=CHOSEN_EDIT),
        say("Done.")])
    models = f"scripted:{other / 'task-log.json'} {NO_KEY_CHOICE}"
    with serving(start_lab(base / "root", base / "home", env={
            **NO_PROVIDER, "OVERMIND_MODELS": models},
            args=(f"--Overmind.model=scripted:{default}",))) as server:
        yield server


def open_box(page: Page, lab: JupyterProcess) -> Locator:
    """Open JupyterLab and its Overmind sidebar; the prompt box, once its model is known."""
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    box = open_sidebar(page).locator(".om-prompt-box")
    expect(box.locator(".om-model-status")).to_have_attribute(
        "data-configured", re.compile("true|false"), timeout=TIMEOUT_MS)
    return box


def key_like(value: Any, path: str = "") -> list[str]:
    """The paths of fields in ``value`` named like a secret that hold a string."""
    if isinstance(value, dict):
        named = [f"{path}.{k}" for k, v in value.items()
                 if KEY_LIKE.search(k) and isinstance(v, str)]
        return named + [p for k, v in value.items() for p in key_like(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in key_like(v, f"{path}[{n}]")]
    return []


def test_a_prompt_from_the_box_becomes_an_objective_held_for_review(lab: JupyterProcess,
                                                                     page: Page):
    box = open_box(page, lab)
    status = box.locator(".om-model-status")
    expect(status).to_have_text("answers: scripted model (test double)")
    model = lab.api("GET", "model")
    assert model["configured"] and model["scripted"] and key_like(model) == []
    assert SECRET not in json.dumps(model) and SECRET not in page.content()

    text, submit = box.get_by_label("prompt", exact=True), box.locator(".om-prompt-submit")
    hold = box.get_by_role("checkbox", name="hold for review")
    expect(hold).to_be_checked()  # the default (settings: holdForReview)
    expect(submit).to_be_disabled()  # nothing to send yet
    box.get_by_label("agent", exact=True).select_option("fake")
    box.get_by_label("budget: most tokens").fill("50000")
    text.fill("add a --version flag\nprint the package version")
    held: list[Route] = []
    page.route(PROMPTS, lambda route: held.append(route))  # held: the busy state shows
    text.press("Control+Enter")
    expect(submit).to_have_text("Grouping prompt…")
    expect(submit).to_be_disabled()
    expect(box.get_by_role("status")).to_contain_text("the story agent is grouping it")
    assert len(held) == 1 and held[0].request.post_data_json == {
        "text": "add a --version flag\nprint the package version", "wait": False,
        "auto_merge": False, "agent": "fake", "max_tokens": 50000}
    held[0].continue_()
    page.unroute(PROMPTS)

    result = box.get_by_role("status")
    expect(result).to_have_text(re.compile(r"^objective \w+: add a --version flag$"),
                                timeout=60_000)
    expect(text).to_have_value("")
    expect(submit).to_have_text("Submit")
    expect(box.get_by_label("agent", exact=True)).to_have_value("fake")  # choices stay
    expect(hold).to_be_checked()
    expect(box.get_by_label("budget: most tokens")).to_have_value("50000")
    oid = result.text_content().split(":")[0].split()[1]
    objective = next(o for o in lab.api("GET", "objectives")["objectives"] if o["id"] == oid)
    assert objective["auto_merge"] is False and objective["agent"] == "fake"
    assert objective["budget"]["max_tokens"] == 50000
    row = page.locator(f'.om-objective-row[data-objective-id="{oid}"]')
    expect(row).to_contain_text("add a --version flag", timeout=TIMEOUT_MS)


def test_without_a_model_the_box_says_so_and_submit_stays_disabled(bare_lab: JupyterProcess,
                                                                  page: Page):
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if PROMPTS.match(r.url) else None)
    box = open_box(page, bare_lab)
    status = box.locator(".om-model-status")
    expect(status).to_have_text(NO_MODEL)
    expect(status).to_have_attribute("data-configured", "false")
    expect(status).to_have_attribute("title", re.compile(r"OVERMIND_MODEL, OPENAI_API_KEY"))
    model = bare_lab.api("GET", "model")
    assert not model["configured"] and model["model"] is None and key_like(model) == []
    assert model["choices"] == []
    expect(box.get_by_label("model", exact=True)).to_be_hidden()  # nothing to choose

    text, submit = box.get_by_label("prompt", exact=True), box.locator(".om-prompt-submit")
    text.fill("speed up the parser")
    expect(text).to_be_editable()
    expect(submit).to_be_disabled()
    expect(submit).to_have_attribute("title", NO_MODEL)
    text.press("Control+Enter")
    # a post would have been sent by the next frame (the key handler calls fetch at once)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
    assert posted == []
    expect(text).to_have_value("speed up the parser")


def test_a_server_error_keeps_the_text_and_shows_the_message(lab: JupyterProcess, page: Page):
    box = open_box(page, lab)
    text, submit = box.get_by_label("prompt", exact=True), box.locator(".om-prompt-submit")
    error = box.get_by_role("alert")
    too_long = "x" * 20_001  # PromptBody: at most 20,000 characters
    text.fill(too_long)
    submit.click()
    expect(error).to_have_text(re.compile(r"invalid request: text: .*at most 20000 char"),
                               timeout=TIMEOUT_MS)
    expect(text).to_have_value(too_long)
    expect(submit).to_be_enabled()
    expect(box.locator(".om-prompt-result")).to_be_empty()

    agent = box.get_by_label("agent", exact=True)  # an agent the server does not know
    agent.evaluate("s => s.add(new Option('ghost', 'ghost'))")
    agent.select_option("ghost")
    text.fill("document the CLI")
    text.press("Control+Enter")
    expect(error).to_contain_text("unknown agent 'ghost'", timeout=TIMEOUT_MS)
    expect(text).to_have_value("document the CLI")

    agent.select_option("")
    model = box.get_by_label("model", exact=True)  # a model the server does not offer
    model.evaluate("s => s.add(new Option('openai:ghost', 'openai:ghost'))")
    model.select_option("openai:ghost")
    text.press("Control+Enter")
    expect(error).to_contain_text("choose one of scripted:", timeout=TIMEOUT_MS)
    expect(error).to_contain_text(LONG_CHOICE)
    expect(text).to_have_value("document the CLI")


def test_a_prompt_runs_on_the_model_chosen_in_the_box(chooser_lab: JupyterProcess,
                                                       page: Page):
    box = open_box(page, chooser_lab)
    choices = chooser_lab.api("GET", "model")["choices"]
    default, chosen = choices[0]["id"], choices[1]["id"]
    assert chosen.endswith("/b/task-log.json") and choices[2]["id"] == NO_KEY_CHOICE
    model = box.get_by_label("model", exact=True)
    expect(model).to_be_visible()
    expect(model).to_have_value("")  # the default
    options = model.locator("option")
    expect(options).to_have_text([f"{default} (default)", chosen, NO_KEY_CHOICE])
    expect(options.nth(2)).to_be_disabled()
    expect(options.nth(2)).to_have_attribute("title", re.compile("set GEMINI_API_KEY"))

    model.select_option(chosen)
    expect(model).to_have_attribute("title", chosen)  # the whole id, however cut
    box.get_by_role("checkbox", name="hold for review").uncheck()  # lands by itself
    text = box.get_by_label("prompt", exact=True)
    text.fill("log every addition")
    with page.expect_request(PROMPTS, timeout=TIMEOUT_MS) as sent:
        text.press("Control+Enter")
    assert sent.value.post_data_json == {"text": "log every addition", "wait": False,
                                         "auto_merge": True, "model": chosen}
    result = box.get_by_role("status")
    expect(result).to_have_text(re.compile(r"^objective \w+: Log$"), timeout=60_000)
    expect(model).to_have_value(chosen)  # the choice stays for the next prompt
    oid = result.text_content().split(":")[0].split()[1]

    ended = chooser_lab.api("POST", f"objectives/{oid}/wait", {"timeout_s": 120},
                            timeout=130)
    assert ended["state"] == "done", ended
    assert chooser_lab.api("GET", f"objectives/{oid}")["agent_model"] == chosen
    landed = subprocess.run(["git", "show", "main:calc.py"], cwd=chooser_lab.root,
                            check=True, capture_output=True, text=True).stdout
    assert "print('chosen')" in landed and "print('adding')" not in landed, landed


def needs_rows(section: Locator) -> list[tuple[str, str]]:
    return [(li.get_attribute("data-kind"), li.get_attribute("data-id"))
            for li in section.locator("li.om-needs-row").all()]


def ask(lab: JupyterProcess, name: str) -> dict:
    """A scripted agent mission asking to run a long command: its open question."""
    mission = lab.api("POST", "missions", {
        "command": ["ask", "make", "deploy", "--target", "production-cluster-eu-west-1",
                    "--confirm-every-step"], "kind": "agent", "agent": "fake", "name": name})
    lab.track(mission["pid"])
    return wait_until(lambda: next((q for q in lab.api("GET", "questions")["questions"]
                                    if q["mission"] == mission["id"]), None),
                      what=f"{name}'s question")


def held_change(lab: JupyterProcess, path: str, text: str) -> dict:
    """A worktree mission writes ``path``: the engine commits it and opens a change, held
    for review (a mission's change never merges by itself)."""
    argv = ["sh", "-c", f"printf %s {shlex.quote(text)} > {path}"]
    blueprint = f"[missions.writer]\ncommand = {json.dumps(argv)}\nworktree = true\n"
    lab.api("POST", "blueprints", {"text": blueprint, "name": "needs-you"})
    return wait_until(lambda: next((c for c in lab.api("GET", "changes")["changes"]
                                    if c["task"] == "writer"), None), 60, "the writer's change")


def test_needs_you_lists_a_question_and_a_held_change_oldest_first_live(
        lab: JupyterProcess, page: Page):
    open_box(page, lab)
    section = page.locator("#overmind-sidebar .om-needs-section")
    expect(section.locator(".om-title")).to_have_text("Needs you")
    question = ask(lab, "asker")
    change = held_change(lab, "notes.md", "what the writer wrote\n")
    queue = lab.api("GET", "needs-you")["items"]
    assert [i["since"] for i in queue] == sorted(i["since"] for i in queue)
    expected = [(i["kind"], i["id"]) for i in queue]
    assert expected.index(("question", question["id"])) < expected.index(("change", change["id"]))
    rows = section.locator("li.om-needs-row")
    expect(rows).to_have_count(len(expected), timeout=TIMEOUT_MS)  # live, no reload
    assert needs_rows(section) == expected

    asked = section.locator(f'li[data-kind="question"][data-id="{question["id"]}"]')
    expect(asked.locator(".om-needs-what")).to_have_text("question · tool-approval")
    expect(asked.locator(".om-needs-age")).to_have_text(re.compile(r"^\d+[smhd]$"))
    title = asked.locator(".om-needs-title")
    expect(title).to_contain_text("make deploy")
    full = title.get_attribute("title")
    assert "--confirm-every-step" in full  # the whole title, as a tooltip
    clipped, width = title.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert clipped > width, (clipped, width)  # one line, cut by an ellipsis
    held = section.locator(f'li[data-kind="change"][data-id="{change["id"]}"]')
    expect(held.locator(".om-needs-what")).to_have_text("change · open")
    screenshot(page, "sidebar-needs-you")

    asked.click()  # the question, in the Questions inbox, ready for an answer
    answer = page.locator(f'.om-inbox [data-question-id="{question["id"]}"] button').first
    expect(answer).to_be_focused()
    held.click()
    review = page.locator(f'.om-change-review[data-change-id="{change["id"]}"]')
    expect(review).to_be_visible(timeout=TIMEOUT_MS)

    lab.api("POST", f"questions/{question['id']}/answer", {"text": "deny"})
    expect(asked).to_have_count(0, timeout=TIMEOUT_MS)  # gone live
    expect(held).to_be_visible()


# elements of the prompt box and Needs you not wholly inside the sidebar (px beyond)
OUTSIDE = """panel => { const box = panel.getBoundingClientRect();
  const left = box.left + panel.clientLeft, right = left + panel.clientWidth;
  return [...panel.querySelectorAll('.om-prompt-box *, .om-needs-section *')]
    .filter(el => el.getClientRects().length).map(el => { const r = el.getBoundingClientRect();
      return [el.tagName + '.' + el.className, Math.round(left - r.left),
              Math.round(r.right - right)]; })
    .filter(([, l, r]) => l > 0 || r > 0); }"""

# how far the prompt box and Needs you scroll sideways (px beyond their width)
SCROLL = """panel => [...panel.querySelectorAll('.om-prompt-box, .om-needs-section')]
  .map(el => el.scrollWidth - el.clientWidth)"""

TEXTS = (".om-prompt-box .om-title", ".om-model-status", ".om-prompt-label",
         ".om-prompt-input", ".om-prompt-agent", ".om-prompt-model", ".om-prompt-budget",
         ".om-prompt-field:has(.om-prompt-hold)", ".om-prompt-submit", ".om-prompt-result",
         ".om-needs-section .om-title", ".om-needs-what", ".om-needs-title", ".om-needs-age")


def rgba(css: str) -> list[float]:
    values = [float(v) for v in re.findall(r"[\d.]+", css)]
    return [*values[:3], values[3] if len(values) > 3 else 1.0]


def ratio(el: Locator) -> float:
    """WCAG contrast of ``el``'s text on what it is painted on, a translucent text colour
    (JupyterLab's secondary text is ``rgba(…, .54)``) composited onto that first."""
    fg, bg = el.evaluate(PAINTED)
    (r, g, b, a), back = rgba(fg), rgba(bg)
    mixed = [c * a + d * (1 - a) for c, d in zip((r, g, b), back[:3], strict=True)]
    return contrast("rgb({}, {}, {})".format(*mixed), bg)


def worst(scope: Locator, *selectors: str) -> dict[str, float]:
    """The lowest contrast among the elements of each selector."""
    found = {sel: [ratio(el) for el in scope.locator(sel).all()] for sel in selectors}
    assert all(found.values()), [sel for sel, ratios in found.items() if not ratios]
    return {sel: round(min(ratios), 2) for sel, ratios in found.items()}


def theme(page: Page, name: str, dark: bool) -> None:
    """Switch JupyterLab's theme; return once the sidebar is painted in it."""
    command(page, "apputils:change-theme", {"theme": name})
    page.wait_for_function("""dark => { const c = getComputedStyle(document.querySelector(
        '#overmind-sidebar')).backgroundColor.match(/\\d+/g).map(Number);
        return ((c[0] + c[1] + c[2]) / 3 < 128) === dark; }""", arg=dark, timeout=TIMEOUT_MS)


def submit(box: Locator, text: str, shown: Locator, expected: str) -> None:
    """Submit ``text`` from the box; wait for ``shown`` to contain ``expected``."""
    field = box.get_by_label("prompt", exact=True)
    field.fill(text)
    field.press("Control+Enter")
    expect(shown).to_contain_text(expected, timeout=60_000)


def look(page: Page, box: Locator, dark: bool) -> dict[str, Any]:
    """In one theme: what sticks out of the sidebar and the contrast of every text, with
    a submitted prompt's objective shown, then with an error shown."""
    sidebar = page.locator("#overmind-sidebar")
    submit(box, f"a prompt in the {'dark' if dark else 'light'} theme", box.get_by_role(
        "status"), "objective ")
    box.get_by_label("prompt", exact=True).fill("a draft")  # Submit enabled
    texts = worst(sidebar, *TEXTS)
    screenshot(page, f"sidebar-prompt-{'dark' if dark else 'light'}")
    submit(box, "z" * 20_001, box.get_by_role("alert"), "invalid request")
    texts.update(worst(sidebar, ".om-prompt-error"))
    return {"outside": sidebar.evaluate(OUTSIDE), "client": sidebar.evaluate(
        "el => el.clientWidth"), "scroll": sidebar.evaluate(SCROLL), "texts": texts}


def test_the_box_and_queue_fit_250_px_and_read_in_light_and_dark(lab: JupyterProcess,
                                                                page: Page):
    box = open_box(page, lab)
    question = ask(lab, "layout-asker")
    row = page.locator(f'#overmind-sidebar li.om-needs-row[data-id="{question["id"]}"]')
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    box.get_by_label("budget: most USD").fill("0.75")
    seen = {}
    try:
        for name, dark in (("JupyterLab Light", False), ("JupyterLab Dark", True)):
            theme(page, name, dark)
            seen[name] = look(page, box, dark)
    finally:
        theme(page, "JupyterLab Light", False)  # the theme is a saved user setting
        lab.api("POST", f"questions/{question['id']}/answer", {"text": "deny"})
    for name, found in seen.items():
        assert found["client"] <= 250, found["client"]  # JupyterLab's default: 250 px
        assert found["outside"] == [] and found["scroll"] == [0, 0], (name, found)
        assert min(found["texts"].values()) >= 4.5, (name, found["texts"])
    print(json.dumps(seen, indent=1))
