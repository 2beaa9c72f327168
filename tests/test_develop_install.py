"""Develop installs: `jupyter labextension develop` (now `jupyter-builder develop`) finds the
built labextension through `_jupyter_labextension_paths()` and links it, and JupyterLab
then lists it as OK from that directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import overmind_jupyter

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=100)
    out = ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, f"{argv} failed:\n{out[-3000:]}"
    return out


def test_labextension_paths_name_the_built_extension():
    [entry] = overmind_jupyter._jupyter_labextension_paths()
    built = Path(overmind_jupyter.__file__).parent / entry["src"]
    assert entry["dest"] == "overmind-jupyter"
    assert (built / "package.json").is_file(), "UI not built: run `make ui`"


def test_develop_links_the_checkout_and_jupyterlab_lists_it(tmp_path: Path):
    data = tmp_path / "data"
    target = data / "labextensions"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "JUPYTER_DATA_DIR": str(data), "JUPYTER_PREFER_ENV_PATH": "0"}
    run([str(BIN / "jupyter-builder"), "develop", "--overwrite",
         f"--DevelopLabExtensionApp.labextensions_dir={target}",
         "--DevelopLabExtensionApp.sys_prefix=False", str(REPO)], env)
    link = target / "overmind-jupyter"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "overmind_jupyter" / "labextension").resolve()

    listed = run([str(BIN / "jupyter"), "labextension", "list"], env)
    ours = listed.split(str(target), 1)[1].split("\n\n", 1)[0]  # the section of that dir
    line = next(ln for ln in ours.splitlines() if "overmind-jupyter" in ln)
    assert "enabled" in line and "OK" in line, listed
