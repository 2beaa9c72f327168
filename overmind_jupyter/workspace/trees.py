"""Git worktree operations the pool is built from (each one or two git processes).

``top`` is always the repository's top level (the host's main worktree); commands that
change refs or worktree metadata run there and never touch its files or index.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from .git import GitError, git, git_status

COPIED_FILE = "overmind-copied"  # in a worktree's git dir: files the setup hook copied in


async def add_worktree(top: Path, path: Path, ref: str, *, detach: bool = False) -> None:
    """``git worktree add [--detach] PATH REF``: a new worktree with ``ref`` checked out.

    Raises:
        GitError: git refused (path exists, branch checked out elsewhere, unknown ref …).
    """
    await git("worktree", "add", "--quiet", *(["--detach"] if detach else []), str(path), ref,
              cwd=top)


async def move_worktree(top: Path, src: Path, dst: Path) -> None:
    """Rename worktree ``src`` to ``dst`` (a rename plus git's metadata update).

    Raises:
        GitError: ``src`` is not a worktree of ``top`` or ``dst`` exists.
    """
    await git("worktree", "move", "--force", str(src), str(dst), cwd=top)


async def remove_worktree(top: Path, path: Path) -> None:
    """Delete worktree ``path`` and its metadata, whatever state it is in (also locked,
    half-created or unregistered). Callers check ``path`` is theirs to delete."""
    code, _, _ = await git_status("worktree", "remove", "--force", "--force", str(path),
                                  cwd=top)
    if code != 0:
        await asyncio.to_thread(shutil.rmtree, path, ignore_errors=True)
        await git_status("worktree", "prune", cwd=top)


async def worktree_list(top: Path, attempts: int = 5) -> str:
    """``git worktree list --porcelain -z`` of ``top``'s repository.

    A worktree being added meanwhile has its metadata directory before its ``commondir``
    file, and git then fails to list ("failed to read .git/worktrees/…"): asked again
    (``attempts`` times, 20 ms apart), as the add finishes within milliseconds.

    Raises:
        GitError: git failed for another reason, or still after ``attempts``.
    """
    for attempt in range(attempts):
        try:
            return await git("worktree", "list", "--porcelain", "-z", cwd=top)
        except GitError as exc:
            if "failed to read" not in exc.stderr or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.02)  # real time: another git process finishing its add
    raise AssertionError("unreachable")


async def registered_worktrees(top: Path) -> set[Path]:
    """The paths of every worktree git knows for ``top``'s repository (resolved)."""
    out = await worktree_list(top)
    return {Path(f.removeprefix("worktree ")).resolve()
            for f in out.split("\0") if f.startswith("worktree ")}


async def create_branch(top: Path, branch: str, commit: str) -> bool:
    """Create ``branch`` at ``commit``; False when a branch of that name (or one that
    clashes with it, like ``a`` for ``a/b``) exists. Never moves an existing branch.

    Raises:
        GitError: any other refusal (invalid name, unknown commit).
    """
    code, out, err = await git_status("branch", "--no-track", branch, commit, cwd=top)
    if code == 0:
        return True
    if "already exists" in err or "cannot lock ref" in err:
        return False
    raise GitError(("branch", "--no-track", branch, commit), code, err, out)


async def dirty_files(path: Path, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Files of worktree ``path`` with uncommitted changes or untracked (not ignored),
    as ``git status`` names them; paths equal to or under an entry of ``ignore`` are
    left out. Raises ``GitError`` when ``path`` is not a worktree."""
    out = await git("status", "--porcelain=v1", "-z", "--untracked-files=all", cwd=path)
    fields, names = out.split("\0"), []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 2 if entry[:1] in ("R", "C") else 1  # renames/copies carry the old name too
        name = entry[3:]
        if entry and not any(name == c or name.startswith(c.rstrip("/") + "/") for c in ignore):
            names.append(name)
    return names


def worktree_git_dir(path: Path, common: Path) -> Path | None:
    """The private git dir of linked worktree ``path`` (``<common>/worktrees/<id>``), or
    None when its ``.git`` file is missing or points anywhere else."""
    try:
        text = (path / ".git").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    target = (path / target).resolve() if not target.is_absolute() else target.resolve()
    return target if target.parent == (common / "worktrees").resolve() else None


def read_copied(path: Path, common: Path) -> frozenset[str]:
    """The paths the setup hook copied into worktree ``path`` (see ``write_copied``)."""
    git_dir = worktree_git_dir(path, common)
    try:
        text = (git_dir / COPIED_FILE).read_text(encoding="utf-8") if git_dir else ""
    except OSError:
        return frozenset()
    return frozenset(line for line in text.splitlines() if line)


def write_copied(path: Path, common: Path, copied: list[str]) -> None:
    """Remember ``copied`` in the worktree's git dir, where the agent cannot write, so the
    copies never make the worktree count as dirty (they came from the host)."""
    git_dir = worktree_git_dir(path, common)
    if git_dir is not None:
        (git_dir / COPIED_FILE).write_text("".join(f"{c}\n" for c in copied), encoding="utf-8")
