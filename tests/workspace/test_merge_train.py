"""Merge trains on real repositories: several changes, one verification run, one move."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from conftest_merge import commit_files, make_repo, parents, rev, run_git, scratch_left, show
from test_merge import BASE, edit, moving_referee  # helpers shared by both modules

from overmind_jupyter.errors import NotFound, UsageError
from overmind_jupyter.workspace.merge import (
    ConflictedFile,
    MergeOutcome,
    MergeQueue,
    MergeRequest,
    Resolution,
)

pytestmark = pytest.mark.timeout(90)

NAMES = ("a", "b", "c")


def _request(name: str, target: str = "main") -> MergeRequest:
    return MergeRequest(f"c-{name}", f"feat-{name}", target, f"Change {name}",
                        "builtin agent for alice")


def train(repo: Path, names: tuple[str, ...] = NAMES, **options) -> list[MergeOutcome]:
    options.setdefault("verify_command", None)
    queue = MergeQueue(repo, **options)
    return asyncio.run(queue.merge_many([_request(name) for name in names]))


def _counting(runs: Path, fail_if: str | None = None) -> list[str]:
    """A verification argv that appends a line to ``runs`` (outside the repository) and
    fails when the merged tree has the file ``fail_if``."""
    lines = ["import os, sys", f"open({str(runs)!r}, 'a').write('run\\n')"]
    if fail_if is not None:
        lines.append(f"if os.path.exists({fail_if!r}): sys.exit({fail_if + ' present'!r})")
    return [sys.executable, "-c", "\n".join(lines)]


def _count(runs: Path) -> int:
    return len(runs.read_text().splitlines()) if runs.exists() else 0


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """``main`` checked out; ``feat-a|b|c`` each add ``<name>.py``; a and c edit a.py."""
    repo = make_repo(tmp_path / "repo", {"a.py": BASE, "notes.txt": "notes\n"})
    commit_files(repo, "feat-a", {"a.py": edit(2, "v2 = 'a'"), "a_new.py": "a = 1\n"})
    commit_files(repo, "feat-b", {"b.py": "b = 1\n"})
    commit_files(repo, "feat-c", {"a.py": edit(18, "v18 = 'c'"), "c.py": "c = 1\n"})
    return repo


def _first_parents(repo: Path, since: str) -> list[str]:
    return run_git(repo, "rev-list", "--first-parent", f"{since}..main").split()


def test_three_changes_land_with_one_verification_and_three_merge_commits(
        repo: Path, tmp_path: Path) -> None:
    old, runs = rev(repo, "main"), tmp_path / "runs"
    outcomes = train(repo, verify_command=_counting(runs))
    assert [(o.state, o.tier) for o in outcomes] == [("merged", 1)] * 3
    assert _count(runs) == 1
    commits = [o.merge_commit for o in outcomes]
    assert _first_parents(repo, old) == commits[::-1] and rev(repo, "main") == commits[-1]
    for name, commit in zip(NAMES, commits, strict=True):
        assert commit is not None
        assert parents(repo, commit)[1] == rev(repo, f"feat-{name}")
        message = run_git(repo, "log", "-1", "--format=%B", commit)
        assert message.startswith(f"Merge change c-{name}: Change {name}\n")
        assert f"Overmind-Change: c-{name}\nOvermind-Author: builtin agent for alice" in message
    shared = outcomes[0].verification
    assert shared is not None and shared.ok and all(o.verification == shared for o in outcomes)
    assert "merge train of 3" in outcomes[0].message
    assert (repo / "a.py").read_text() == edit(18, "v18 = 'c'", edit(2, "v2 = 'a'"))
    assert {"a_new.py", "b.py", "c.py"} <= set(run_git(repo, "ls-files").split())
    assert run_git(repo, "status", "--porcelain") == ""
    assert scratch_left(repo) == []


def test_a_conflicting_change_is_left_out_and_the_others_land(
        repo: Path, tmp_path: Path) -> None:
    commit_files(repo, "feat-b", {"a.py": edit(5, "v5 = 'b'")})
    old = commit_files(repo, "main", {"a.py": edit(5, "v5 = 'main'")})
    runs = tmp_path / "runs"
    a, b, c = train(repo, verify_command=_counting(runs))
    assert (a.state, b.state, c.state) == ("merged", "conflicted", "merged")
    assert (b.tier, b.merge_commit, b.verification) == (3, None, None)
    [report] = b.conflicts
    assert (report.path, report.rejected_reason) == ("a.py", "no referee")
    assert "<<<<<<< main\n" in report.merged_with_markers
    assert _count(runs) == 1
    assert _first_parents(repo, old) == [c.merge_commit, a.merge_commit]
    assert "v5 = 'main'" in show(repo, "main", "a.py")
    assert "b.py" not in run_git(repo, "ls-tree", "--name-only", "main")
    assert scratch_left(repo) == []


def test_failing_verification_isolates_the_culprit_and_lands_the_others(
        repo: Path, tmp_path: Path) -> None:
    old, runs = rev(repo, "main"), tmp_path / "runs"
    a, b, c = train(repo, verify_command=_counting(runs, fail_if="b.py"))
    assert (a.state, b.state, c.state) == ("merged", "verification-failed", "merged")
    assert b.merge_commit is None and b.verification is not None
    assert b.verification.exit_code == 1 and "b.py present" in b.verification.output_tail
    assert _count(runs) == 4  # the train, then each change on its own
    assert _first_parents(repo, old) == [c.merge_commit, a.merge_commit]
    assert run_git(repo, "branch", "--format=%(refname:short)", "--contains", "feat-b") == (
        "feat-b\n")
    assert "b.py" not in run_git(repo, "ls-tree", "--name-only", "main")
    assert "c-b" not in run_git(repo, "log", "--format=%B", "main")
    assert not (repo / "b.py").exists()
    assert scratch_left(repo) == []


def test_a_train_of_one_failing_change_runs_the_verification_once(
        repo: Path, tmp_path: Path) -> None:
    old, runs = rev(repo, "main"), tmp_path / "runs"
    [b] = train(repo, ("b",), verify_command=_counting(runs, fail_if="b.py"))
    assert (b.state, b.merge_commit) == ("verification-failed", None)
    assert "failed on the merge of change c-b" in b.message
    assert _count(runs) == 1 and rev(repo, "main") == old


def test_unrelated_uncommitted_host_edits_survive_the_train(repo: Path) -> None:
    (repo / "notes.txt").write_text("host's unsaved thoughts\n")
    (repo / "scratch.txt").write_text("untracked\n")
    outcomes = train(repo)
    assert [o.state for o in outcomes] == ["merged"] * 3
    assert (repo / "c.py").read_text() == "c = 1\n"
    assert (repo / "notes.txt").read_text() == "host's unsaved thoughts\n"
    assert (repo / "scratch.txt").read_text() == "untracked\n"


def test_host_edits_to_a_merged_file_block_the_whole_train_and_nothing_is_lost(
        repo: Path) -> None:
    old = rev(repo, "main")
    (repo / "a.py").write_text(edit(10, "v10 = 'host'"))
    outcomes = train(repo)
    assert [(o.state, o.merge_commit) for o in outcomes] == [("blocked", None)] * 3
    assert "a.py" in outcomes[0].message and "commit or stash" in outcomes[0].message
    assert rev(repo, "main") == old
    assert (repo / "a.py").read_text() == edit(10, "v10 = 'host'")
    assert scratch_left(repo) == []


def test_a_referee_resolution_rides_the_train_at_tier_2(repo: Path) -> None:
    commit_files(repo, "feat-b", {"a.py": edit(5, "v5 = 'b'")})
    commit_files(repo, "main", {"a.py": edit(5, "v5 = 'main'")})
    seen: list[ConflictedFile] = []

    async def referee(file: ConflictedFile) -> Resolution:
        seen.append(file)
        return Resolution(file.ours.replace("v5 = 'main'", "v5 = ('main', 'b')"), 0.9)

    a, b, c = train(repo, referee=referee)
    assert [(o.state, o.tier) for o in (a, b, c)] == [("merged", 1), ("merged", 2),
                                                      ("merged", 1)]
    assert "v2 = 'a'" in seen[0].ours  # b is merged on top of a, in the train
    merged = show(repo, "main", "a.py")
    assert "v5 = ('main', 'b')" in merged and "v18 = 'c'" in merged


def test_target_moving_during_the_train_runs_it_again_from_the_new_tip(repo: Path) -> None:
    commit_files(repo, "feat-b", {"a.py": edit(5, "v5 = 'b'")})
    commit_files(repo, "main", {"a.py": edit(5, "v5 = 'main'")})
    run_git(repo, "checkout", "-q", "--detach")
    calls: list[int] = []
    referee = moving_referee(
        repo, lambda file: file.ours.replace("v5 = 'main'", "v5 = ('main', 'b')"), calls)
    outcomes = train(repo, referee=referee)
    assert [o.state for o in outcomes] == ["merged"] * 3 and len(calls) == 2
    late = rev(repo, "main~3")
    assert show(repo, late, "late.py") == "late = 1\n"
    assert _first_parents(repo, late) == [o.merge_commit for o in reversed(outcomes)]


def test_branches_already_on_the_target_and_repeated_ones_move_nothing_twice(
        repo: Path) -> None:
    first = train(repo, ("a",))
    tip = rev(repo, "main")
    again, b, b_twice = train(repo, ("a", "b", "b"))
    assert (again.state, again.merge_commit) == ("merged", None)
    assert (b.state, b_twice.state, b_twice.merge_commit) == ("merged", "merged", None)
    assert "earlier change of this merge train" in b_twice.message
    assert parents(repo, "main") == [tip, rev(repo, "feat-b")]
    assert first[0].merge_commit == tip


def test_a_train_is_checked_before_anything_merges(repo: Path) -> None:
    old = rev(repo, "main")
    queue = MergeQueue(repo, verify_command=None)
    with pytest.raises(UsageError, match="one target"):
        asyncio.run(queue.merge_many([_request("a"), _request("b", "dev")]))
    with pytest.raises(NotFound, match="no branch 'feat-nope'"):
        asyncio.run(queue.merge_many([_request("a"), _request("nope")]))
    assert asyncio.run(queue.merge_many([])) == []
    assert rev(repo, "main") == old and scratch_left(repo) == []
