"""Shared fixture of the engine and supervisor tests: ``harness`` (see ``engine_harness``).

``harness.run(body)`` runs ``await body(engine)`` with a fresh Engine on ``tmp_path`` and
closes it; any process a mission ran that is still alive at teardown is SIGKILLed by pid
and fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_harness import Harness

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    root = tmp_path / "project"
    root.mkdir()
    h = Harness(root)
    yield h
    left = h.reap_survivors()
    assert not left, f"processes survived the test: {left}"
