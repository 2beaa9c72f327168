"""The merge queue on real repositories: tiers, the recorded merge commit, the host's work."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest_merge import (
    commit_files,
    make_repo,
    parents,
    process_gone,
    rev,
    run_git,
    scratch_left,
    show,
)

from overmind_jupyter.errors import NotFound
from overmind_jupyter.workspace.merge import (
    ConflictedFile,
    MergeOutcome,
    MergeQueue,
    MergeRequest,
    Resolution,
)

pytestmark = pytest.mark.timeout(60)

BASE = "".join(f"v{i} = {i}\n" for i in range(1, 21))
REQUEST = MergeRequest("c1", "feat", "main", "Add feature", "builtin agent for alice")


def edit(line: int, new: str, text: str = BASE) -> str:
    """``text`` with its line ``line`` (1-based) replaced by ``new`` (shared with the train
    tests)."""
    lines = text.splitlines(keepends=True)
    lines[line - 1] = new + "\n"
    return "".join(lines)


def merge(repo: Path, request: MergeRequest = REQUEST, resolutions: dict | None = None,
          **options) -> MergeOutcome:
    options.setdefault("verify_command", None)
    return asyncio.run(MergeQueue(repo, **options).merge(request, resolutions))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"a.py": BASE, "notes.txt": "notes\n"})


def _conflict(repo: Path) -> str:
    """Both sides change line 5 of a.py; returns main's tip."""
    commit_files(repo, "feat", {"a.py": edit(5, "v5 = 'theirs'")})
    return commit_files(repo, "main", {"a.py": edit(5, "v5 = 'ours'")})


def test_clean_merge_records_one_merge_commit_with_trailers_and_keeps_both_sides(
        repo: Path) -> None:
    feat = commit_files(repo, "feat", {"a.py": edit(18, "v18 = 'feat'"), "b.py": "b = 1\n"})
    old = commit_files(repo, "main", {"a.py": edit(2, "v2 = 'main'")})
    outcome = merge(repo)
    assert (outcome.state, outcome.tier) == ("merged", 1)
    assert rev(repo, "main") == outcome.merge_commit
    assert parents(repo, "main") == [old, feat]
    message = run_git(repo, "log", "-1", "--format=%B", "main")
    assert message.startswith("Merge change c1: Add feature\n")
    assert "Overmind-Change: c1\nOvermind-Author: builtin agent for alice" in message
    merged = show(repo, "main", "a.py")
    assert "v18 = 'feat'" in merged and "v2 = 'main'" in merged
    assert (repo / "b.py").read_text() == "b = 1\n"  # the host's checkout moved with main
    assert run_git(repo, "status", "--porcelain") == ""
    assert scratch_left(repo) == []


def test_target_not_checked_out_moves_without_touching_the_host_checkout(repo: Path) -> None:
    commit_files(repo, "feat", {"b.py": "b = 1\n"})
    run_git(repo, "checkout", "-q", "-b", "dev")
    (repo / "notes.txt").write_text("host's draft\n")
    outcome = merge(repo)
    assert outcome.state == "merged"
    assert show(repo, "main", "b.py") == "b = 1\n"
    assert run_git(repo, "branch", "--show-current").strip() == "dev"
    assert not (repo / "b.py").exists()
    assert (repo / "notes.txt").read_text() == "host's draft\n"


def test_conflict_without_referee_shows_markers_and_leaves_target_untouched(repo: Path) -> None:
    old = _conflict(repo)
    outcome = merge(repo)
    assert (outcome.state, outcome.tier, outcome.merge_commit) == ("conflicted", 3, None)
    [report] = outcome.conflicts
    assert (report.path, report.rejected_reason, report.proposal) == ("a.py", "no referee", None)
    assert "<<<<<<< main\n" in report.merged_with_markers
    assert ">>>>>>> feat\n" in report.merged_with_markers
    assert "v5 = 'ours'" in report.merged_with_markers
    assert "v5 = 'theirs'" in report.merged_with_markers
    assert "a.py" in outcome.message and "untouched" in outcome.message
    assert rev(repo, "main") == old
    assert run_git(repo, "status", "--porcelain") == ""
    assert scratch_left(repo) == []


def _referee(text: str, confidence: float, seen: list | None = None):
    async def referee(file: ConflictedFile) -> Resolution:
        if seen is not None:
            seen.append(file)
        return Resolution(text, confidence, "kept both")
    return referee


@pytest.mark.parametrize(("text", "confidence", "reason"), [
    (edit(5, "<<<<<<< HEAD\nv5 = 'ours'\n=======\nv5 = 'theirs'\n>>>>>>> feat"), 0.95,
     "conflict markers left (lines 5, 7, 9)"),
    (edit(5, "v5 = ('ours',"), 0.95, "does not parse: SyntaxError"),
    (edit(5, "v5 = ('ours', 'theirs')"), 0.4, "confidence 0.4 < 0.8"),
])
def test_referee_resolution_is_rejected_unless_valid_and_confident(
        repo: Path, text: str, confidence: float, reason: str) -> None:
    old = _conflict(repo)
    outcome = merge(repo, referee=_referee(text, confidence))
    assert (outcome.state, outcome.tier) == ("conflicted", 3)
    [report] = outcome.conflicts
    assert report.rejected_reason.startswith(reason)
    assert report.proposal == text
    assert rev(repo, "main") == old
    assert scratch_left(repo) == []


def test_confident_valid_referee_resolution_is_merged_at_tier_2(repo: Path) -> None:
    _conflict(repo)
    seen: list[ConflictedFile] = []
    resolved = edit(5, "v5 = ('ours', 'theirs')")
    outcome = merge(repo, referee=_referee(resolved, 0.9, seen))
    assert (outcome.state, outcome.tier) == ("merged", 2)
    assert show(repo, "main", "a.py") == resolved
    [file] = seen
    assert (file.base, file.ours, file.theirs) == (
        BASE, edit(5, "v5 = 'ours'"), edit(5, "v5 = 'theirs'"))


def test_human_resolution_is_validated_but_needs_no_confidence(repo: Path) -> None:
    old = _conflict(repo)
    bad = merge(repo, resolutions={"a.py": edit(5, "=======")})
    assert bad.state == "conflicted" and rev(repo, "main") == old
    assert bad.conflicts[0].rejected_reason.startswith("conflict markers left")
    good = merge(repo, resolutions={"a.py": edit(5, "v5 = 'agreed'")})
    assert (good.state, good.tier) == ("merged", 3)
    assert "v5 = 'agreed'" in show(repo, "main", "a.py")


def test_failing_verification_leaves_target_untouched_and_reports_the_output(
        repo: Path) -> None:
    commit_files(repo, "feat", {"tests/test_a.py": "def test_a():\n    assert 1 == 2\n"})
    old = rev(repo, "main")
    outcome = merge(repo, verify_command="auto")
    assert (outcome.state, outcome.merge_commit) == ("verification-failed", None)
    result = outcome.verification
    assert result is not None and not result.ok and result.exit_code == 1
    assert result.command[1:3] == ("-m", "pytest")
    assert "assert 1 == 2" in result.output_tail and "1 failed" in result.output_tail
    assert rev(repo, "main") == old
    assert not (repo / "tests").exists()
    assert scratch_left(repo) == []


def test_verification_runs_on_the_merged_result(repo: Path) -> None:
    commit_files(repo, "feat", {"b.py": "b = 1\n"})
    commit_files(repo, "main", {"c.py": "c = 1\n"})
    check = "import b, c; print('both sides here', b.b + c.c)"
    outcome = merge(repo, verify_command=[sys.executable, "-c", check])
    assert outcome.state == "merged"
    assert outcome.verification is not None and outcome.verification.ok
    assert "both sides here 2" in outcome.verification.output_tail


def test_unrelated_uncommitted_host_edits_survive_the_merge(repo: Path) -> None:
    commit_files(repo, "feat", {"a.py": edit(3, "v3 = 'feat'")})
    (repo / "notes.txt").write_text("host's unsaved thoughts\n")
    (repo / "scratch.txt").write_text("untracked\n")
    outcome = merge(repo)
    assert outcome.state == "merged"
    assert (repo / "a.py").read_text() == edit(3, "v3 = 'feat'")
    assert (repo / "notes.txt").read_text() == "host's unsaved thoughts\n"
    assert (repo / "scratch.txt").read_text() == "untracked\n"


def test_host_edits_to_a_merged_file_block_the_merge_and_nothing_is_lost(repo: Path) -> None:
    commit_files(repo, "feat", {"a.py": edit(3, "v3 = 'feat'")})
    old = rev(repo, "main")
    (repo / "a.py").write_text(edit(10, "v10 = 'host'"))
    outcome = merge(repo)
    assert (outcome.state, outcome.merge_commit) == ("blocked", None)
    assert "a.py" in outcome.message and "commit or stash" in outcome.message
    assert rev(repo, "main") == old
    assert (repo / "a.py").read_text() == edit(10, "v10 = 'host'")
    assert scratch_left(repo) == []


@pytest.mark.parametrize("ignored", [True, False], ids=["ignored", "untracked"])
def test_a_change_adding_a_host_only_file_is_blocked_and_the_file_kept(
        repo: Path, ignored: bool) -> None:
    if ignored:
        commit_files(repo, "main", {".gitignore": ".env\n"})
    commit_files(repo, "feat", {".env": "SECRET=from-the-agent\n", "a.py": edit(3, "v3 = 1")})
    old = rev(repo, "main")
    (repo / ".env").write_text("SECRET=host-only\n")
    outcome = merge(repo)
    assert (outcome.state, outcome.merge_commit) == ("blocked", None)
    assert ".env" in outcome.message and "untracked or git-ignored" in outcome.message
    assert (repo / ".env").read_text() == "SECRET=host-only\n"
    assert rev(repo, "main") == old and (repo / "a.py").read_text() == BASE
    assert scratch_left(repo) == []


def moving_referee(repo: Path, resolve: Callable[[ConflictedFile], str], calls: list[int]):
    """A referee proposing ``resolve(file)`` (confidence 0.9) that first lands ``late.py``
    on main, as if someone else merged meanwhile; ``calls`` gets a 1 per call."""
    async def referee(file: ConflictedFile) -> Resolution:
        calls.append(1)
        if len(calls) == 1:
            commit_files(repo, "main", {"late.py": "late = 1\n"})
        return Resolution(resolve(file), 0.9)
    return referee


def test_target_moving_during_the_merge_is_retried_once_from_its_new_tip(repo: Path) -> None:
    _conflict(repo)
    run_git(repo, "checkout", "-q", "--detach")
    calls: list[int] = []
    referee = moving_referee(repo, lambda file: edit(5, "v5 = 'both'"), calls)
    outcome = merge(repo, referee=referee)
    assert outcome.state == "merged" and len(calls) == 2
    assert show(repo, "main", "late.py") == "late = 1\n"


def test_target_moving_every_time_blocks_the_merge(repo: Path) -> None:
    _conflict(repo)
    run_git(repo, "checkout", "-q", "--detach")

    async def referee(file: ConflictedFile) -> Resolution:
        commit_files(repo, "main", {"late.py": f"late = {rev(repo, 'main')!r}\n"})
        return Resolution(edit(5, "v5 = 'both'"), 0.9)

    moved = rev(repo, "main")
    outcome = merge(repo, referee=referee)
    assert outcome.state == "blocked" and "moved" in outcome.message
    assert rev(repo, "main~2") == moved  # only the two commits made meanwhile
    assert run_git(repo, "log", "--merges", "--format=%H", f"{moved}..main") == ""
    assert scratch_left(repo) == []


def test_merges_are_serialised_one_after_another(repo: Path) -> None:
    commit_files(repo, "feat", {"b.py": "b = 1\n"})
    commit_files(repo, "feat2", {"c.py": "c = 1\n"})
    queue = MergeQueue(repo, verify_command=None)

    async def both() -> list[MergeOutcome]:
        second = MergeRequest("c2", "feat2", "main", "Second", "bob")
        return await asyncio.gather(queue.merge(REQUEST), queue.merge(second))

    first, second = asyncio.run(both())
    assert first.state == second.state == "merged"
    assert parents(repo, "main")[0] == first.merge_commit
    assert {"b.py", "c.py"} <= set(run_git(repo, "ls-files").split())


def test_already_merged_branch_does_not_move_the_target(repo: Path) -> None:
    commit_files(repo, "feat", {"b.py": "b = 1\n"})
    assert merge(repo).state == "merged"
    tip = rev(repo, "main")
    again = merge(repo)
    assert (again.state, again.merge_commit) == ("merged", None)
    assert rev(repo, "main") == tip


def test_unknown_branch_is_not_found(repo: Path) -> None:
    with pytest.raises(NotFound, match="no branch 'nope'"):
        merge(repo, MergeRequest("c9", "nope", "main", "x", "y"))


def test_merge_commit_falls_back_to_an_overmind_identity(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit_files(repo, "feat", {"b.py": "b = 1\n"})
    run_git(repo, "config", "--unset", "user.name")
    run_git(repo, "config", "--unset", "user.email")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{name}_NAME", raising=False)
        monkeypatch.delenv(f"GIT_{name}_EMAIL", raising=False)
    monkeypatch.setenv("EMAIL", "")
    assert merge(repo).state == "merged"
    assert run_git(repo, "log", "-1", "--format=%an <%ae>", "main") == (
        "Overmind <overmind@localhost>\n")


def test_a_failing_referee_becomes_a_question(repo: Path) -> None:
    old = _conflict(repo)

    async def broken(file: ConflictedFile) -> Resolution:
        raise RuntimeError("model quota exhausted")

    outcome = merge(repo, referee=broken)
    assert outcome.state == "conflicted" and rev(repo, "main") == old
    assert outcome.conflicts[0].rejected_reason == (
        "referee failed: RuntimeError: model quota exhausted")
    assert scratch_left(repo) == []


def test_a_cancelled_merge_kills_its_verification_and_removes_the_scratch(
        repo: Path, tmp_path: Path) -> None:
    commit_files(repo, "feat", {"b.py": "b = 1\n"})
    old, started = rev(repo, "main"), tmp_path / "started"
    slow = [sys.executable, "-c", f"import os, time; open({str(started)!r}, 'w')"
            ".write(str(os.getpid())); time.sleep(60)"]

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(MergeQueue(repo, verify_command=slow).merge(REQUEST))
        while not started.exists():
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    assert rev(repo, "main") == old
    assert scratch_left(repo) == []
    assert process_gone(int(started.read_text()))



def test_scratch_worktrees_of_a_dead_process_are_removed(repo: Path) -> None:
    orphan = repo / ".overmind" / "scratch" / "merge-999999999-0badc0de"
    commit_files(repo, "feat", {"b.py": "b = 1\n"})
    assert merge(repo).state == "merged"  # creates .overmind/scratch
    run_git(repo, "worktree", "add", "-q", "--detach", str(orphan), "main")
    (orphan / "b.py").write_text("half-merged\n")
    commit_files(repo, "feat2", {"c.py": "c = 1\n"})
    outcome = merge(repo, MergeRequest("c2", "feat2", "main", "Second", "bob"))
    assert outcome.state == "merged"
    assert scratch_left(repo) == []
