"""The change review in a real JupyterLab: a worktree mission's change (made by the
engine on a real git repository) shows in the sidebar's Changes section; its review tab
has the diff (unified and side by side, a notebook cell by cell) and merges it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import pytest
from jupyter_process import JupyterProcess, wait_until
from lab_driver import TIMEOUT_MS, command, open_sidebar, screenshot
from playwright.sync_api import Locator, Page, expect
from test_themes import contrast

# an element's text colour and the colour it is painted on: translucent backgrounds
# (a diff line's tint) composited over what is behind them, up to the first opaque one
PAINTED = """el => { const rgba = (c) => { const v = c.match(/[\\d.]+/g).map(Number);
    return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const layers = []; for (let n = el; n; n = n.parentElement) {
    const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break; }
  let bg = [255, 255, 255]; for (const [r, g, b, a] of layers.reverse()) {
    bg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)]; }
  return [getComputedStyle(el).color, `rgb(${bg.map(Math.round).join(', ')})`]; }"""


def toggled(on: Locator, off: Locator) -> float:
    """How far apart a pressed and an unpressed button's backgrounds are (contrast)."""
    return contrast(on.evaluate(PAINTED)[1], off.evaluate(PAINTED)[1])


def readable(*elements: Locator) -> list[float]:
    """The contrast ratio of each element's text on what it is painted on (WCAG)."""
    return [contrast(*el.evaluate(PAINTED)) for el in elements]

pytestmark = pytest.mark.timeout(240)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def notebook(source: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Analysis"), nbformat.v4.new_code_cell(source)]
    for n, cell in enumerate(nb.cells):
        cell.id = f"cell{n}"
    return nbformat.writes(nb)


def make_change(lab: JupyterProcess) -> dict:
    """Commit a project with a test suite in the lab's root, then let a worktree mission
    edit ``calc.py`` and ``analysis.ipynb``: the engine commits its edits and opens a
    change."""
    root = lab.root
    git(root, "config", "user.name", "Host")
    git(root, "config", "user.email", "host@example.invalid")
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "analysis.ipynb").write_text(notebook("x = 1\nprint(x)"))
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    git(root, "add", "calc.py", "analysis.ipynb", "tests")
    git(root, "commit", "-qm", "init")
    return mission_change(lab, "edits", {
        "calc.py": "def add(a, b):\n    # sum them\n    return a + b + 0\n",
        "analysis.ipynb": notebook("x = 2\nprint(x)")})


def mission_change(lab: JupyterProcess, name: str, files: dict[str, str]) -> dict:
    """A worktree mission ``name`` that writes ``files``; the change it opens."""
    spare = lab.root.parent / name
    spare.mkdir()
    for path, text in files.items():
        (spare / path).write_text(text)
    argv = ["sh", "-c", " && ".join(f"cp {spare}/{path} {path}" for path in files)]
    blueprint = f"[missions.{name}]\ncommand = {json.dumps(argv)}\nworktree = true\n"
    lab.api("POST", "blueprints", {"text": blueprint, "name": f"{name}-blueprint"})
    return wait_until(lambda: next((c for c in lab.api("GET", "changes")["changes"]
                                    if c["task"] == name), None), 60, f"{name}'s change")


@pytest.fixture(scope="module")
def first_change(lab: JupyterProcess) -> dict:
    """The project (with its tests) committed in the lab's root and its first change,
    whichever test of the module runs first on this worker."""
    return make_change(lab)


def test_a_change_is_reviewed_in_its_diff_and_merged_from_the_panel(
        lab: JupyterProcess, page: Page, first_change: dict):
    change = first_change
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    sidebar = open_sidebar(page)
    item = sidebar.locator(f'.om-change-row[data-change-id="{change["id"]}"]')
    expect(item).to_have_attribute("data-state", "open", timeout=TIMEOUT_MS)
    expect(item).to_contain_text("+3 −2")
    item.click()

    review = page.locator(f'.om-change-review[data-change-id="{change["id"]}"]')
    expect(review).to_be_visible(timeout=TIMEOUT_MS)
    files = review.locator(".om-diff-files li")
    expect(files).to_have_count(2)
    calc = review.locator('.om-diff-file[data-path="calc.py"]')
    added = calc.locator('td.om-diff-code[data-kind="+"]')
    expect(added.first).to_contain_text("# sum them")
    expect(calc.locator(".om-tok-comment")).to_have_text("# sum them")  # highlighted
    expect(calc.locator(".om-tok-keyword", has_text="return").first).to_be_visible()
    nb = review.locator('.om-diff-file[data-path="analysis.ipynb"]')
    expect(nb).to_have_attribute("data-kind", "notebook")
    expect(nb.locator('.om-cell[data-status="unchanged"]')).to_contain_text("# Analysis")
    modified = nb.locator('.om-cell[data-status="modified"]')
    expect(modified.locator('td[data-kind="-"]')).to_contain_text("x = 1")
    expect(modified.locator('td[data-kind="+"]')).to_contain_text("x = 2")
    expect(nb).not_to_contain_text('"cell_type"')  # cells, not JSON lines
    screenshot(page, "change-unified")

    review.get_by_role("button", name="Side by side").click()
    expect(review.locator(".om-diff")).to_have_attribute("data-mode", "split")
    pair = calc.locator('table[data-mode="split"] tr[data-kind="change"]').first
    expect(pair.locator("td.om-diff-code").nth(0)).to_contain_text("return a + b")
    expect(pair.locator("td.om-diff-code").nth(1)).to_contain_text("# sum them")
    screenshot(page, "change-side-by-side")
    pressed = review.locator(".om-diff-modes .om-button[aria-pressed='true']")
    tinted = calc.locator("td.om-diff-code[data-kind='+'], td.om-diff-code[data-kind='-']")
    words = [tinted.locator(f".om-tok-{kind}").first for kind in ("keyword", "comment")]
    shown = (added.first, *words, tinted.locator(".om-tok-keyword").last, pressed)
    other = review.locator(".om-diff-modes .om-button[aria-pressed='false']")
    light = [*readable(*shown), toggled(pressed, other)]
    command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false",
                                                   timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute
    dark = [*readable(*shown), toggled(pressed, other)]
    screenshot(page, "change-side-by-side-dark")
    command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
    for theme, (line, keyword, comment, removed, label, states) in (("light", light),
                                                                    ("dark", dark)):
        # text 4.5:1 (WCAG AA); a comment is secondary text in both of JupyterLab's
        # themes, 3.5:1 on a tinted line; the pressed mode apart from the other 3:1
        # (WCAG 1.4.11); dark was 1.9:1 for a keyword on a tinted line, 1.6:1 between modes
        assert min(line, keyword, removed, label) >= 4.5 and comment >= 3.5, (theme, light,
                                                                              dark)
        assert states >= 3.0, (theme, states)

    panel = review.locator(".om-change-panel")
    expect(panel.locator(".om-change-state")).to_have_text("open")
    expect(panel.get_by_role("button", name="Reopen")).to_be_disabled()
    panel.get_by_role("button", name="Merge").click()
    expect(panel.locator(".om-change-state")).to_have_text("merged", timeout=60_000)
    expect(panel.get_by_role("button", name="Merge")).to_be_disabled()
    expect(item).to_have_attribute("data-state", "merged", timeout=TIMEOUT_MS)
    screenshot(page, "change-merged")

    merged = lab.api("GET", f"changes/{change['id']}")
    assert merged["state"] == "merged" and merged["merge_commit"]
    target = merged["target"]  # the branch checked out in the lab's root
    assert git(lab.root, "rev-parse", target).strip() == merged["merge_commit"]
    assert "# sum them" in git(lab.root, "show", f"{target}:calc.py")


def test_a_reviewer_reads_the_tests_on_the_target_and_a_refused_merge_says_tests_failed(
        lab: JupyterProcess, page: Page, first_change: dict):  # the project is committed
    change = mission_change(lab, "breaks", {"calc.py": "def add(a, b):\n    return a - b\n"})
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    open_sidebar(page).locator(f'.om-change-row[data-change-id="{change["id"]}"]').click()
    panel = page.locator(f'.om-change-panel[data-change-id="{change["id"]}"]')
    expect(panel.locator(".om-check")).to_be_hidden(timeout=TIMEOUT_MS)  # not checked yet
    panel.get_by_role("button", name="Test again").click()
    check = panel.locator(".om-check")
    expect(check).to_have_attribute("data-state", "failed", timeout=120_000)
    tip = git(lab.root, "rev-parse", "HEAD").strip()
    expect(check).to_contain_text("Checked before review: tests failed on ")
    expect(check).to_contain_text(f"@{tip[:8]}")
    check.locator("summary").click()
    expect(check.locator("pre")).to_contain_text("assert add(2, 3) == 5")
    [light] = readable(check.locator("div").first)
    screenshot(page, "change-checked")
    row = page.locator(f'.om-change-row[data-change-id="{change["id"]}"]')
    expect(row.locator(".om-change-meta")).to_contain_text("tests fail")

    panel.get_by_role("button", name="Merge").click()  # the merge queue runs them again
    expect(panel.locator(".om-change-state")).to_have_text("tests failed", timeout=120_000)
    expect(row.locator(".om-change-state")).to_have_text("tests failed")  # not "conflicted"
    expect(check).to_be_visible()
    command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false",
                                                   timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute
    [dark] = readable(check.locator("div").first)
    command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
    assert min(light, dark) >= 4.5, (light, dark)  # was the success/error colour: 4.1:1
    assert git(lab.root, "rev-parse", "HEAD").strip() == tip  # nothing landed


def test_panel_errors_show_inline(lab: JupyterProcess, page: Page):
    (change,) = [c for c in lab.api("GET", "changes")["changes"] if c["state"] == "merged"]
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    sidebar = open_sidebar(page)
    sidebar.locator(f'.om-change-row[data-change-id="{change["id"]}"]').click()
    panel = page.locator(".om-change-panel")
    expect(panel.get_by_role("button", name="Request changes…")).to_be_disabled(
        timeout=TIMEOUT_MS)  # merged (and of no objective)
    page.evaluate("([id]) => window.jupyterapp.commands.execute('overmind:open-change', "
                  "{id: 'nosuch'})", [change["id"]])
    missing = page.locator('.om-change-review[data-change-id="nosuch"]')
    expect(missing.locator(".om-diff .om-message")).to_contain_text("no change",
                                                                     timeout=TIMEOUT_MS)
