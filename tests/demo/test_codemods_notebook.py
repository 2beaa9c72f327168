"""``notebooks/parallel-codemods.ipynb`` executed headless, then the real project's state:
three changes made by ruff in parallel worktrees, landed through the merge queue as one
merge commit each, the codemods complete, tabulate's tests passing, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from demo_helpers import git, left_behind, records
from nbclient import NotebookClient

pytestmark = pytest.mark.timeout(300)
CHECKOUT = Path(__file__).resolve().parents[2]
NOTEBOOK = CHECKOUT / "notebooks" / "parallel-codemods.ipynb"
PARTS = {"library": {"tabulate/__init__.py"}, "benchmark": {"benchmark.py"},
         "tests": {"test/test_api.py", "test/test_cli.py", "test/test_input.py",
                   "test/test_internal.py", "test/test_output.py", "test/test_regression.py",
                   "test/test_textwrapper.py"}}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The notebook executed in a fresh work directory (one run per module)."""
    work = tmp_path_factory.mktemp("codemods")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    env.update(JUPYTER_RUNTIME_DIR=str(work / "runtime"), IPYTHONDIR=str(work / "ipython"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}},
                   extra_arguments=["--IPKernelApp.log_level=ERROR"]).execute(env=env)
    return {"work": work, "repo": work / "tabulate-codemods", "env": env, "nb": nb}


def test_the_notebook_runs_without_errors(run: dict) -> None:
    outputs = [o for c in run["nb"].cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert text.count("verification passed") == 3


def test_each_part_landed_as_one_merge_commit_of_overminds_commit(run: dict) -> None:
    repo = run["repo"]
    lines = git(repo, "log", "--first-parent", "--format=%H %P|%s", "main").splitlines()
    assert lines[-1].endswith("|tabulate 0.9.0 from its PyPI source distribution")
    merges = lines[:-1]
    assert len(merges) == 3
    landed = {}
    for line in merges:
        shas, subject = line.split("|", 1)
        merge, first, second = shas.split()
        name = subject.split(": ")[1]  # "Merge change ID: NAME: python3 -m ruff …"
        assert " -m ruff check --fix-only " in subject
        assert git(repo, "log", "-1", "--format=%an <%ae>", second).strip() == \
            "Overmind <overmind@overmind.invalid>"
        landed[name] = set(git(repo, "diff", "--name-only", first, merge).split())
    assert landed == PARTS


def test_the_changes_are_merged_with_passing_verification(run: dict) -> None:
    changes = records(run["repo"], "change")
    assert sorted(c.data.task for c in changes) == sorted(PARTS)
    assert {c.state for c in changes} == {"merged"}
    assert all(c.data.verification["ok"] for c in changes)
    assert all("pytest" in " ".join(c.data.verification["command"]) for c in changes)


def test_the_codemods_are_complete_and_tabulates_tests_pass(run: dict) -> None:
    repo = run["repo"]
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix-only", "--no-cache",
                    "--isolated", "--select", "UP,I", "--target-version", "py38", "tabulate",
                    "test", "benchmark.py"], cwd=repo, check=True, capture_output=True)
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""  # nothing left
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--color=no", "-o", "addopts="], cwd=repo, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "269 passed" in done.stdout, done.stdout[-2000:]


def test_nothing_is_left_behind(run: dict) -> None:
    assert not left_behind(run["repo"], run["work"], Path(run["env"]["JUPYTER_RUNTIME_DIR"]))
