"""Fixtures of the JupyterHub tests: one real hub per module, alice's server shared with bob.

``hub``: a running ``hub_harness.Hub`` whose user alice has her server spawned (a git
repository as her home) and shared with bob; carol has no share. Every process of the
hub's tree must be gone at the end (else they are killed and the module fails).
``tokens``: a hub API token per user. ``browser``: Debian's Chromium through Playwright.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))  # lab_driver

from hub_harness import USERS, Hub
from lab_driver import check_built, launch
from playwright.sync_api import Browser, sync_playwright

from overmind_jupyter.testing.repos import make_repo


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> None:
    """No in-process Jupyter server here; Playwright's sync API runs its own loop."""


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> None:
    """No in-process Jupyter server to clean up (see ``jp_asyncio_loop``)."""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    check_built()
    home = tmp_path_factory.mktemp("hub")
    make_repo(home / "homes" / "alice", {"README.md": "# alice's project\n"})
    running = Hub(home).start()
    try:
        running.spawn("alice")
        running.share("alice", "bob")
        yield running
    finally:
        left = running.stop()
        assert left == [], f"processes survived the hub: {left}"


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    return {user: hub.token(user) for user in USERS}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
