"""The review routes of the host REST API: a change's diff as data and requested changes
(real in-process Jupyter server, real git repository in the engine's root)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest
import test_handlers
from test_handlers import assert_json_error, body_of

from overmind_jupyter.widgets import bridge as routes

pytestmark = pytest.mark.timeout(60)
api = test_handlers.api  # the fixture: requests with the scoped token


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e.x", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


def notebook(source: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Notes"), nbformat.v4.new_code_cell(source)]
    for n, cell in enumerate(nb.cells):
        cell.id = f"c{n}"
    return nbformat.writes(nb)


@pytest.fixture
def change(engine, jp_asyncio_loop) -> str:
    """A change of no objective in the engine's root: ``a.py`` and a notebook edited."""
    root = engine.root
    git(root, "init", "-q", "-b", "main")
    (root / "a.py").write_text("x = 1\n")
    (root / "n.ipynb").write_text(notebook("print(1)"))
    git(root, "add", "a.py", "n.ipynb")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-q", "-b", "feat")
    (root / "a.py").write_text("x = 2\n")
    (root / "n.ipynb").write_text(notebook("print(2)"))
    git(root, "commit", "-qam", "edit")
    git(root, "checkout", "-q", "main")
    base = git(root, "rev-parse", "main").strip()
    made = engine.changes_.create("feed0001", objective=None, task="edit", title="edit",
                                  branch="feat", base_commit=base, target="main",
                                  author="test", requested_by="host", workspace=None)
    rec = jp_asyncio_loop.run_until_complete(made)
    return rec.id


async def test_files_route_answers_hunks_and_notebook_cells(api, change: str) -> None:
    resp = await api("GET", "changes", change, "files")
    assert resp.code == 200
    files = {f["path"]: f for f in body_of(resp)["files"]}
    assert files["a.py"]["hunks"][0]["lines"] == [["-", "x = 1"], ["+", "x = 2"]]
    cells = files["n.ipynb"]["cells"]
    assert files["n.ipynb"]["kind"] == "notebook"
    assert [c["status"] for c in cells] == ["unchanged", "modified"]
    assert cells[1]["lines"] == [["-", "print(1)"], ["+", "print(2)"]]


async def test_request_changes_is_validated_and_needs_an_objective(api, change: str) -> None:
    assert_json_error(await api("POST", "changes", change, "request-changes",
                                body={"text": ""}), 400, "invalid")
    assert_json_error(await api("POST", "changes", change, "request-changes",
                                body={"words": "x"}), 400, "invalid")
    refused = assert_json_error(await api("POST", "changes", change, "request-changes",
                                          body={"text": "rename x"}), 400)
    assert "edit its branch feat yourself" in refused["message"]
    assert_json_error(await api("POST", "changes", "nosuch", "request-changes",
                                body={"text": "x"}), 404)
    assert body_of(await api("GET", "changes", change))["state"] == "open"  # untouched


async def test_the_kernel_serves_the_same_review_routes(engine, change: str) -> None:
    files = await routes.request(engine, "GET", f"changes/{change}/files")
    assert [f["path"] for f in files["files"]] == ["a.py", "n.ipynb"]
    with pytest.raises(Exception, match="edit its branch feat"):
        await routes.request(engine, "POST", f"changes/{change}/request-changes",
                             {"text": "rename x"})


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "a/../../x", ":/a.py",
                                  "~/x", ""])
async def test_a_diff_path_outside_the_repository_is_400(api, change: str, path) -> None:
    refused = assert_json_error(await api("GET", "changes", change, "diff",
                                          params={"path": path}), 400, "usage")
    assert "inside the repository" in refused["message"]


async def test_a_diff_path_inside_the_repository_shows_that_file(api, change: str) -> None:
    resp = await api("GET", "changes", change, "diff", params={"path": "a.py"})
    assert resp.code == 200 and "+x = 2" in resp.body.decode()
    assert "n.ipynb" not in resp.body.decode()
