#!/usr/bin/env python
"""Overmind workspace benchmark: a task's worktree ready, side by side with plain git.

    .venv/bin/python bench/workspace_bench.py [--quick]

The repository: ≈7,000 files (≈120 MB) copied from this environment's site-packages
(text and data files under 256 KiB; no bytecode, shared objects or symlinks) and
committed once; it is cached in ``/tmp/overmind-workspace-bench-repo`` for later runs.

Each round, interleaved, with nothing running in the background while a figure is taken
(the pool's spares prepared, its deletions finished and the disk's write-back flushed with
``sync`` first):

1. ``git worktree add -b bench/plain-<i> <dir> HEAD`` — a worktree and branch the plain
   way (baseline), then ``git worktree remove --force`` of it (removal baseline).
2. ``WorktreePool.acquire("bench-<i>")`` with a warm pool (``pool_size`` 2, no setup hook)
   until it returns: the worktree is checked out on its branch and ready for an agent.
   Target ≤ 0.2× (1).
3. ``WorktreePool.release(ws, delete_branch=True)`` until it returns (dirty check, branch
   deleted, worktree moved to the trash; the deletion itself runs in the background).
4. info, once: ``acquire`` with no spare (the pool's fallback, ``git worktree add``) and
   the background time to prepare one spare, each next to a plain ``git worktree add -b``
   timed just before (single shots: on a shared disk they vary several-fold).

Prints one table (medians; PASS/MISS against the targets) and exits 0 whatever the
result; only a broken harness exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from _report import Row, Run, print_head  # noqa: E402

from overmind_jupyter.testing.repos import make_repo  # noqa: E402
from overmind_jupyter.workspace.git import git  # noqa: E402
from overmind_jupyter.workspace.worktrees import WorkspaceConfig, WorktreePool  # noqa: E402

CACHE = Path("/tmp/overmind-workspace-bench-repo")
MARKER = "overmind-bench-complete"
TARGET_FILES, MAX_BYTES = 7000, 256 * 1024
MS = 1000.0


def source_files(target: int = TARGET_FILES) -> dict[Path, Path]:
    """Whole top-level packages of site-packages until ≈``target`` files: source → relative."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    chosen: dict[Path, Path] = {}
    for package in sorted(site.iterdir()):
        if not package.is_dir() or package.name.endswith("-info") or package.name.startswith(
                ("_", ".")):
            continue
        files = [f for f in package.rglob("*") if _wanted(f)]
        if len(chosen) + len(files) > target * 1.04:
            continue
        chosen.update({f: Path("src") / f.relative_to(site) for f in files})
        if len(chosen) >= target * 0.98:
            break
    return chosen


def _wanted(f: Path) -> bool:
    return (f.is_file() and not f.is_symlink() and "__pycache__" not in f.parts
            and f.suffix not in (".pyc", ".so") and f.stat().st_size < MAX_BYTES)


def bench_repo() -> tuple[Path, int]:
    """The cached benchmark repository (built when missing); its tracked file count."""
    if (CACHE / ".git" / MARKER).is_file():
        return CACHE, int((CACHE / ".git" / MARKER).read_text())
    shutil.rmtree(CACHE, ignore_errors=True)
    print(f"building {CACHE} (once) …", flush=True)
    make_repo(CACHE, {"README.md": "# workspace benchmark\n"})
    for src, rel in source_files().items():
        (CACHE / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, CACHE / rel)
    subprocess.run(["git", "add", "-A"], cwd=CACHE, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-q", "-m", "site-packages slice"], cwd=CACHE, check=True)
    count = len(subprocess.run(["git", "ls-files", "-z"], cwd=CACHE, check=True,
                               capture_output=True).stdout.split(b"\0")) - 1
    (CACHE / ".git" / MARKER).write_text(str(count))
    return CACHE, count


def reset(repo: Path) -> None:
    """Remove what an earlier (perhaps interrupted) run left: worktrees, bench branches."""
    out = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=repo, check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("worktree ") and Path(line[9:]) != repo:
            subprocess.run(["git", "worktree", "remove", "-f", "-f", line[9:]], cwd=repo,
                           capture_output=True)
    shutil.rmtree(repo / ".overmind", ignore_errors=True)
    subprocess.run(["git", "worktree", "prune"], cwd=repo, check=True)
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname:short)",
                           "refs/heads/bench/", "refs/heads/overmind/"], cwd=repo,
                          check=True, capture_output=True, text=True).stdout.split()
    if refs:
        subprocess.run(["git", "branch", "-D", *refs], cwd=repo, check=True, capture_output=True)


async def timed(coro: Awaitable[Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = await coro
    return time.perf_counter() - t0, result


async def settle(pool: WorktreePool) -> None:
    """Wait until the pool is warm and idle (spares ready, deletions done) and the disk
    has written back what earlier steps wrote, so no step pays for another's writes."""
    while pool.spare_count < pool.config.pool_size:
        await asyncio.sleep(0.02)
    await pool._trash.drain()  # the bench may look inside: nothing may run while timing
    await asyncio.to_thread(os.sync)


async def rounds(repo: Path, n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in ("plain", "remove", "acquire", "release")}
    pool = WorktreePool(repo, WorkspaceConfig(pool_size=2, ports=3))
    plain_dir = repo / ".overmind" / "plain"
    try:
        await pool.start()
        for i in range(n):
            await settle(pool)
            path = plain_dir / str(i)
            took, _ = await timed(git("worktree", "add", "-q", "-b", f"bench/plain-{i}",
                                      str(path), "HEAD", cwd=repo))
            times["plain"].append(took)
            await asyncio.to_thread(os.sync)
            took, _ = await timed(git("worktree", "remove", "--force", str(path), cwd=repo))
            times["remove"].append(took)
            await settle(pool)
            took, ws = await timed(pool.acquire(f"bench-{i}"))
            times["acquire"].append(took)
            assert (ws.path / "README.md").is_file(), "acquire returned before checkout"
            await settle(pool)  # an agent works for minutes: the refill is long done
            took, _ = await timed(pool.release(ws, delete_branch=True))
            times["release"].append(took)
    finally:
        await pool.close()
    return times


async def cold(repo: Path) -> dict[str, float]:
    """The fallback without spares, and the background time of preparing one spare."""
    pool = WorktreePool(repo, WorkspaceConfig(pool_size=0, ports=3))
    path = repo / ".overmind" / "plain" / "cold"
    try:
        await asyncio.to_thread(os.sync)
        plain, _ = await timed(git("worktree", "add", "-q", "-b", "bench/plain-cold", str(path),
                                   "HEAD", cwd=repo))
        await git("worktree", "remove", "--force", str(path), cwd=repo)
        await asyncio.to_thread(os.sync)
        took, ws = await timed(pool.acquire("bench-cold"))
        await pool.release(ws, delete_branch=True)
        await pool._trash.drain()
        await asyncio.to_thread(os.sync)
        prepare, _ = await timed(pool._prepare_spare())
    finally:
        await pool.close()
    return {"plain": plain, "fallback": took, "prepare": prepare}


def table(t: dict[str, list[float]] | None, c: dict[str, float] | None) -> list[Row]:
    med = {k: statistics.median(v) * MS for k, v in (t or {}).items() if v}
    plain, acquire, release, remove = (med.get(k) for k in ("plain", "acquire", "release",
                                                            "remove"))
    ok = acquire is not None and plain is not None and acquire <= 0.2 * plain
    return [
        Row("1", "worktree + branch ready for an agent (ms)", acquire, "{:.1f}",
            "git worktree add -b", plain, "≤ 0.2×", ok, peer=True),
        Row("2", "release: call → return (ms)", release, "{:.1f}",
            "git worktree remove", remove, "≤ 0.2×",
            release is not None and remove is not None and release <= 0.2 * remove, peer=True),
        Row("3a", "acquire without a spare (ms)", c["fallback"] * MS if c else None, "{:.0f}",
            "git worktree add -b, just before", c["plain"] * MS if c else None, "—", None),
        Row("3b", "prepare one spare, in the background (ms)", c["prepare"] * MS if c else None,
            "{:.0f}", "git worktree add -b, just before", c["plain"] * MS if c else None, "—",
            None),
    ]


async def main_async(n: int, quick: bool) -> None:
    run = Run()
    repo, count = bench_repo()
    reset(repo)
    with run.phase("rounds"):
        t = await run.aattempt("1/2", rounds(repo, n))
    with run.phase("cold"):
        c = await run.aattempt("3", cold(repo))
    reset(repo)
    print_head("workspace", quick, f"; repository: {count} files, {n} rounds", table(t, c))
    for key, values in (t or {}).items():
        print(f"  {key:8s} " + " ".join(f"{v * MS:.1f}" for v in values) + " ms")
    run.print_footer()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 rounds instead of 5")
    args = ap.parse_args()
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    asyncio.run(main_async(2 if args.quick else 5, args.quick))


if __name__ == "__main__":
    main()
