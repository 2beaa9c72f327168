"""The ``magics`` fixture of the widget tests: ``%overmind`` magics with widgets on and an
engine embedded in this process (IPython's test shell), working in ``magics_project``,
without the periodic snapshot refresh (displayed outputs change only when a test asks:
``magics.snapshots.flush()``, or a test that sets ``snapshot_refresh_s`` itself).

A test module that needs another project (a git repository, a scripted model) overrides
``magics_project``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.testing.globalipapp import start_ipython

from overmind_jupyter.magics import OvermindMagics


@pytest.fixture
def magics_project(tmp_path: Path) -> Path:
    """The folder the magics work in (their engine's project): empty here."""
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def magics(magics_project: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[OvermindMagics]:
    """Magics with widgets on, no periodic snapshot refresh and an engine embedded in this
    process, in ``magics_project`` (the current directory); the engine stops afterwards."""
    monkeypatch.chdir(magics_project)
    for var in ("OVERMIND_URL", "OVERMIND_TOKEN", "OVERMIND_ROOT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    start_ipython()
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    shell = TerminalInteractiveShell.instance()
    shell.config.pop("OvermindMagics", None)
    m = OvermindMagics(shell=shell, mode="embedded", widgets="on", snapshot_refresh_s=0)
    shell.register_magics(m)
    yield m
    m.close()
