"""Helpers of the demo tests: git, the project's records, and what a run left behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil

from overmind_jupyter.store.records import Record, Records
from overmind_jupyter.store.store import Store, default_db_path


def git(repo: Path, *args: str) -> str:
    """``git ARGS`` in ``repo``; its stdout (fails the test on an error)."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def records(repo: Path, kind: str) -> list[Record]:
    """The project's records of ``kind`` (from ``.overmind/``), oldest first."""
    store = Store(default_db_path(repo))
    try:
        return Records(store).list(kind)
    finally:
        store.close()


def left_behind(repo: Path, work: Path, runtime: Path) -> list[str]:
    """What should be gone after a run: worktrees of ``repo`` other than its own (and
    directories under ``.overmind/worktrees``), Overmind's branches, server runtime files
    in ``runtime`` and live processes whose working directory is inside ``work``."""
    lines = git(repo, "worktree", "list", "--porcelain").splitlines()
    found = [f"worktree {line[9:]}" for line in lines
             if line.startswith("worktree ") and Path(line[9:]) != repo]
    found += [f"directory {p}" for p in (repo / ".overmind" / "worktrees").glob("*")]
    found += [f"branch {b}" for b in git(repo, "branch", "--list", "overmind/*").split()]
    found += [f"runtime file {p}" for p in runtime.glob("overmind-*.json")]
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            if Path(proc.cwd()).is_relative_to(work) and proc.status() != "zombie":
                found.append(f"process {proc.pid} {proc.info['name']}")
        except psutil.Error:
            continue
    return found
