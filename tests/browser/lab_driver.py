"""A real JupyterLab with the Overmind extensions, driven by Playwright in Debian's Chromium.

``start_lab(root, home)`` starts ``jupyter_server`` (JupyterLab's server extension is enabled in the
environment, so ``/lab`` is served) through ``tests/jupyter_process.py`` with private
Jupyter/IPython/JupyterLab directories, base URL ``/a@b/`` and the built labextension
linked into its data directory (so the tests use ``overmind_jupyter/labextension`` as
built, not an older installed copy). ``open_notebook`` writes a notebook, opens it and
runs all its cells. Screenshots go to ``tests/browser/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from jupyter_process import JupyterProcess
from playwright.sync_api import Browser, Page, expect

REPO = Path(__file__).resolve().parents[2]
LABEXTENSION = REPO / "overmind_jupyter" / "labextension"
WIDGET_BUNDLE = REPO / "overmind_jupyter" / "widgets" / "static" / "overmind.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
FAKE_AGENT = [sys.executable, "-m", "overmind_jupyter.testing.acp_agent"]
SIDEBAR_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="overmind-sidebar"]'
TIMEOUT_MS = 30_000


def check_built() -> None:
    """Fail with what to do when the UI assets were not built."""
    missing = [p for p in (LABEXTENSION / "package.json", WIDGET_BUNDLE) if not p.exists()]
    assert not missing, (f"UI assets not built ({missing}); run `npm install && npm run build`"
                         " in labextension/ (or `pip install -e .`, whose build hook does it)")


# every variable that chooses a model or holds a provider's key, emptied (a lab with none)
NO_PROVIDER = {var: "" for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY",
                                   "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL")}

def lab_home(home: Path) -> dict[str, str]:
    """JupyterLab's private settings/workspaces dirs (no news toast, no kernel dialog) and
    the built extension linked into the private data dir."""
    settings = home / "lab-settings"
    notify = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notify.parent.mkdir(parents=True, exist_ok=True)
    notify.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)  # no "Select Kernel" dialog
    tracker.write_text(json.dumps({"autoStartDefaultKernel": True}))
    link = home / "data" / "labextensions" / "overmind-jupyter"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(LABEXTENSION, target_is_directory=True)
    return {"JUPYTER_PREFER_ENV_PATH": "0",  # our data dir (and link) before the venv's
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces")}


def start_lab(root: Path, home: Path, token: str | None = None, *, args: tuple[str, ...] = (),
              env: dict[str, str] | None = None,
              agents: dict[str, list[str]] | None = None) -> JupyterProcess:
    """A Jupyter server serving JupyterLab + Overmind (missions survive its restarts);
    ``args`` and ``env``: more server options and environment variables; ``agents``: ACP
    agents besides ``fake`` (``c.Overmind.agents``, which takes one value only)."""
    check_built()
    if not (root / ".git").exists():  # Overmind's project is a git repository
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    agents_arg = json.dumps({"fake": FAKE_AGENT, **(agents or {})})
    lab = JupyterProcess(root, home, env={**lab_home(home), **(env or {})}, args=(
        "--ServerApp.base_url=/a@b/", "--LabApp.expose_app_in_browser=True",
        f"--Overmind.agents={agents_arg}", "--Overmind.stop_missions_on_exit=False", *args))
    if token:
        lab.jupyter_token = token
    return lab.start()


@contextlib.contextmanager
def serving(server: JupyterProcess) -> Iterator[JupyterProcess]:
    """``server`` for a test module; then every mission shut down and no process left
    (a survivor fails the module)."""
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.track_tree()
        server.api("POST", "shutdown", {}, timeout=60)
    assert server.reap() == [], "processes survived the server"


def launch(playwright: Any) -> Browser:
    """Debian's Chromium (Playwright cannot download its own browser here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def write_notebook(root: Path, name: str, cells: list[str]) -> Path:
    """A notebook of code cells at ``root/name``."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = root / name
    nbformat.write(nb, path)
    return path


def command(page: Page, name: str, args: dict | None = None) -> None:
    """Fire a JupyterLab command (not awaited: ``evaluate`` has no timeout of its own)."""
    page.evaluate("([n, a]) => { window.jupyterapp.commands.execute(n, a); }",
                  [name, args or {}])


def open_notebook(page: Page, lab: JupyterProcess, name: str) -> None:
    """Open ``name`` in JupyterLab, wait for an idle kernel, run all cells, wait for idle."""
    page.goto(f"{lab.url}lab/tree/{name}?reset&token={lab.jupyter_token}")
    idle = page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
    dialog = page.locator(".jp-Dialog .jp-mod-accept")  # "Select Kernel", sometimes asked
    deadline = time.monotonic() + 60
    while not (idle.is_visible() and not dialog.is_visible()):
        assert time.monotonic() < deadline, "the notebook's kernel did not become idle"
        if dialog.is_visible():
            dialog.click()
        page.wait_for_timeout(200)
    page.wait_for_timeout(1000)  # let the widget manager register its comm target
    last = page.locator(".jp-InputArea-prompt").last
    for _ in range(10):  # the command is ignored while the panel is still settling
        command(page, "notebook:run-all-cells")
        try:
            expect(last).to_have_text(re.compile(r"\[(\d+|\*)\]:"), timeout=3000)
            break
        except AssertionError:
            screenshot(page, "open-notebook-retry")
    expect(last).to_have_text(re.compile(r"\[\d+\]:"), timeout=60_000)
    expect(idle).to_be_visible(timeout=60_000)


def open_sidebar(page: Page) -> Any:
    """Show the Overmind sidebar panel; returns its locator."""
    panel = page.locator("#overmind-sidebar")
    if not panel.is_visible():
        page.locator(SIDEBAR_TAB).click()
    expect(panel).to_be_visible(timeout=TIMEOUT_MS)
    return panel


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot as a test artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
