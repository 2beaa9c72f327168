"""Light and dark themes: the Overmind views take their colours from JupyterLab's theme
variables, so switching JupyterLab to its dark theme turns them dark too (readable)."""

from __future__ import annotations

import pytest
from jupyter_process import JupyterProcess
from lab_driver import TIMEOUT_MS, command, open_notebook, open_sidebar, screenshot, write_notebook
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.timeout(240)

COLOURS = """el => { const s = getComputedStyle(el);
  const bg = (n) => { for (; n; n = n.parentElement) { const c = getComputedStyle(n)
    .backgroundColor; if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; }
    return 'rgb(255, 255, 255)'; };
  return [s.color, bg(el)]; }"""


def luminance(css: str) -> float:
    """Relative luminance of ``rgb(r, g, b)`` (WCAG 2.x formula, sRGB)."""
    channels = [int(float(v)) / 255 for v in css[css.index("(") + 1:-1].split(",")[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two colours (1 … 21)."""
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_sidebar_and_widgets_follow_the_dark_theme(lab: JupyterProcess, page: Page):
    write_notebook(lab.root, "themes.ipynb", [
        "%load_ext overmind", "%overmind run --name painter -- sleep 300", "%overmind ps"])
    open_notebook(page, lab, "themes.ipynb")
    sidebar = open_sidebar(page)
    row = sidebar.locator(".om-missions").get_by_text("painter")
    widget = page.locator(".overmind-widget .om-missions").get_by_text("painter")
    expect(row).to_be_visible(timeout=TIMEOUT_MS)
    expect(widget).to_be_visible(timeout=TIMEOUT_MS)
    light = [row.evaluate(COLOURS), widget.evaluate(COLOURS)]
    screenshot(page, "theme-light")

    command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false",
                                                   timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute
    dark = [row.evaluate(COLOURS), widget.evaluate(COLOURS)]
    screenshot(page, "theme-dark")
    command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
    lab.api("POST", "missions/painter/kill", {})

    for (fg_light, bg_light), (fg_dark, bg_dark) in zip(light, dark, strict=True):
        assert luminance(bg_light) > 0.5 and luminance(bg_dark) < 0.2  # the panel turned dark
        assert luminance(fg_dark) > luminance(bg_dark)  # light text on it
        assert contrast(fg_light, bg_light) >= 4.5 and contrast(fg_dark, bg_dark) >= 4.5
