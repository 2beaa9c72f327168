"""Every notebook in notebooks/ runs clean under nbval (lax), offline, in a scratch repo."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.timeout(300)
NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_under_nbval(notebook: Path, tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    shutil.copy(notebook, repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), IPYTHONDIR=str(tmp_path / "ipy"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", notebook.name, "-q",
         "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts="],
        cwd=repo, env=env, capture_output=True, text=True, timeout=280)
    servers = _stop_servers(tmp_path / "runtime")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert not _mission_processes_in(repo), "a mission outlived the notebook's kernel"
    assert not servers, f"the notebook left Overmind servers running: {servers}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(notebook: Path):
    nb = json.loads(notebook.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert all(c.get("id") for c in nb["cells"])  # stable ids: clean diffs


def _stop_servers(runtime: Path) -> list[str]:
    """Kill the Overmind servers whose runtime files are left in ``runtime`` (a notebook
    that starts one must shut it down); return their roots."""
    left = []
    for path in runtime.glob("overmind-*.json"):
        info = json.loads(path.read_text())
        with contextlib.suppress(psutil.Error):
            psutil.Process(info["pid"]).kill()
            left.append(info["root"])
    return left


def _mission_processes_in(repo: Path) -> list[int]:
    """Live processes started as Overmind missions with their cwd inside ``repo``."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if "OVERMIND_MISSION_ID" in proc.environ() and \
                    Path(proc.cwd()).is_relative_to(repo) and proc.status() != "zombie":
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found
