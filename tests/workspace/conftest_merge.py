"""Real git repositories for the merge, diff and verification tests (plain helpers).

``commit_files`` writes commits with a private index (plumbing), so it can build any
branch without touching a worktree; when the branch is the one checked out in the main
worktree, that worktree is synchronised afterwards (only call it then on a clean tree).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}


def run_git(repo: Path, *args: str, env: dict[str, str] | None = None,
            input: str | None = None, check: bool = True) -> str:
    """``git ARGS`` in ``repo``; its stdout."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          input=input, env={**os.environ, **IDENTITY, **(env or {})})
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def make_repo(path: Path, files: dict[str, str]) -> Path:
    """A repository at ``path`` on branch ``main`` with one commit holding ``files``."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(path, "init", "-q", "-b", "main")
    run_git(path, "config", "user.name", "Test")
    run_git(path, "config", "user.email", "test@example.invalid")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    run_git(path, "add", "-A")
    run_git(path, "commit", "-q", "-m", "base")
    return path


def commit_files(repo: Path, branch: str, files: dict[str, str | None],
                 message: str | None = None, start: str = "main") -> str:
    """Commit ``files`` (None deletes) on ``branch`` (created at ``start``); its id."""
    exists = run_git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False)
    parent = exists.strip() or rev(repo, start)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run_git(repo, "read-tree", parent, env=env)
        for name, text in files.items():
            _stage(repo, name, text, env)
        tree = run_git(repo, "write-tree", env=env).strip()
    message = message or f"edit on {branch}"  # distinct commits even for equal trees
    commit = run_git(repo, "commit-tree", tree, "-p", parent, "-m", message).strip()
    run_git(repo, "update-ref", f"refs/heads/{branch}", commit, exists.strip())
    if run_git(repo, "branch", "--show-current").strip() == branch:
        run_git(repo, "reset", "-q", "--hard", commit)
    return commit


def _stage(repo: Path, name: str, text: str | None, env: dict[str, str]) -> None:
    if text is None:
        run_git(repo, "update-index", "--force-remove", "--", name, env=env)
        return
    blob = run_git(repo, "hash-object", "-w", "--stdin", input=text).strip()
    run_git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)


def rev(repo: Path, ref: str) -> str:
    """The commit id of ``ref``."""
    return run_git(repo, "rev-parse", "--verify", f"{ref}^{{commit}}").strip()


def show(repo: Path, ref: str, path: str) -> str:
    """The text of ``path`` at ``ref``."""
    return run_git(repo, "show", f"{ref}:{path}")


def parents(repo: Path, ref: str) -> list[str]:
    """The parent commit ids of ``ref``, first parent first."""
    return run_git(repo, "rev-list", "--parents", "-n", "1", ref).split()[1:]


def scratch_left(repo: Path) -> list[str]:
    """Worktrees other than the main one, plus anything left under .overmind/scratch."""
    listed = [line for line in run_git(repo, "worktree", "list", "--porcelain").splitlines()
              if line.startswith("worktree ")][1:]
    scratch = repo / ".overmind" / "scratch"
    return listed + ([p.name for p in scratch.iterdir()] if scratch.is_dir() else [])


def process_gone(pid: int, within_s: float = 5) -> bool:
    """Whether process ``pid`` has died (gone, or a zombie) within ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True  # killed; reaping is its parent's (or init's) business
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False
