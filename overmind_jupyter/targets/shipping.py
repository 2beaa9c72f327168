"""Repositories shipped to and from a remote server as git bundles (no shared filesystem).

``git bundle`` (https://git-scm.com/docs/git-bundle) packs commits into one file that the
other side fetches like a remote. Both directions travel base64-encoded in JSON over the
remote Overmind's REST API::

    host                                   remote server (its own Overmind)
    pack_base(repo, base) ──bundle──▶      receive(root, name, bundle) → a clone at base
                                           pack_result(clone) → bundle of base..work
    unpack_result(worktree, bundle) ◀──    (the agent's edits, one commit)

``unpack_result`` makes the host worktree's files and index the remote result while its
HEAD stays at the base, so the host commits the work as its own (author, trailers) the
same way as a local task's. Names are task names (``targets.registry.NAME_RE`` shape).
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from pathlib import Path

from ..errors import UsageError
from ..workspace.commit import commit_all
from ..workspace.git import git

SHIP_REF = "refs/overmind/ship/{name}"  # a temporary ref: bundles need one
WORK_BRANCH = "overmind-work"  # the remote clone's branch
REMOTE_DIR = Path(".overmind") / "remote"  # under the remote engine's root
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")
MAX_BUNDLE_BYTES = 512 * 1024 * 1024  # what a remote accepts in one request (bytes)
BUNDLE_HEADERS = (b"# v2 git bundle\n", b"# v3 git bundle\n")  # gitformat-bundle(5)


async def pack_base(repo: Path, name: str, base: str) -> str:
    """A bundle (base64) of ``repo``'s history up to commit ``base``.

    Raises:
        GitError: ``base`` is not a commit of ``repo``.
    """
    ref = SHIP_REF.format(name=_checked(name))
    await git("update-ref", ref, base, cwd=repo)
    try:
        return await _bundle(repo, [ref])
    finally:
        await git("update-ref", "-d", ref, cwd=repo, check=False)


async def receive(root: Path, name: str, bundle: str) -> tuple[Path, str]:
    """Clone ``bundle`` (from ``pack_base``) into ``<root>/.overmind/remote/<name>`` on
    branch ``overmind-work``; returns ``(path, head commit)``. A clone of the same name
    is replaced.

    Raises:
        UsageError: a bad name, a bundle that is not base64 or too big.
        GitError: the bundle is not a valid git bundle.
    """
    path = root / REMOTE_DIR / _checked(name)
    with _file(bundle) as file:  # a bad bundle is refused before anything is touched
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        await git("init", "-q", "-b", WORK_BRANCH, cwd=path)
        await git("fetch", "-q", str(file), f"{SHIP_REF.format(name=name)}:"
                  f"refs/heads/{WORK_BRANCH}-base", cwd=path)
    await git("reset", "-q", "--hard", f"{WORK_BRANCH}-base", cwd=path)
    return path, (await git("rev-parse", "HEAD", cwd=path)).strip()


async def pack_result(root: Path, name: str) -> tuple[str, str, list[str]]:
    """Commit everything in clone ``name`` and bundle it; returns ``(head, bundle
    base64, changed paths)`` (head = the base and an empty bundle when nothing changed).

    Raises:
        NotFound-like UsageError: no clone ``name`` here.
    """
    path = clone_path(root, name)
    files = await commit_all(path, f"{name}: remote work\n", author=(
        "Overmind remote agent", "remote-agent@overmind.invalid"))
    head = (await git("rev-parse", "HEAD", cwd=path)).strip()
    if not files:
        return head, "", []
    return head, await _bundle(path, [f"{WORK_BRANCH}-base..{WORK_BRANCH}"]), files


async def unpack_result(worktree: Path, name: str, head: str, bundle: str) -> None:
    """Make ``worktree``'s files and index those of commit ``head`` from ``bundle`` (from
    ``pack_result``), its HEAD unchanged; nothing when ``bundle`` is empty.

    Raises:
        GitError: the bundle does not apply (its base is not in this repository).
    """
    if not bundle:
        return
    ref = f"refs/overmind/result/{_checked(name)}"
    with _file(bundle) as file:
        await git("fetch", "-q", str(file), f"{WORK_BRANCH}:{ref}", cwd=worktree)
    try:
        await git("read-tree", "--reset", "-u", head, cwd=worktree)
    finally:
        await git("update-ref", "-d", ref, cwd=worktree, check=False)


def discard(root: Path, name: str) -> bool:
    """Remove clone ``name``; whether there was one."""
    path = root / REMOTE_DIR / _checked(name)
    found = path.is_dir()
    shutil.rmtree(path, ignore_errors=True)
    return found


def clone_path(root: Path, name: str) -> Path:
    """The path of clone ``name``.

    Raises:
        UsageError: none was received under that name.
    """
    path = root / REMOTE_DIR / _checked(name)
    if not (path / ".git").is_dir():
        raise UsageError(f"no shipped repository {name!r} here; the host sends it first "
                         "(POST remote/workspaces)")
    return path


async def _bundle(repo: Path, revs: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="overmind-bundle-") as tmp:
        out = Path(tmp) / "b.bundle"
        await git("bundle", "create", "-q", str(out), *revs, cwd=repo)
        return base64.b64encode(out.read_bytes()).decode("ascii")


class _file:
    """A temporary file holding a base64 bundle (context manager → its path)."""

    def __init__(self, bundle: str) -> None:
        if len(bundle) > MAX_BUNDLE_BYTES * 4 // 3 + 4:
            raise UsageError(f"the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
        try:
            self.data = base64.b64decode(bundle, validate=True)
        except ValueError:
            raise UsageError("the bundle is not base64 text") from None
        if not self.data.startswith(BUNDLE_HEADERS):
            raise UsageError("the bundle is not a git bundle (it must start with "
                             "'# v2 git bundle' or '# v3 git bundle')")
        self.dir = tempfile.TemporaryDirectory(prefix="overmind-bundle-")

    def __enter__(self) -> Path:
        path = Path(self.dir.name) / "in.bundle"
        path.write_bytes(self.data)
        return path

    def __exit__(self, *exc: object) -> None:
        self.dir.cleanup()


def _checked(name: str) -> str:
    if not NAME.fullmatch(name) or ".." in name:
        raise UsageError(f"bad shipped repository name {name!r}: letters, digits, '.', '_' "
                         "or '-'")
    return name
