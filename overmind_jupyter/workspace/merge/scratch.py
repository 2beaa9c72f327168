"""The git side of a merge: a throw-away worktree, the merge in it, moving the target.

A scratch worktree is detached at the target's tip under ``<repo>/.overmind/scratch/`` so
the host's own worktree, index and other branches are never touched while merging. In it,
``git merge --no-ff --no-commit`` runs with nbdime's merge driver for ``*.ipynb`` given
through ``-c`` options and an attributes file under ``<repo>/.overmind/`` (nbdime's
documented driver line ``git-nbmergedriver merge %O %A %B %L %P``), so the host's git
config is never written. ``rerere`` is off: a recorded resolution would skip validation.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from ...config import VERIFY_DIR_ENV
from ...errors import NotFound, UsageError
from ..git import GitError, git, git_status, rev_parse
from ..trees import worktree_list

_MOVED = "{} moved while the merge was being prepared; merge again"
_ATTRIBUTES = "*.ipynb merge=jupyternotebook\n"
_FALLBACK_IDENTITY = {"GIT_AUTHOR_NAME": "Overmind", "GIT_AUTHOR_EMAIL": "overmind@localhost",
                      "GIT_COMMITTER_NAME": "Overmind",
                      "GIT_COMMITTER_EMAIL": "overmind@localhost"}


@dataclass(frozen=True, slots=True)
class ConflictedFile:
    """A file git could not merge: the three sides and git's text with conflict markers.

    ``base`` is the common ancestor's version, ``ours`` the target's, ``theirs`` the
    change's; each is ``""`` when that side has no such file.
    """

    path: str
    base: str
    ours: str
    theirs: str
    merged_with_markers: str


class Scratch:
    """A detached worktree of ``top`` (the repository's top level) for one merge."""

    def __init__(self, top: Path, path: Path, env: dict[str, str]) -> None:
        self.top, self.path, self.env = top, path, env  # env: the merge's git identity
        self._labels: dict[str, str] = {}

    @classmethod
    async def create(cls, top: Path, commit: str) -> Scratch:
        """Add a worktree detached at ``commit`` under ``<top>/.overmind/scratch/``.

        Its name carries this process's pid, so scratch worktrees left by a process that
        died mid-merge (kill -9) are recognised and removed here.

        Raises:
            GitError: git refused (disk full, broken repository …).
        """
        await remove_orphans(top)
        scratch = _state_dir(top) / "scratch"
        path = scratch / f"merge-{os.getpid()}-{secrets.token_hex(4)}"
        await git("worktree", "add", "--detach", "--quiet", str(path), commit, cwd=top)
        return cls(top, path, await identity(top))

    async def merge(self, commit: str, labels: tuple[str, str]) -> list[str]:
        """Merge ``commit`` without committing; return the conflicted paths ([] if clean).

        ``labels`` name the two sides (target, change) in the conflict markers that
        ``conflicted_file`` returns, where git would write ``HEAD`` and a commit id.

        Raises:
            GitError: the merge failed for another reason than conflicts.
        """
        args = (*_merge_options(self.top), "merge", "--no-ff", "--no-commit", "--quiet", commit)
        code, out, err = await git_status(*args, cwd=self.path, env=self.env)
        if code == 0:
            return []
        paths = await self.unmerged()
        if not paths:
            raise GitError(args, code, err, out)
        self._labels = {"<<<<<<< HEAD": f"<<<<<<< {labels[0]}",
                        f">>>>>>> {commit}": f">>>>>>> {labels[1]}"}
        return paths

    async def unmerged(self) -> list[str]:
        """Paths still marked as conflicted in the scratch index."""
        out = await git("diff", "--name-only", "--diff-filter=U", "-z", cwd=self.path)
        return [p for p in out.split("\0") if p]

    async def conflicted_file(self, path: str) -> ConflictedFile:
        """The three index stages of ``path`` and the worktree text git left with markers."""
        base, ours, theirs = [await self._stage(n, path) for n in (1, 2, 3)]
        file = self._inside(path)
        merged = file.read_text("utf-8", "replace") if file.is_file() else ""
        return ConflictedFile(path, base, ours, theirs, self._relabel(merged))

    def _relabel(self, text: str) -> str:
        for git_label, label in self._labels.items():  # "HEAD:old/name" after a rename
            text = re.sub(rf"^{re.escape(git_label)}(?=[:\r\n]|$)", label, text, flags=re.M)
        return text

    async def _stage(self, stage: int, path: str) -> str:
        code, out, _ = await git_status("show", f":{stage}:{path}", cwd=self.path)
        return out if code == 0 else ""

    async def resolve(self, path: str, text: str) -> None:
        """Write ``text`` as the merged ``path`` and mark it resolved (``git add``)."""
        file = self._inside(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(file, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        await git("add", "--", path, cwd=self.path)

    def _inside(self, path: str) -> Path:
        # Paths come from git, but a resolution's key comes from a human or an agent.
        file = (self.path / path).resolve()
        if not file.is_relative_to(self.path.resolve()):
            raise UsageError(f"{path!r} is outside the repository; name a file inside it")
        return file

    async def commit(self, message: str) -> str:
        """Record the merge (hooks skipped: the verification gate is the check); its id."""
        await git("commit", "--no-verify", "--quiet", "-F", "-", input=message, cwd=self.path,
                  env=self.env)
        return await rev_parse("HEAD", self.path)

    async def reset(self, commit: str) -> None:
        """Drop a merge in progress: HEAD, index and files back to ``commit``, and any
        untracked leftovers (e.g. ``a.py~HEAD`` of a rename conflict) removed."""
        await git("reset", "--hard", "--quiet", commit, cwd=self.path)
        await git("clean", "-fdq", cwd=self.path)

    async def remove(self) -> None:
        """Delete the worktree and its administrative files, whatever state it is in."""
        code, _, _ = await git_status("worktree", "remove", "--force", "--force",
                                      str(self.path), cwd=self.top)
        if code != 0:
            shutil.rmtree(self.path, ignore_errors=True)
            await git_status("worktree", "prune", cwd=self.top)


async def branch_tip(top: Path, branch: str) -> str:
    """The commit id branch ``branch`` points at.

    Raises:
        NotFound: there is no such branch.
    """
    try:
        return await rev_parse(f"refs/heads/{branch}", top)
    except GitError:
        raise NotFound(f"there is no branch {branch!r} in {top}; check the change's branch "
                       "and target") from None


async def contains(top: Path, tip: str, commit: str) -> bool:
    """Whether ``commit`` is ``tip`` or one of its ancestors."""
    code, _, _ = await git_status("merge-base", "--is-ancestor", commit, tip, cwd=top)
    return code == 0


async def remove_orphans(top: Path) -> list[str]:
    """Remove the scratch worktrees left by a process that died mid-merge (kill -9):
    ``merge-<pid>-*`` whose pid is gone. The processes still working in one (a
    verification command outliving its engine) are SIGKILLed first, by process group.

    Returns what was done, one line each (``"stopped pid 123 (pytest) in …"``,
    ``"removed …/merge-77-ab12"``).
    """
    scratch = _state_dir(top) / "scratch"
    scratch.mkdir(exist_ok=True)
    done: list[str] = []
    for path in sorted(scratch.iterdir()):
        match = re.fullmatch(r"merge-(\d+)-[0-9a-f]+", path.name)
        if match and not psutil.pid_exists(int(match[1])):
            done.extend(_stop_inside(path))
            await Scratch(top, path, {}).remove()
            done.append(f"removed {path}")
    return done


def _stop_inside(path: Path) -> list[str]:
    """SIGKILL the process groups of processes working in ``path`` (by their current
    directory or the ``OVERMIND_VERIFY_DIR`` a verification command carries)."""
    found: list[str] = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            verifying = _within(proc.environ().get(VERIFY_DIR_ENV), path)
            if proc.pid == os.getpid() or not (verifying or _within(proc.cwd(), path)):
                continue
            if verifying:  # its own session: stragglers it started go with it
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            else:
                proc.kill()
            found.append(f"stopped pid {proc.pid} ({proc.info['name']}) in {path}")
        except (psutil.Error, OSError):
            continue
    return found


def _within(place: str | None, path: Path) -> bool:
    return bool(place) and Path(place).is_relative_to(path)


def _state_dir(top: Path) -> Path:
    state = top / ".overmind"
    state.mkdir(exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():  # keep scratch worktrees out of the host's `git status`
        ignore.write_text("*\n")
    return state


def _merge_options(top: Path) -> list[str]:
    options = ["-c", "rerere.enabled=false"]
    driver = nbmerge_driver()
    if driver is None:
        return options  # notebooks are then merged as text
    attributes = _state_dir(top) / "merge-attributes"
    if not attributes.is_file() or attributes.read_text() != _ATTRIBUTES:
        attributes.write_text(_ATTRIBUTES)
    return [*options, "-c", f"core.attributesFile={attributes}",
            "-c", f"merge.jupyternotebook.driver={shlex.quote(driver)} merge %O %A %B %L %P",
            "-c", "merge.jupyternotebook.name=nbdime notebook merge (Overmind)"]


def nbmerge_driver() -> str | None:
    """Path of nbdime's ``git-nbmergedriver`` (next to this Python first, then on PATH)."""
    beside = Path(sys.executable).parent / "git-nbmergedriver"
    if os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("git-nbmergedriver")


async def identity(top: Path) -> dict[str, str]:
    """Environment giving git an identity ("Overmind") where none is configured, else {}.

    A merge and its commit need an author and committer; the host's own identity wins.
    """
    _, out, _ = await git_status("config", "--get-regexp", r"^user\.(name|email)$", cwd=top)
    configured = {line.split(" ", 1)[0] for line in out.splitlines()}
    if all(key in configured or env in os.environ for key, env in (
            ("user.name", "GIT_AUTHOR_NAME"), ("user.email", "GIT_AUTHOR_EMAIL"))):
        return {}
    return dict(_FALLBACK_IDENTITY)


async def checked_out_in(top: Path, branch: str) -> Path | None:
    """The worktree of ``top``'s repository that has ``branch`` checked out, if any."""
    out = await worktree_list(top)
    path = None
    for field in out.split("\0"):
        if field.startswith("worktree "):
            path = Path(field.removeprefix("worktree "))
        elif field == f"branch refs/heads/{branch}":
            return path
    return None


@dataclass(frozen=True, slots=True)
class Blocked:
    """The target could not be moved: ``reason`` for humans; ``retry`` when the target
    moved meanwhile (merging again from its new tip may work)."""

    reason: str
    retry: bool = False


async def advance(top: Path, target: str, old: str, new: str,
                  env: dict[str, str]) -> Blocked | None:
    """Move branch ``target`` from ``old`` to its descendant ``new``; None when done.

    Where ``target`` is checked out, ``git merge --ff-only`` in that worktree moves branch,
    index and files together, and git refuses (→ ``Blocked``) rather than overwrite
    uncommitted edits; a path the merge adds that the checkout has untracked or ignored
    (``.env``) blocks it too, before git runs (git would replace an ignored file);
    elsewhere ``git update-ref`` swaps ``old`` for ``new`` atomically.
    ``env`` is the git identity for the reflog (see ``identity``).
    """
    ref = f"refs/heads/{target}"
    worktree = await checked_out_in(top, target)
    if worktree is None:
        code, _, _ = await git_status("update-ref", "-m", f"overmind: merge {new[:12]}",
                                      ref, new, old, cwd=top, env=env)
        return None if code == 0 else Blocked(_MOVED.format(target), retry=True)
    if await rev_parse(ref, top) != old:
        return Blocked(_MOVED.format(target), retry=True)
    untracked = await _would_replace(worktree, old, new)
    if untracked:
        return Blocked(_replacing(target, worktree, untracked))
    code, _, err = await git_status("merge", "--ff-only", "--quiet", new, cwd=worktree,
                                    env=env)
    if code == 0:
        return None
    return Blocked(_refusal(target, worktree, err))


async def _would_replace(worktree: Path, old: str, new: str) -> list[str]:
    """Paths ``old..new`` adds that exist in ``worktree`` untracked or git-ignored (a
    host's ``.env``): ``git merge --ff-only`` refuses to overwrite untracked files but
    replaces ignored ones without a word, so both are checked here first."""
    out = await git("diff", "--no-renames", "--name-only", "--diff-filter=A", "-z", old, new,
                    cwd=worktree)
    added = [p for p in out.split("\0") if p]
    return [p for p in added if os.path.lexists(worktree / p)]


def _replacing(target: str, worktree: Path, paths: list[str]) -> str:
    shown = ", ".join(paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
    return (f"the change adds {shown}, which {target}'s checkout in {worktree} has as "
            "untracked or git-ignored files that the merge would replace; "
            f"{target} is untouched: move them away (or close the change), then merge again")


def _refusal(target: str, worktree: Path, stderr: str) -> str:
    files = [line.strip() for line in stderr.splitlines() if line.startswith("\t")]
    if files:
        return (f"{target} is checked out in {worktree} with uncommitted changes the merge "
                f"would overwrite ({', '.join(files[:10])}); commit or stash them, then "
                "merge again")
    first = stderr.strip().splitlines()[:1]
    return (f"git refused to move {target} in {worktree} ({first[0] if first else 'no reason'}"
            "); finish what is in progress there, then merge again")
