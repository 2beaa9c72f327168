"""Notebooks are merged by nbdime's merge driver, cell by cell, not as JSON text."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import nbformat
import pytest
from conftest_merge import commit_files, make_repo, rev, run_git, scratch_left, show

from overmind_jupyter.workspace.merge import (
    ConflictedFile,
    MergeOutcome,
    MergeQueue,
    MergeRequest,
    Resolution,
)

pytestmark = pytest.mark.timeout(60)

REQUEST = MergeRequest("nb1", "feat", "main", "Edit the notebook", "bob")


def notebook(*sources: str) -> str:
    """A valid nbformat 4.5 notebook of code cells, as compact JSON (one line)."""
    cells = [{"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {},
              "outputs": [], "source": source} for i, source in enumerate(sources)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def merge(repo: Path, **options) -> MergeOutcome:
    return asyncio.run(MergeQueue(repo, verify_command=None, **options).merge(REQUEST))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"nb.ipynb": notebook("a = 1", "b = 2", "c = 3")})


def _text_merge_conflicts(ours: str, base: str, theirs: str, tmp: Path) -> bool:
    for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
        (tmp / name).write_text(text)
    done = subprocess.run(["git", "merge-file", "-p", "ours", "base", "theirs"], cwd=tmp,
                          capture_output=True)
    return done.returncode > 0


def test_edits_in_different_cells_are_merged_where_a_text_merge_conflicts(
        repo: Path, tmp_path: Path) -> None:
    base = notebook("a = 1", "b = 2", "c = 3")
    ours, theirs = notebook("a = 10", "b = 2", "c = 3"), notebook("a = 1", "b = 2", "c = 30")
    assert _text_merge_conflicts(ours, base, theirs, tmp_path)
    commit_files(repo, "feat", {"nb.ipynb": theirs})
    commit_files(repo, "main", {"nb.ipynb": ours})
    outcome = merge(repo)
    assert (outcome.state, outcome.tier) == ("merged", 1)
    merged = nbformat.reads(show(repo, "main", "nb.ipynb"), as_version=4)
    nbformat.validate(merged)
    assert [cell.source for cell in merged.cells] == ["a = 10", "b = 2", "c = 30"]
    assert run_git(repo, "config", "--get-regexp", "merge", check=False) == ""  # host config
    assert scratch_left(repo) == []


def test_same_cell_edited_on_both_sides_is_a_conflict_the_referee_must_really_resolve(
        repo: Path) -> None:
    commit_files(repo, "feat", {"nb.ipynb": notebook("a = 1", "b = 'theirs'", "c = 3")})
    old = commit_files(repo, "main", {"nb.ipynb": notebook("a = 1", "b = 'ours'", "c = 3")})
    seen: list[ConflictedFile] = []

    async def lazy_referee(file: ConflictedFile) -> Resolution:
        seen.append(file)
        return Resolution(file.merged_with_markers, 0.99)  # nbdime's markers, inside a cell

    outcome = merge(repo, referee=lazy_referee)
    assert outcome.state == "conflicted" and rev(repo, "main") == old
    [report] = outcome.conflicts
    assert report.rejected_reason.startswith("conflict markers left (cell 2")
    assert "b = 'ours'" in seen[0].merged_with_markers
    assert "b = 'theirs'" in seen[0].merged_with_markers

    async def good_referee(file: ConflictedFile) -> Resolution:
        return Resolution(notebook("a = 1", "b = ('ours', 'theirs')", "c = 3"), 0.9)

    outcome = merge(repo, referee=good_referee)
    assert (outcome.state, outcome.tier) == ("merged", 2)
    merged = nbformat.reads(show(repo, "main", "nb.ipynb"), as_version=4)
    assert merged.cells[1].source == "b = ('ours', 'theirs')"
