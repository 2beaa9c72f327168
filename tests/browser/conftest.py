"""Fixtures of the browser tests: one JupyterLab and one Chromium per test module.

``lab``: a JupyterLab server (``lab_driver.start_lab``) on a scratch root; at the end every
mission is shut down and any process left is killed (and fails the module).
``page``: a fresh browser page per test (console errors are printed on failure).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jupyter_process import JupyterProcess
from lab_driver import NO_PROVIDER, launch, screenshot, serving, start_lab
from playwright.sync_api import Browser, Page, sync_playwright

from overmind_jupyter.testing.repos import make_repo


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> None:
    """pytest-jupyter's autouse event loop clashes with Playwright's sync API (which runs
    its own loop); these tests use no in-process server, so they need none."""


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> None:
    """No in-process Jupyter server to clean up here (see ``jp_asyncio_loop``)."""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    with serving(start_lab(root, base / "home")) as server:
        yield server


@pytest.fixture(scope="module")
def bare_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    """A lab with no model: neither OVERMIND_MODEL / c.Overmind.model nor a provider's
    variables (``NO_PROVIDER``)."""
    base = tmp_path_factory.mktemp("no-model")
    make_repo(base / "root", {"README.md": "a project\n"})
    with serving(start_lab(base / "root", base / "home", env=NO_PROVIDER)) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print("browser console errors:", *errors, sep="\n  ")
        screenshot(page, f"failed-{request.node.name}")
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report

