"""Committing what a mission changed in its worktree (agent tasks and command missions).

Everything in the worktree is staged except build droppings (``__pycache__``, ``*.pyc``,
``.pytest_cache``, ``.overmind``: the host's ``.gitignore`` may not list them) and the
files the setup hook copied in from the host (``.env`` and the like: not the mission's
work), then committed with ``--no-verify`` (the project's hooks are repository code).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .errors import WorkspaceError
from .git import git, git_status

EXCLUDE = (":(exclude,glob)**/__pycache__/**", ":(exclude,glob)**/*.pyc",
           ":(exclude,glob)**/.pytest_cache/**", ":(exclude).overmind")


async def commit_all(path: Path, message: str, *, author: tuple[str, str],
                     copied: Iterable[str] = ()) -> list[str]:
    """Commit every change in the worktree at ``path`` on its branch; return the paths.

    Args:
        path: the worktree.
        message: the commit message (trailers included).
        author: ``(name, email)`` of the author; the committer is Overmind.
        copied: paths (relative, POSIX) the setup hook copied in: never committed.

    Returns:
        the staged paths, relative; [] (and no commit) when nothing changed.

    Raises:
        WorkspaceError: git refused the commit (its stderr is in the message).
        GitError: staging failed.
    """
    skip = [f":(exclude,literal){p}" for p in copied]
    await git("add", "-A", "--", ".", *EXCLUDE, *skip, cwd=path)
    names = (await git("diff", "--cached", "--name-only", "-z", cwd=path)).split("\0")
    names = [n for n in names if n]
    if not names:
        return []
    who = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
           "GIT_COMMITTER_NAME": "Overmind", "GIT_COMMITTER_EMAIL": "overmind@overmind.invalid"}
    code, _, err = await git_status("commit", "-q", "--no-verify", "-F", "-", cwd=path,
                                    input=message, env=who)
    if code != 0:
        raise WorkspaceError(f"could not commit the work in {path}: {err.strip()[:500]}; "
                             "the worktree is kept as it is for inspection")
    return names
