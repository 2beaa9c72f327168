"""What a change changed: its branch against the base it forked from (``base...branch``).

The three-dot form compares ``branch`` with the merge base of ``base`` and ``branch``
(``git help diff``), so commits that landed on the base after the fork do not show up as
the change's edits. Paths are read with ``-z`` so names with spaces, quotes or non-ASCII
characters come back verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import NotFound, UsageError
from .git import GitError, git, rev_parse


@dataclass(frozen=True, slots=True)
class FileStat:
    """One changed file: ``added`` / ``deleted`` line counts (0 for binary files).

    A renamed file is reported under its new ``path``.
    """

    path: str
    added: int
    deleted: int
    binary: bool = False


async def diff_stat(repo: Path, base: str, branch: str) -> list[FileStat]:
    """Per-file line counts of ``git diff --numstat base...branch``, in git's order.

    Raises:
        NotFound: ``base`` or ``branch`` is not a commit of ``repo``.
    """
    await _check_refs(repo, base, branch)
    out = await git("diff", "--numstat", "-z", "--find-renames", f"{base}...{branch}", cwd=repo)
    return _parse_numstat(out)


def _parse_numstat(out: str) -> list[FileStat]:
    # -z records: "A\tD\tpath\0", or for a rename "A\tD\t\0old\0new\0" (git help diff).
    fields, stats = out.split("\0"), []
    i = 0
    while i < len(fields) and fields[i]:
        added, deleted, path = fields[i].split("\t", 2)
        if not path:  # rename: the old and new names follow
            path, i = fields[i + 2], i + 2
        binary = added == "-"
        stats.append(FileStat(path, 0 if binary else int(added), 0 if binary else int(deleted),
                              binary))
        i += 1
    return stats


async def full_diff(repo: Path, base: str, branch: str, path: str | None = None) -> str:
    """The unified diff of ``base...branch`` (only ``path`` when given), as git prints it.

    Raises:
        NotFound: ``base`` or ``branch`` is not a commit of ``repo``.
        UsageError: ``path`` is not a path inside the repository (see ``repo_path``).
    """
    only = ["--", repo_path(path)] if path is not None else []
    await _check_refs(repo, base, branch)
    return await git("diff", "--find-renames", f"{base}...{branch}", *only, cwd=repo)


def repo_path(path: str) -> str:
    """``path`` as a literal pathspec of a file inside the repository (relative, POSIX).

    Raises:
        UsageError: empty, absolute, with a ``..`` component, NUL or a git pathspec magic
            prefix (``:``) — nothing outside the repository can be named.
    """
    parts = PurePosixPath(path).parts
    if not path or "\0" in path or path.startswith((":", "/", "~")) or ".." in parts:
        raise UsageError(f"path {path[:200]!r} is not a file path inside the repository; "
                         "give it relative to the repository root, e.g. src/app.py")
    return f":(literal){path}"


async def changed_files(repo: Path, base: str, branch: str) -> list[str]:
    """Paths the change touched (added, modified, deleted or renamed to), in git's order.

    Raises:
        NotFound: ``base`` or ``branch`` is not a commit of ``repo``.
    """
    await _check_refs(repo, base, branch)
    out = await git("diff", "--name-only", "-z", "--find-renames", f"{base}...{branch}",
                    cwd=repo)
    return [name for name in out.split("\0") if name]


async def _check_refs(repo: Path, *refs: str) -> None:
    for ref in refs:
        try:
            await rev_parse(ref, repo)
        except GitError:
            raise NotFound(f"{ref!r} is not a branch or commit of {repo}; "
                           "check the change's branch and base") from None
