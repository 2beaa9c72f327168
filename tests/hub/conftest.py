"""Fixtures of the JupyterHub tests: one real hub per module, alice's server shared with bob.

``hub``: a running ``hub_harness.Hub`` whose user alice has her server spawned (a git
repository as her home) and shared with bob; carol has no share. Every process of the
hub's tree must be gone at the end (else they are killed and the module fails).
``tokens``: a hub API token per user. ``named_hub``: another hub, named servers on, with
no server running (hub targets). ``browser`` (Debian's Chromium through Playwright)
and the no-in-process-server overrides come from the browser tests' conftest.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))  # lab_driver

from hub_harness import USERS, Hub
from lab_driver import check_built

from overmind_jupyter.testing.repos import make_repo

BROWSER_TESTS = Path(__file__).resolve().parents[1] / "browser"
_spec = importlib.util.spec_from_file_location("browser_conftest", BROWSER_TESTS / "conftest.py")
assert _spec is not None and _spec.loader is not None
_browser_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_browser_conftest)
browser = _browser_conftest.browser
jp_asyncio_loop = _browser_conftest.jp_asyncio_loop  # autouse: Playwright runs its own loop
jp_server_cleanup = _browser_conftest.jp_server_cleanup


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
def named_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub with named servers on (no server spawned): hub targets' tests."""
    running = Hub(tmp_path_factory.mktemp("named-hub"), named_servers=True).start()
    try:
        yield running
    finally:
        left = running.stop()
        assert left == [], f"processes survived the hub: {left}"


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    return {user: hub.token(user) for user in USERS}
