"""Fixtures of the server tests: pytest-jupyter's in-process server with Overmind enabled.

pytest-jupyter never runs the server's IO loop, so the extensions' async start hooks
(``_post_start``) are not called by it: ``jp_serverapp`` is overridden to start them, which
opens the engine's store exactly as a real server does. The base URL stays pytest-jupyter's
``/a%40b/``. The extension edits ``os.environ`` (it exports ``OVERMIND_*``);
``restore_environ`` puts it back so no later test sees a dead server's URL.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from jupyter_process import alive


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"overmind_jupyter": True}}}


@pytest.fixture(autouse=True)
def restore_environ() -> Iterator[None]:
    """The extension edits ``os.environ`` (exports OVERMIND_*, takes provider keys)."""
    saved = dict(os.environ)
    yield
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture
def jp_serverapp(jp_serverapp, jp_asyncio_loop):
    """The in-process server with its extensions started (the engine is open)."""
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_all_extensions())
    return jp_serverapp


@pytest.fixture
def overmind_token(jp_serverapp) -> str:
    """The scoped token the extension hands to kernels and the CLI."""
    return jp_serverapp.web_app.settings["overmind_token"]


@pytest.fixture
def engine(jp_serverapp):
    """The engine the extension owns."""
    return jp_serverapp.web_app.settings["overmind_engine"]


@pytest.fixture
def reaper(jp_serverapp, jp_asyncio_loop) -> Iterator[dict[int, float]]:
    """Every process a mission of this server ran must be gone once the server stopped.

    At teardown the server's extensions are stopped (as a server stopping does), then any
    survivor is SIGKILLed by pid and fails the test. Yields pid → start time seen so far.
    """
    engine = jp_serverapp.web_app.settings["overmind_engine"]
    seen: dict[int, float] = {}

    def listener(batch: list[dict]) -> None:
        for event in batch:
            pid = event["data"].get("pid")
            if pid and event["type"] in ("mission-status", "mission-adopted"):
                with contextlib.suppress(psutil.Error):
                    seen.setdefault(pid, psutil.Process(pid).create_time())

    engine.subscribe(listener)
    yield seen
    engine.unsubscribe(listener)
    jp_asyncio_loop.run_until_complete(jp_serverapp.cleanup_extensions())
    left = [pid for pid, created in seen.items() if alive(pid, created)]
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"mission processes survived the server: {left}"

