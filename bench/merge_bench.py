"""Merge queue benchmark: 8 non-conflicting changes, one at a time and as a merge train.

Target (issue 5): merging 8 non-conflicting changes takes ≤ 2 s plus the verification
command. Measured on fresh repositories (60 files of 200 lines, the host's checkout on the
target branch, so every landing ends with ``git merge --ff-only`` there):

1. ``MergeQueue.merge`` ×8, verification off — held against the 2 s target;
2. one more change with a trivial verification command (``python -c pass``): its merge
   time minus the command's own duration is the gate's overhead (info);
3. the floor: ``git merge --no-ff`` ×8 of the same branches in a plain clone (info);
4. ``MergeQueue.merge_many`` of 8 changes (a merge train) with ``python -c pass`` as the
   verification, run once for the batch: its time minus the command's is held against
   the 2 s target, and printed as a ratio of it.

Exit status 0 whether the target is met or not; only a broken harness exits non-zero.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from overmind_jupyter.workspace.merge import MergeQueue, MergeRequest

FILES, LINES, CHANGES, TARGET_S = 60, 200, 8, 2.0
IDENTITY = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True, env={**os.environ, **IDENTITY}).stdout


def make_repo(root: Path, name: str = "repo") -> Path:
    """A repository ``root/name`` on ``main`` and branches ``change-0`` … ``change-8`` off
    its first commit, each editing its own file (line 100) and adding one."""
    repo = root / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for f in range(FILES):
        (repo / f"mod{f}.py").write_text("".join(f"v{i} = {i}\n" for i in range(LINES)))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    for c in range(CHANGES + 1):
        git(repo, "checkout", "-q", "-b", f"change-{c}", "main")
        path = repo / f"mod{c}.py"
        path.write_text(path.read_text().replace("v100 = 100\n", f"v100 = 'change {c}'\n"))
        (repo / f"new{c}.py").write_text(f"new = {c}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"change {c}")
    git(repo, "checkout", "-q", "main")
    return repo


async def overmind(repo: Path) -> tuple[float, float, float]:
    """(8 merges without verification, s; 9th merge with verification, s; its command, s)."""
    queue = MergeQueue(repo, verify_command=None)
    started = time.perf_counter()
    for c in range(CHANGES):
        outcome = await queue.merge(MergeRequest(f"c{c}", f"change-{c}", "main", "bench", "b"))
        assert outcome.state == "merged", outcome.message
    eight = time.perf_counter() - started
    gated = MergeQueue(repo, verify_command=[sys.executable, "-c", "pass"])
    started = time.perf_counter()
    outcome = await gated.merge(MergeRequest("c8", f"change-{CHANGES}", "main", "bench", "b"))
    assert outcome.state == "merged" and outcome.verification, outcome.message
    return eight, time.perf_counter() - started, outcome.verification.duration_s


async def overmind_train(repo: Path) -> tuple[float, float]:
    """(``merge_many`` of 8 changes with a ``python -c pass`` gate, s; the command, s)."""
    queue = MergeQueue(repo, verify_command=[sys.executable, "-c", "pass"])
    requests = [MergeRequest(f"c{c}", f"change-{c}", "main", "bench", "b")
                for c in range(CHANGES)]
    started = time.perf_counter()
    outcomes = await queue.merge_many(requests)
    took = time.perf_counter() - started
    assert all(o.state == "merged" and o.merge_commit for o in outcomes), outcomes
    verification = outcomes[0].verification
    assert verification is not None and all(o.verification is verification for o in outcomes)
    return took, verification.duration_s


def floor(repo: Path, root: Path) -> float:
    """``git merge --no-ff`` ×8 in a plain clone of ``repo`` taken before any merge."""
    clone = root / "clone"
    git(root, "clone", "-q", "--no-local", str(repo), str(clone))
    for c in range(CHANGES):
        git(clone, "branch", "-q", f"change-{c}", f"origin/change-{c}")
    started = time.perf_counter()
    for c in range(CHANGES):
        git(clone, "merge", "-q", "--no-ff", "-m", f"merge {c}", f"change-{c}")
    return time.perf_counter() - started


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="merge-bench-") as tmp:
        root = Path(tmp)
        repo = make_repo(root)
        bare = floor(repo, root)
        eight, gated, command = asyncio.run(overmind(repo))
        train, train_command = asyncio.run(overmind_train(make_repo(root, "train")))
    verdict = "PASS" if eight <= TARGET_S else "FAIL"
    print(f"1  {CHANGES} merges, verification off     {eight:7.3f} s   target ≤ {TARGET_S:g} s"
          f"   {verdict}")
    print(f"2  1 merge + `python -c pass` gate  {gated:7.3f} s   (command {command:.3f} s,"
          f" overhead {gated - command:.3f} s)   info")
    print(f"3  floor: git merge --no-ff ×{CHANGES}     {bare:7.3f} s   "
          f"ratio {eight / bare:.1f}×   info")
    merging = train - train_command
    print(f"4  merge train ×{CHANGES} + 1 gate run    {train:7.3f} s   (command "
          f"{train_command:.3f} s; merging {merging:.3f} s = {merging / TARGET_S:.2f} of the "
          f"{TARGET_S:g} s target)   {'PASS' if merging <= TARGET_S else 'FAIL'}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
