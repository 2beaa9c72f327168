"""Done when (issue 18): with only a JupyterHub URL, user and token configured, a
``%%overmind prompt`` cell in the host's JupyterLab runs its task on a named server of
the hub, the execution tree shows it live ("on hub", the remote agent's tool calls) and
the change lands on the host's branch. Chromium against a real JupyterLab host and a
real JupyterHub (named servers on)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_harness import Hub
from jupyter_process import JupyterProcess
from lab_driver import TIMEOUT_MS, lab_home, open_notebook, screenshot, write_notebook
from playwright.sync_api import Browser, expect

from overmind_jupyter.config import HUB_TOKEN_ENV, HUB_URL_ENV, HUB_USER_ENV
from overmind_jupyter.testing.scripts import say, tool

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import log_task_scripts

pytestmark = pytest.mark.timeout(300)
USER = "carol"
NEW = "    print('adding')\n    return a + b\n"


@pytest.fixture(scope="module")
def host(named_hub: Hub, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[JupyterProcess]:
    """The host's JupyterLab: a git project, the scripted one-task "log" objective, and a
    hub configured by URL, user and token only."""
    base = tmp_path_factory.mktemp("hub-host")
    root = base / "root"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    for args in (["init", "-q", "-b", "main"], ["add", "calc.py"],
                 ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "i"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    scripts = log_task_scripts(base / "scripts", [
        tool("edit_file", path="calc.py", old_text="    return a + b\n", new_text=NEW),
        say("Added a print.")])
    env = {**lab_home(base / "home"), HUB_URL_ENV: named_hub.url, HUB_USER_ENV: USER,
           HUB_TOKEN_ENV: named_hub.token(USER)}
    server = JupyterProcess(root, base / "home", env=env, args=(
        "--LabApp.expose_app_in_browser=True", f"--Overmind.model=scripted:{scripts}",
        "--Overmind.auto_merge=True"))
    server.start()
    yield server
    assert server.reap() == [], "processes survived the host"


def test_a_prompt_cell_runs_its_task_on_a_named_server_and_the_tree_shows_it_live(
        host: JupyterProcess, named_hub: Hub, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        write_notebook(host.root, "prompt.ipynb", ["%load_ext overmind"])
        open_notebook(page, host, "prompt.ipynb")  # the kernel starts (see test_tree.py)
        write_notebook(host.root, "prompt.ipynb", [
            "%load_ext overmind", "%%overmind prompt\nlog every addition"])
        open_notebook(page, host, "prompt.ipynb")
        tree = page.locator(".overmind-widget .om-tree-view")
        task = tree.locator('li[data-node="task"]')
        expect(task.locator(".om-tree-meta").first).to_contain_text("on hub",
                                                                     timeout=TIMEOUT_MS)
        expect(tree.locator('li[data-node="objective"]')).to_have_attribute(
            "data-state", "done", timeout=120_000)
        expect(tree.locator('li[data-node="tool"]')).to_have_count(1)
        expect(tree.locator('li[data-node="tool"] .om-tree-preview')).to_have_text(
            "edited calc.py")
        expect(tree.locator('li[data-node="message"]')).to_contain_text("Added a print.")
        expect(tree.locator('li[data-node="change"]')).to_have_attribute("data-state",
                                                                         "merged")
        screenshot(page, "hub-task-tree")
    finally:
        page.close()
    (objective,) = host.api("GET", "objectives")["objectives"]
    tasks = host.api("GET", f"objectives/{objective['id']}")["tasks"]
    assert [t["runs_on"] for t in tasks] == ["hub"]
    landed = subprocess.run(["git", "show", "main:calc.py"], cwd=host.root, check=True,
                            capture_output=True, text=True).stdout
    assert "print('adding')" in landed
    assert named_hub.api("GET", f"users/{USER}").json().get("servers") == {}
