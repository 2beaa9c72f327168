"""A change's diff against its base: counts, full text, file list (real repositories)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest_merge import commit_files, make_repo, run_git

from overmind_jupyter.errors import NotFound
from overmind_jupyter.workspace.diff import FileStat, changed_files, diff_stat, full_diff

pytestmark = pytest.mark.timeout(60)

LONG = "".join(f"line {i}\n" for i in range(30))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo", {"a.txt": "one\ntwo\nthree\n", "old name.txt": LONG,
                                         "gone.txt": "bye\n"})
    commit_files(repo, "feat", {"a.txt": "one\n2\nthree\nfour\n", "gone.txt": None,
                                "old name.txt": None, "new näme.txt": LONG + "more\n"})
    _commit_binary(repo, "feat", "img.bin", b"\x00\x01\x02")
    commit_files(repo, "main", {"landed-later.txt": "not the change's\n"})
    return repo


def _commit_binary(repo: Path, branch: str, name: str, data: bytes) -> None:
    run_git(repo, "checkout", "-q", branch)
    (repo / name).write_bytes(data)
    run_git(repo, "add", name)
    run_git(repo, "commit", "-q", "-m", "binary")
    run_git(repo, "checkout", "-q", "main")


def test_diff_stat_counts_lines_per_file_against_the_fork_point(repo: Path) -> None:
    stats = asyncio.run(diff_stat(repo, "main", "feat"))
    assert sorted(stats, key=lambda s: s.path) == [
        FileStat("a.txt", 2, 1), FileStat("gone.txt", 0, 1), FileStat("img.bin", 0, 0, True),
        FileStat("new näme.txt", 1, 0)]


def test_changed_files_lists_every_touched_path_verbatim(repo: Path) -> None:
    files = asyncio.run(changed_files(repo, "main", "feat"))
    assert sorted(files) == ["a.txt", "gone.txt", "img.bin", "new näme.txt"]


def test_full_diff_is_the_unified_diff_and_can_be_limited_to_one_path(repo: Path) -> None:
    text = asyncio.run(full_diff(repo, "main", "feat"))
    assert "-two\n+2\n" in text and "+four\n" in text
    assert "rename from old name.txt" in text and "landed-later" not in text
    one = asyncio.run(full_diff(repo, "main", "feat", "a.txt"))
    assert one.startswith("diff --git a/a.txt b/a.txt") and "gone.txt" not in one


def test_unknown_refs_are_not_found(repo: Path) -> None:
    with pytest.raises(NotFound, match="'nope' is not a branch or commit"):
        asyncio.run(diff_stat(repo, "main", "nope"))
    with pytest.raises(NotFound):
        asyncio.run(changed_files(repo, "--output=/tmp/x", "feat"))
