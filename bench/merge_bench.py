"""Merge queue benchmark: 8 non-conflicting changes landed one after another.

Target (issue 5): merging 8 non-conflicting changes takes ≤ 2 s plus the verification
command. Measured on a fresh repository (60 files of 200 lines, the host's checkout on the
target branch, so every merge ends with ``git merge --ff-only`` there):

1. ``MergeQueue.merge`` ×8, verification off — the figure held against the 2 s target;
2. one more change with a trivial verification command (``python -c pass``): its merge
   time minus the command's own duration is the gate's overhead (info);
3. the floor: ``git merge --no-ff`` ×8 of the same branches in a plain clone (info).

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


def make_repo(root: Path) -> Path:
    """A repository on ``main`` and branches ``change-0`` … ``change-8`` off its first
    commit, each editing its own file (line 100) and adding one."""
    repo = root / "repo"
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
    verdict = "PASS" if eight <= TARGET_S else "FAIL"
    print(f"1  {CHANGES} merges, verification off     {eight:7.3f} s   target ≤ {TARGET_S:g} s"
          f"   {verdict}")
    print(f"2  1 merge + `python -c pass` gate  {gated:7.3f} s   (command {command:.3f} s,"
          f" overhead {gated - command:.3f} s)   info")
    print(f"3  floor: git merge --no-ff ×{CHANGES}     {bare:7.3f} s   "
          f"ratio {eight / bare:.1f}×   info")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
