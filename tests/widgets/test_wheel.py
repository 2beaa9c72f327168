"""The built wheel carries the UI: installed into a fresh virtualenv with no Node.js on
PATH, JupyterLab lists the labextension as OK and the server extension as enabled."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)
REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(argv: list[str], env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    out = ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, f"{argv} failed:\n{out[-3000:]}"
    return out


def build_wheel(dest: Path) -> Path:
    """``python -m build --wheel`` of this checkout with this environment's hatchling and
    build hook (the hook rebuilds the UI only when its sources are newer than the built
    assets)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dest),
         str(REPO)], env)
    [wheel] = dest.glob("overmind_jupyter-*.whl")
    return wheel


def test_the_wheel_installs_a_working_ui_without_node(tmp_path: Path):
    wheel = build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    share = "overmind_jupyter-0.1.0.data/data/share/jupyter/labextensions/overmind-jupyter/"
    assert "overmind_jupyter/widgets/static/overmind.js" in names
    assert f"{share}package.json" in names and f"{share}install.json" in names
    assert any(n.startswith(f"{share}static/remoteEntry.") for n in names)

    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    home = tmp_path / "home"
    env = {"PATH": str(venv / "bin"), "HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache/pip"))}
    assert shutil.which("node", path=env["PATH"]) is None  # no Node.js for the user
    run([str(venv / "bin/pip"), "install", "-q", str(wheel), "jupyterlab>=4.4,<5"], env)

    labext = run([str(venv / "bin/jupyter"), "labextension", "list"], env)
    line = next(ln for ln in labext.splitlines() if "overmind-jupyter" in ln)
    assert "enabled" in line and "OK" in line and "python, overmind-jupyter" in line, labext
    server = run([str(venv / "bin/jupyter"), "server", "extension", "list"], env)
    assert re.search(r"overmind_jupyter enabled", server), server
    assert "overmind_jupyter" in server and "OK" in server.split("overmind_jupyter", 1)[1]
    esm = run([str(venv / "bin/python"), "-c", "from overmind_jupyter.widgets import "
               "MissionTable as M; print(len(M()._esm))"], env)
    assert int(esm.split()[-1]) > 1000  # the bundle ships inside the package
