"""Real git repositories for tests: ``make_repo(path, files)``.

The repository gets a local identity (``user.name``/``user.email``), so tests and agents
can commit in it and its worktrees without a global git configuration.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = {"user.name": "Test", "user.email": "test@example.invalid"}


def make_repo(path: Path, files: dict[str, str]) -> Path:
    """A repository at ``path`` (created when missing) on branch ``main`` with one commit
    holding ``files`` (relative path → text; parent directories are created).

    Raises:
        subprocess.CalledProcessError: git failed.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q", "-b", "main")
    for key, value in IDENTITY.items():
        _git(path, "config", key, value)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "--allow-empty", "-m", "base")
    return path


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
