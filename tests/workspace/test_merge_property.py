"""Merge safety as a property: random edits on two branches never lose a committed line.

Each side keeps, replaces, deletes or inserts after lines of a shared base (lines are
unique, so "present" is unambiguous). Whatever the outcome, the target either did not move
or moved by exactly one recorded merge commit of (old target, change) holding every line
either side added and every base line both sides kept; the change's branch never moves.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from conftest_merge import commit_files, make_repo, parents, rev, run_git, scratch_left, show
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from overmind_jupyter.workspace.merge import ConflictedFile, MergeQueue, MergeRequest, Resolution

pytestmark = pytest.mark.timeout(180)

BASE = [f"base {i}" for i in range(10)]
OPS = st.sampled_from(["keep", "keep", "replace", "delete", "insert"])
EDITS = st.lists(OPS, min_size=len(BASE), max_size=len(BASE))


def apply(ops: list[str], side: str) -> list[str]:
    lines: list[str] = []
    for i, (line, op) in enumerate(zip(BASE, ops, strict=True)):
        if op in ("keep", "insert"):
            lines.append(line)
        if op in ("replace", "insert"):
            lines.append(f"{side} {op} {i}")
    return lines


async def union_referee(file: ConflictedFile) -> Resolution:
    """Keeps every line of both sides (a valid, confident, if naive, resolution)."""
    ours = file.ours.splitlines()
    extra = [line for line in file.theirs.splitlines() if line not in ours]
    return Resolution("\n".join(ours + extra) + "\n", 0.9)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ours_ops=EDITS, theirs_ops=EDITS, apart=st.booleans(), referee=st.booleans(),
       detached=st.booleans())
def test_no_committed_line_is_lost_and_the_target_moves_only_by_a_merge_commit(
        ours_ops: list[str], theirs_ops: list[str], apart: bool, referee: bool,
        detached: bool) -> None:
    if apart:  # non-overlapping: ours edits lines 0-3 only, theirs 6-9 only
        ours_ops, theirs_ops = ours_ops[:4] + ["keep"] * 6, ["keep"] * 6 + theirs_ops[6:]
    ours, theirs = apply(ours_ops, "ours"), apply(theirs_ops, "theirs")
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo", {"f.txt": "\n".join(BASE) + "\n"})
        feat = commit_files(repo, "feat", {"f.txt": "\n".join(theirs) + "\n"})
        old = commit_files(repo, "main", {"f.txt": "\n".join(ours) + "\n"})
        if detached:
            run_git(repo, "checkout", "-q", "--detach")
        queue = MergeQueue(repo, referee=union_referee if referee else None,
                           verify_command=None)
        outcome = asyncio.run(queue.merge(MergeRequest("p1", "feat", "main", "t", "a")))
        tip = rev(repo, "main")
        event(f"{outcome.state}, tier {outcome.tier}")
        assert rev(repo, "feat") == feat
        assert scratch_left(repo) == []
        if tip == old:
            assert outcome.state == "conflicted" and outcome.conflicts
            return
        assert outcome.state == "merged" and outcome.merge_commit == tip
        assert parents(repo, tip) == [old, feat]
        assert "Overmind-Change: p1" in run_git(repo, "log", "-1", "--format=%B", tip)
        merged = show(repo, tip, "f.txt").splitlines()
        added = (set(ours) | set(theirs)) - set(BASE)
        kept_by_both = set(ours) & set(theirs)
        assert added | kept_by_both <= set(merged)
        if not detached:
            assert (repo / "f.txt").read_text().splitlines() == merged
