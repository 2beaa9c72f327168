"""The one way Overmind runs git: ``await git(*args, cwd=...)`` in a child process.

Git is always invoked with a fixed, minimal environment on top of the caller's (no pager,
no prompts, no editor, C locale) so its output is stable and it never waits for a human.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from pathlib import Path

from ..errors import OvermindError

_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "PAGER": "cat", "LC_ALL": "C",
        "GIT_EDITOR": "true", "GIT_MERGE_AUTOEDIT": "no"}


class GitError(OvermindError):
    """A git command failed. ``args``, ``code`` (exit status) and ``stderr`` say how."""

    reason = "git"
    http_status = 500

    def __init__(self, args: tuple[str, ...], code: int, stderr: str, stdout: str = "") -> None:
        super().__init__(f"git {' '.join(args)} failed ({code}): {stderr.strip()[:2000]}")
        self.git_args, self.code, self.stderr, self.stdout = args, code, stderr, stdout


async def git(*args: str, cwd: str | Path, input: str | None = None,
              env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run ``git ARGS`` in ``cwd``; return its stdout (text, trailing newline kept).

    Raises:
        GitError: exit status ≠ 0 and ``check``.
    """
    code, out, err = await git_status(*args, cwd=cwd, input=input, env=env)
    if check and code != 0:
        raise GitError(args, code, err, out)
    return out


async def git_status(*args: str, cwd: str | Path, input: str | None = None,
                     env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``git ARGS`` in ``cwd``; return ``(exit status, stdout, stderr)`` without raising.

    When the calling task is cancelled, the git process is killed (and reaped) first.
    Commands that change worktree metadata run one at a time per ``cwd``: concurrent
    ``git worktree add`` processes read each other's half-written ``.git/worktrees/*``
    ("failed to read .git/worktrees/X/commondir").
    """
    if args[:1] == ("worktree",) and args[1:2] != ("list",):
        async with _worktree_lock(cwd):
            return await _run(args, cwd, input, env)
    return await _run(args, cwd, input, env)


def _worktree_lock(cwd: str | Path) -> asyncio.Lock:
    locks = _WORKTREE_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(str(Path(cwd).resolve()), asyncio.Lock())


# per event loop (an asyncio.Lock belongs to one loop), per repository top level
_WORKTREE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] \
    = weakref.WeakKeyDictionary()


async def _run(args: tuple[str, ...], cwd: str | Path, input: str | None,
               env: dict[str, str] | None) -> tuple[int, str, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            "git", *args, cwd=str(cwd), env={**os.environ, **(env or {}), **_ENV},
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError as err:  # git not on PATH, or cwd gone
        raise GitError(args, 127, f"could not run git in {cwd}: {err.strerror}; install git "
                       "or check that the directory exists") from None
    try:
        out, err = await proc.communicate(input.encode() if input is not None else None)
    except BaseException:  # cancelled: never leave a git behind (it may hold index.lock)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
        raise
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def rev_parse(ref: str, cwd: str | Path) -> str:
    """The full commit id of ``ref`` (``HEAD``, a branch …).

    Raises:
        GitError: unknown ref.
    """
    return (await git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=cwd)).strip()


async def current_branch(cwd: str | Path) -> str | None:
    """The branch checked out in ``cwd`` (None when HEAD is detached)."""
    code, out, _ = await git_status("symbolic-ref", "--quiet", "--short", "HEAD", cwd=cwd)
    return out.strip() if code == 0 else None


async def common_dir(cwd: str | Path) -> Path:
    """The repository's common git directory (shared by all its worktrees), absolute."""
    out = await git("rev-parse", "--path-format=absolute", "--git-common-dir", cwd=cwd)
    return Path(out.strip())


async def is_dirty(cwd: str | Path) -> bool:
    """Whether the work tree has uncommitted changes or untracked (not ignored) files."""
    return bool((await git("status", "--porcelain", "--untracked-files=normal", cwd=cwd)).strip())
