"""A change's diff as data for the diff view (real repositories): files with status and
counts, hunks with their lines, notebooks cell by cell."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat
import pytest
from conftest_merge import commit_files, make_repo, run_git

from overmind_jupyter.errors import NotFound
from overmind_jupyter.workspace import hunks
from overmind_jupyter.workspace.filediff import file_diffs

pytestmark = pytest.mark.timeout(60)

LONG = "".join(f"line {i}\n" for i in range(30))


def notebook(*cells: tuple[str, str], outputs: str | None = None) -> str:
    nb = nbformat.v4.new_notebook()
    for n, (kind, source) in enumerate(cells):
        cell = (nbformat.v4.new_code_cell(source) if kind == "code"
                else nbformat.v4.new_markdown_cell(source))
        cell.id = f"cell-{source[:6].strip() or n}".replace(" ", "-")
        if outputs and kind == "code" and n == len(cells) - 1:
            cell.outputs = [nbformat.v4.new_output("stream", text=outputs)]
        nb.cells.append(cell)
    return nbformat.writes(nb)


BASE_NB = notebook(("markdown", "# Title"), ("code", "x = 1\nprint(x)"), ("code", "gone()"))
HEAD_NB = notebook(("markdown", "# Title"), ("code", "x = 2\nprint(x)"), ("code", "y = 3"),
                   outputs="3\n")


@pytest.fixture
def files(tmp_path: Path) -> list[dict]:
    repo = make_repo(tmp_path / "repo", {"a.py": "one\ntwo\nthree\n", "old name.txt": LONG,
                                         "gone.txt": "bye\n", "nb.ipynb": BASE_NB})
    commit_files(repo, "feat", {"a.py": "one\n2\nthree\nfour\n", "gone.txt": None,
                                "old name.txt": None, "new näme.txt": LONG + "more\n",
                                "nb.ipynb": HEAD_NB, "new.toml": "[x]\ny = 1\n"})
    commit_files(repo, "main", {"landed-later.txt": "not the change's\n"})
    return asyncio.run(file_diffs(repo, "main", "feat"))


def by_path(files: list[dict]) -> dict[str, dict]:
    return {f["path"]: f for f in files}


def test_every_touched_file_has_its_status_counts_and_original_name(files: list[dict]) -> None:
    found = by_path(files)
    assert sorted(found) == ["a.py", "gone.txt", "nb.ipynb", "new näme.txt", "new.toml"]
    assert [found[p]["status"] for p in ("a.py", "gone.txt", "new näme.txt", "new.toml")] == [
        "modified", "deleted", "renamed", "added"]
    assert found["new näme.txt"]["old_path"] == "old name.txt"
    assert (found["a.py"]["added"], found["a.py"]["removed"]) == (2, 1)
    assert (found["gone.txt"]["added"], found["gone.txt"]["removed"]) == (0, 1)


def test_text_hunks_carry_their_line_numbers_and_tagged_lines(files: list[dict]) -> None:
    (hunk,) = by_path(files)["a.py"]["hunks"]
    assert (hunk["old_start"], hunk["old_lines"], hunk["new_start"], hunk["new_lines"]) == (
        1, 3, 1, 4)
    assert hunk["lines"] == [[" ", "one"], ["-", "two"], ["+", "2"], [" ", "three"],
                             ["+", "four"]]
    assert by_path(files)["a.py"]["kind"] == "text"


def test_a_notebook_comes_cell_by_cell_not_as_json(files: list[dict]) -> None:
    nb = by_path(files)["nb.ipynb"]
    assert nb["kind"] == "notebook" and nb["hunks"] == []
    statuses = [(c["status"], c["base_index"], c["head_index"]) for c in nb["cells"]]
    assert statuses[0] == ("unchanged", 0, 0)
    assert statuses[1] == ("modified", 1, 1)
    assert nb["cells"][1]["lines"] == [["-", "x = 1"], ["+", "x = 2"], [" ", "print(x)"]]
    assert statuses[2] == ("modified", 2, 2)
    assert nb["cells"][2]["lines"] == [["-", "gone()"], ["+", "y = 3"]]
    assert nb["cells"][2]["outputs_changed"] and not nb["cells"][1]["outputs_changed"]
    assert not any('"cell_type"' in text for c in nb["cells"] for _, text in c["lines"])


def test_a_new_notebook_is_all_added_cells(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    commit_files(repo, "feat", {"new.ipynb": HEAD_NB})
    (nb,) = asyncio.run(file_diffs(repo, "main", "feat"))
    assert nb["status"] == "added" and [c["status"] for c in nb["cells"]] == ["added"] * 3


def test_inserted_and_deleted_cells_keep_their_place(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"nb.ipynb": BASE_NB})
    head = notebook(("code", "import os"), ("markdown", "# Title"), ("code", "x = 1\nprint(x)"))
    commit_files(repo, "feat", {"nb.ipynb": head})
    (nb,) = asyncio.run(file_diffs(repo, "main", "feat"))
    assert [(c["status"], c["base_index"], c["head_index"], c["summary"]) for c in nb["cells"]
            ] == [("added", None, 0, "import os"), ("unchanged", 0, 1, "# Title"),
                  ("unchanged", 1, 2, "x = 1"), ("removed", 2, None, "gone()")]
    assert nb["cells"][3]["lines"] == [["-", "gone()"]]


def test_a_broken_notebook_falls_back_to_a_text_diff(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"bad.ipynb": "{not json\n"})
    commit_files(repo, "feat", {"bad.ipynb": "{still not json\n"})
    (entry,) = asyncio.run(file_diffs(repo, "main", "feat"))
    assert entry["kind"] == "text" and entry["hunks"][0]["lines"][0] == ["-", "{not json"]


def test_binary_files_have_no_hunks(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    run_git(repo, "checkout", "-q", "-b", "feat")
    (repo / "img.bin").write_bytes(b"\x00\x01\x02")
    run_git(repo, "add", "img.bin")
    run_git(repo, "commit", "-q", "-m", "bin")
    (entry,) = asyncio.run(file_diffs(repo, "main", "feat"))
    assert entry["binary"] and entry["hunks"] == [] and entry["status"] == "added"


def test_long_files_are_cut_but_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hunks, "MAX_LINES", 3)
    text = ("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,4 @@ def f():\n a\n-b\n+c\n+d\n"
            "+e\n@@ -10 +12 @@\n-z\n\\ No newline at end of file\n")
    (block,) = hunks.parse(text)
    assert (block.added, block.removed, block.truncated) == (3, 2, True)
    assert block.hunks[0].header == "def f():" and len(block.hunks[0].lines) == 3
    assert (block.hunks[1].old_start, block.hunks[1].old_lines) == (10, 1)


def test_unknown_refs_are_not_found(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    with pytest.raises(NotFound):
        asyncio.run(file_diffs(repo, "main", "nope"))
