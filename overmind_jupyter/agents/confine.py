"""File access confined to one workspace (a mission's git worktree).

``Workspace.resolve`` turns whatever path an agent names (relative, absolute, ``~``,
``..``, through symlinks) into its real location and refuses it with ``PathDenied`` when
that location is outside the workspace root or is protected (see ``protection``).

The operations (``read_text``, ``write_text``, ``list_dir``) do not trust that check to
still hold when they run: they walk from the root one component at a time with
``os.open(name, O_DIRECTORY | O_NOFOLLOW, dir_fd=parent)`` (openat semantics), open the
final file with ``O_NOFOLLOW``, and replace files with ``os.replace`` between directory
descriptors. A directory swapped for a symlink after the check makes the operation fail
with ``PathDenied``; it can never redirect it outside the workspace.

Protected paths (any path component, compared case-insensitively):

* never readable nor writable: ``.git`` (directory or gitfile) and everything under it;
  ``.overmind`` (Overmind's store: other users' prompts, logs, invites);
* never writable: git hook directories ``.husky`` and ``.githooks`` (common
  ``core.hooksPath`` values), agent CLI config (``.claude``, ``.gemini``, ``.codex``,
  ``.goose``, ``.cursor``, ``.continue``, ``.windsurf``, ``.opencode``, ``.mcp.json``,
  ``.aider*``), Jupyter/IPython config and startup (``.jupyter``, ``.ipython``,
  ``jupyter[_*]_config.{py,json}``, ``jupyter[_*]_config.d``, ``ipython[_*]_config.{py,json}``),
  shell startup files (``.bashrc``, ``.profile``, ``.zshrc``, ``.envrc``, ...).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import re
import secrets
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, TypedDict

from ..errors import OvermindError, UsageError

__all__ = ["MAX_NAME_BYTES", "MAX_PATH_BYTES", "MAX_READ_BYTES", "DirEntry", "PathDenied",
           "Workspace", "protection"]

MAX_PATH_BYTES = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX
MAX_READ_BYTES = 32 << 20
_MAX_SYMLINK_HOPS = 40  # as the Linux kernel

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # FIFOs don't block
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class PathDenied(OvermindError):
    """A file tool named a path outside the workspace, or a protected one."""

    reason = "path-denied"
    http_status = 403


class DirEntry(TypedDict):
    """One entry of ``Workspace.list_dir``; ``size`` is ``None`` except for files."""

    name: str
    path: str  # relative to the workspace root, with ``/``
    type: Literal["file", "dir", "symlink", "other"]
    size: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Rule:
    matches: re.Pattern[str]  # full match of one case-folded path component
    kind: str  # what a matching final component is
    why: str
    read: bool = False  # reading is refused too


_RULES = (
    _Rule(re.compile(r"\.git"), "git's directory or gitfile", "git internals are off limits",
          read=True),
    _Rule(re.compile(r"\.overmind"), "Overmind's state directory",
          "Overmind's own config and state are off limits", read=True),
    _Rule(re.compile(r"\.husky|\.githooks"), "a git hooks directory",
          "agents may not change git hooks"),
    _Rule(re.compile(r"\.(claude|gemini|codex|goose|cursor|continue|windsurf|opencode)"),
          "an agent CLI config directory", "agents may not change agent CLI config"),
    _Rule(re.compile(r"\.aider.*|\.mcp\.json"), "an agent CLI config file",
          "agents may not change agent CLI config"),
    _Rule(re.compile(r"\.jupyter|\.ipython|jupyter(_\w+)?_config\.d"),
          "a Jupyter/IPython config directory",
          "agents may not change Jupyter/IPython config or startup files"),
    _Rule(re.compile(r"(jupyter|ipython)(_\w+)?_config\.(py|json)"),
          "a Jupyter/IPython config file",
          "agents may not change Jupyter/IPython config or startup files"),
    _Rule(re.compile(r"\.(bashrc|bash_profile|bash_login|bash_logout|profile|zshrc|zprofile"
                     r"|zshenv|zlogin|zlogout|kshrc|cshrc|tcshrc|envrc)"),
          "a shell startup file", "agents may not change shell startup files"),
)


def protection(parts: Sequence[str], *, write: bool) -> str | None:
    """Why the workspace-relative path ``parts`` is off limits, or ``None``.

    The answer completes "``<path>`` ...": ``"is inside .git (git internals are off
    limits)"`` or ``"is a shell startup file (agents may not change shell startup files)"``.
    """
    for i, part in enumerate(parts):
        folded = part.casefold()
        for rule in _RULES:
            if (write or rule.read) and rule.matches.fullmatch(folded):
                if i < len(parts) - 1:
                    return f"is inside {part} ({rule.why})"
                return f"is {rule.kind} ({rule.why})"
    return None


class Workspace:
    """File access confined to ``root`` (normally a git worktree).

    Args:
        root: an existing directory; symlinks in its own parents are fine (its real path
            is what paths are checked against).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._given = os.path.abspath(os.fspath(root))
        self._root = os.path.realpath(self._given)
        st = os.stat(self._root)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "workspace root is not a directory",
                                     self._root)
        self._identity = (st.st_dev, st.st_ino)

    @property
    def root(self) -> Path:
        """The real path of the workspace root."""
        return Path(self._root)

    def __repr__(self) -> str:
        return f"Workspace({self._root!r})"

    # -- checking -----------------------------------------------------------------------

    def resolve(self, path: str | os.PathLike[str], *, write: bool) -> Path:
        """The real location of ``path`` if an agent may read (or ``write``) it there.

        ``path`` is relative to the root, or absolute, or starts with ``~``; symlinks and
        ``..`` are resolved as the kernel would. Raises ``PathDenied`` when the result is
        outside the root or protected, and for NUL bytes, over-long paths and symlink loops.
        """
        return Path(self._check(path, write=write)[0])

    def _check(self, path: object, *, write: bool) -> tuple[str, list[str], str]:
        """``(real path, its parts relative to the root, path as shown in messages)``."""
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str):
            raise PathDenied(f"refused: {path!r} is not a path (expected a string)")
        shown = path
        if "\0" in path:
            raise PathDenied(f"refused: {shown!r} contains a NUL byte")
        try:
            raw = os.fsencode(path)
        except UnicodeError:
            raise PathDenied(f"refused: {shown!r} is not valid text for a path") from None
        if len(raw) > MAX_PATH_BYTES or any(len(p) > MAX_NAME_BYTES for p in raw.split(b"/")):
            raise PathDenied(f"refused: path is too long ({len(raw)} bytes; at most "
                             f"{MAX_PATH_BYTES}, and {MAX_NAME_BYTES} per component)")
        expanded = os.path.expanduser(path) if path.startswith("~") else path
        real = self._realpath(expanded, shown)
        if len(os.fsencode(real)) > MAX_PATH_BYTES:
            raise PathDenied(f"refused: {shown} resolves to a path that is too long")
        if real != self._root and not real.startswith(self._root.rstrip("/") + "/"):
            note = "" if real == os.path.normpath(expanded) else f" (it resolves to {real})"
            raise PathDenied(f"refused: {shown} is outside the workspace {self._root}{note}")
        parts = [p for p in real[len(self._root):].split("/") if p]
        why = protection(parts, write=write)
        lexical = self._lexical_parts(expanded)
        if why is None and lexical is not None:
            why = protection(lexical, write=write)  # e.g. a symlink named .bashrc
        if why is not None:
            rel = "/".join(parts) or "."
            note = "" if lexical == parts else f" (it resolves to {rel})"
            raise PathDenied(f"refused: {shown}{note} {why}")
        return real, parts, shown

    def _lexical_parts(self, path: str) -> list[str] | None:
        """``path``'s components below the root, ignoring symlinks, if it is under it."""
        absolute = os.path.normpath(os.path.join(self._given, path))
        for base in (self._given, self._root):
            if absolute == base:
                return []
            if absolute.startswith(base.rstrip("/") + "/"):
                return absolute[len(base):].strip("/").split("/")
        return None

    def _realpath(self, path: str, shown: str) -> str:
        """Resolve ``path`` (relative to the root) like the kernel, without requiring it
        to exist; refuse loops and components that cannot be examined."""
        resolved = "/" if path.startswith("/") else self._root
        pending = path.split("/")[::-1]
        hops = 0
        while pending:
            name = pending.pop()
            if name in ("", "."):
                continue
            if name == "..":
                resolved = os.path.dirname(resolved)
                continue
            candidate = os.path.join(resolved, name)
            try:
                st = os.lstat(candidate)
            except (FileNotFoundError, NotADirectoryError):
                resolved = candidate  # to be created, or an error when opened
                continue
            except OSError as exc:
                raise PathDenied(f"refused: {shown} cannot be resolved "
                                 f"({exc.strerror} at {candidate})") from None
            if not stat.S_ISLNK(st.st_mode):
                resolved = candidate
                continue
            hops += 1
            try:
                target = os.readlink(candidate)
            except OSError as exc:
                raise PathDenied(f"refused: {shown} cannot be resolved "
                                 f"({exc.strerror} at {candidate})") from None
            if hops > _MAX_SYMLINK_HOPS or len(target) + len(pending) > 8 * MAX_PATH_BYTES:
                raise PathDenied(f"refused: {shown} has too many levels of symbolic links")
            if target.startswith("/"):
                resolved = "/"
            pending.extend(target.split("/")[::-1])
        return resolved

    # -- operations ---------------------------------------------------------------------

    def read_text(self, path: str | os.PathLike[str], line: int | None = None,
                  limit: int | None = None) -> str:
        """The text of a file (UTF-8, undecodable bytes replaced).

        ``line`` (1-based) and ``limit`` select a window of lines, like ACP's
        ``fs/read_text_file``. Raises ``PathDenied``, ``UsageError`` for a bad window, or
        ``OSError`` (missing file, directory, larger than ``MAX_READ_BYTES``).
        """
        if line is not None and line < 1:
            raise UsageError(f"line must be 1 or more (lines are numbered from 1), not {line}")
        if limit is not None and limit < 0:
            raise UsageError(f"limit must be 0 or more, not {limit}")
        _, parts, shown = self._check(path, write=False)
        if not parts:
            raise IsADirectoryError(errno.EISDIR, "is a directory", shown)
        with self._open_parent(parts, shown, create=False) as dir_fd:
            try:
                fd = os.open(parts[-1], _READ_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                raise self._refuse_symlink(exc, dir_fd, parts[-1], shown) from None
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if stat.S_ISDIR(st.st_mode):
                    raise IsADirectoryError(errno.EISDIR, "is a directory", shown)
                if not stat.S_ISREG(st.st_mode):
                    raise PathDenied(f"refused: {shown} is not a regular file")
                if st.st_size > MAX_READ_BYTES:
                    raise OSError(errno.EFBIG, f"file too large to read as text "
                                  f"({st.st_size} bytes; at most {MAX_READ_BYTES})", shown)
                data = f.read(MAX_READ_BYTES + 1)
        text = data[:MAX_READ_BYTES].decode("utf-8", "replace")
        if line is None and limit is None:
            return text
        pieces = text.split("\n")
        lines = [p + "\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
        start = (line or 1) - 1
        end = None if limit is None else start + limit
        return "".join(lines[start:end])

    def write_text(self, path: str | os.PathLike[str], content: str) -> None:
        """Replace (or create) a file with ``content`` (UTF-8), atomically.

        Missing parent directories inside the workspace are created; an existing file keeps
        its permission bits. Raises ``PathDenied`` or ``OSError``.
        """
        data = content.encode("utf-8")
        _, parts, shown = self._check(path, write=True)
        if not parts:
            raise IsADirectoryError(errno.EISDIR, "is a directory", shown)
        name = parts[-1]
        with self._open_parent(parts, shown, create=True) as dir_fd:
            try:
                old = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                old = None
            if old is not None and stat.S_ISDIR(old.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", shown)
            if old is not None and stat.S_ISLNK(old.st_mode):
                raise PathDenied(f"refused: {shown} became a symbolic link")
            if old is not None and not stat.S_ISREG(old.st_mode):
                raise PathDenied(f"refused: {shown} is not a regular file")
            temp = f".overmind-write-{secrets.token_hex(8)}.tmp"
            fd = os.open(temp, _TEMP_FLAGS, 0o666, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as f:
                    if old is not None:
                        os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=dir_fd)
                raise

    def list_dir(self, path: str | os.PathLike[str] = ".") -> list[DirEntry]:
        """The entries of a directory, sorted by name (symlinks are reported, not followed).

        Raises ``PathDenied`` or ``OSError``.
        """
        _, parts, shown = self._check(path, write=False)
        base = "/".join(parts)
        entries: list[DirEntry] = []
        with self._open_dir(parts, shown) as dir_fd, os.scandir(dir_fd) as it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed meanwhile
                kind: Literal["file", "dir", "symlink", "other"]
                if stat.S_ISLNK(st.st_mode):
                    kind = "symlink"
                elif stat.S_ISDIR(st.st_mode):
                    kind = "dir"
                elif stat.S_ISREG(st.st_mode):
                    kind = "file"
                else:
                    kind = "other"
                entries.append({"name": entry.name,
                                "path": f"{base}/{entry.name}" if base else entry.name,
                                "type": kind, "size": st.st_size if kind == "file" else None})
        return sorted(entries, key=lambda e: e["name"])

    # -- descriptor walking -------------------------------------------------------------

    @contextlib.contextmanager
    def _open_dir(self, parts: Sequence[str], shown: str, *,
                  create: bool = False) -> Iterator[int]:
        """A descriptor of the directory ``parts``, reached without following symlinks."""
        fd = os.open(self._root, _DIR_FLAGS)
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != self._identity:
                raise PathDenied(f"refused: the workspace root {self._root} was replaced")
            for name in parts:
                child = self._open_child_dir(fd, name, shown, create)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _open_parent(self, parts: Sequence[str], shown: str, *,
                     create: bool) -> contextlib.AbstractContextManager[int]:
        return self._open_dir(parts[:-1], shown, create=create)

    def _open_child_dir(self, dir_fd: int, name: str, shown: str, create: bool) -> int:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            if not create:
                raise FileNotFoundError(errno.ENOENT, "no such file or directory",
                                        shown) from None
        except OSError as exc:
            raise self._refuse_symlink(exc, dir_fd, name, shown) from None
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=dir_fd)
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise self._refuse_symlink(exc, dir_fd, name, shown) from None

    @staticmethod
    def _refuse_symlink(exc: OSError, dir_fd: int, name: str, shown: str) -> Exception:
        """``exc`` of an ``O_NOFOLLOW`` open, as ``PathDenied`` when a symlink caused it."""
        if exc.errno == errno.ELOOP:
            return PathDenied(f"refused: {shown} goes through a symbolic link that appeared "
                              "after it was checked")
        if exc.errno == errno.ENOTDIR:
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                st = None
            if st is None or stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode):
                return PathDenied(f"refused: {shown} changed (a directory became a symbolic "
                                  "link) while it was being opened")
            return NotADirectoryError(errno.ENOTDIR, "a component is not a directory", shown)
        exc.filename = shown
        return exc
