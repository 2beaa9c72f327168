"""What can be checked of the Binder setup without mybinder.org: the files repo2docker reads
are consistent with the package, the notebooks and the README's badge."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import tomllib
import yaml

pytestmark = pytest.mark.timeout(30)
REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
BADGE = re.compile(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/HEAD\?urlpath=lab/tree/(\S+?)\)")


def test_post_build_is_an_executable_bash_script_that_fails_on_errors() -> None:
    script = BINDER / "postBuild"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    subprocess.run(["bash", "-n", str(script)], check=True)  # syntax
    mode = subprocess.run(["git", "ls-files", "-s", "binder/postBuild"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout
    assert not mode or mode.startswith("100755"), "postBuild must be committed executable"


def test_post_build_installs_this_checkout_with_what_the_notebooks_use() -> None:
    text = (BINDER / "postBuild").read_text()
    extras = re.search(r'pip install .*-e "\.\[(\w+)\]"', text)
    assert extras, "postBuild installs the checkout editable (notebooks import demo/)"
    optional = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"][extras.group(1)]
    names = {re.split(r"[<>=\[]", d)[0] for d in optional}
    assert {"pytest", "ruff", "nbclient", "ipykernel"} <= names
    # the cache the notebooks read is filled at build time, and the build checks both
    assert "project.fetch()" in text
    assert "jupyter server extension list" in text and "jupyter labextension list" in text


def test_environment_has_node_for_the_one_ui_build_and_jupyterlab() -> None:
    env = yaml.safe_load((BINDER / "environment.yml").read_text())
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "conda-forge" in env["channels"]
    assert any(d.startswith("nodejs>=20") for d in deps)
    assert any(d.startswith("jupyterlab>=4") for d in deps)
    assert any(d.startswith("python=3.1") for d in deps)
    assert not (BINDER / "requirements.txt").exists()  # repo2docker would ignore it anyway


def test_the_install_enables_the_server_extension() -> None:
    build = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    shared = build["targets"]["wheel"]["shared-data"]
    assert shared["jupyter-config/jupyter_server_config.d"] == \
        "etc/jupyter/jupyter_server_config.d"
    config = json.loads((REPO / "jupyter-config/jupyter_server_config.d/"
                         "overmind_jupyter.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"] == {"overmind_jupyter": True}


def test_the_readme_badge_opens_the_quickstart_in_jupyterlab() -> None:
    (target,) = BADGE.findall((REPO / "README.md").read_text())
    assert target == "notebooks/quickstart.ipynb"
    assert (REPO / target).is_file()
