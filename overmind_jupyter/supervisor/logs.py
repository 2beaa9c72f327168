"""Per-mission log files under ``<root>/.overmind/logs/``: tail, follow, markers, pty pumps.

A mission's log is the byte stream its processes wrote (stdout and stderr interleaved as
written) plus marker lines Overmind writes between runs (``--- overmind: … ---``). The
"tail" is read from the end of the file, bounded to ``TAIL_MAX`` bytes, so memory stays
flat no matter how much a mission prints.

Disk stays bounded too: a log over its cap (``config.Settings.log_max_bytes``, default
64 MiB, set with ``OVERMIND_LOG_MAX_BYTES``) is rotated — copied to ``<log>.1``
(replacing the previous one) and emptied in place (``rotate``), so at most two caps are
kept. Emptying in place, not renaming, keeps writing processes working: every writer
appends (``O_APPEND``), so they go on at the new end. ``tail``, ``last_line`` and
``follow`` read across a rotation.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

TAIL_MAX = 256 * 1024  # bytes read from the end of a log for `logs --tail` / last line
FOLLOW_POLL_S = 0.05
ROTATED = ".1"  # suffix of the previous log
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def log_path(logs_dir: Path, name: str, mission_id: str) -> Path:
    """``<logs_dir>/<name>-<id>.log`` with the name made filesystem-safe."""
    return logs_dir / f"{_UNSAFE.sub('_', name)[:60]}-{mission_id}.log"


def size(path: str | Path) -> int:
    """Current size of the log in bytes (0 when it does not exist yet)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def rotate(path: str | Path) -> None:
    """Copy the log to ``<log>.1`` (replacing it) and empty the log in place.

    What writers append while the copy runs is copied too; the bytes a writer appends in
    the instant between the last read and the truncation are lost (as with logrotate's
    ``copytruncate``: a writer's inherited descriptor cannot be switched to a new file).
    ``rotate_start`` + ``rotate_finish`` keep that instant short when called from a loop.
    """
    rotate_finish(path, rotate_start(path))


def rotate_start(path: str | Path) -> int:
    """Copy the log to ``<log>.1`` (replacing it); the number of bytes copied."""
    with open(path, "rb") as src, open(f"{path}{ROTATED}", "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
        return dst.tell()


def rotate_finish(path: str | Path, copied: int) -> None:
    """Append to ``<log>.1`` what was written after ``copied`` bytes, then empty the log.

    Meant to run without yielding (no thread hop between the last read and the
    truncation): the few bytes appended meanwhile are all that rotation drops.
    """
    with open(path, "rb") as src, open(f"{path}{ROTATED}", "ab") as dst:
        src.seek(copied)
        while chunk := src.read(1024 * 1024):
            dst.write(chunk)
        os.truncate(path, 0)


def _read_end(path: str | Path, max_bytes: int) -> tuple[bytes, int]:
    """The last ``max_bytes`` of a file and its size; ``(b"", 0)`` if it does not exist."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(0, end - max_bytes))
            return f.read(), end
    except FileNotFoundError:
        return b"", 0


def tail(path: str | Path, lines: int | None = None, max_bytes: int = TAIL_MAX) -> str:
    """The last ``lines`` lines (all when None) of at most ``max_bytes`` from the end, the
    end of the previous log (``<log>.1``) first when the current one is shorter.

    Bytes that are not UTF-8 are replaced, never raised on.
    """
    data, end = _read_end(path, max_bytes)
    if end < max_bytes:
        before, old_end = _read_end(f"{path}{ROTATED}", max_bytes - end)
        data, end = before + data, end + old_end
    text = data.decode("utf-8", "replace")
    if end > max_bytes:  # drop the partial first line
        text = text.split("\n", 1)[-1]
    if lines is None:
        return text
    kept = text.splitlines(keepends=True)[-lines:] if lines > 0 else []
    return "".join(kept)


def last_line(path: str | Path) -> str:
    """The last non-empty output line (≤ 4 KiB scanned), stripped; '' when none."""
    for line in reversed(tail(path, 5, max_bytes=4096).splitlines()):
        if line.strip():
            return line.strip()
    return ""


def write_marker(path: str | Path, text: str) -> None:
    """Append ``--- overmind: <text> ---`` on a line of its own."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        fresh_line = f.tell() == 0 or (f.seek(-1, os.SEEK_END) or f.read(1) == b"\n")
        f.write(f"{'' if fresh_line else chr(10)}--- overmind {stamp}: {text} ---\n".encode())


async def follow(path: str | Path, offset: int, finished: Callable[[], bool],
                 chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Yield bytes appended to ``path`` from ``offset`` on until ``finished()`` and drained.

    Polls every ``FOLLOW_POLL_S`` s when idle (one ``stat`` per poll, no per-line work).
    After a rotation the rest of ``<log>.1`` is yielded, then the new log from its start.
    """
    source = path
    while True:
        done = finished()  # read before draining so nothing written before the end is lost
        data = _read_from(source, offset, chunk)
        if data:
            offset += len(data)
            yield data
            continue
        if source != path:  # the rest of the previous log is out: the new one from 0
            source, offset = path, 0
            continue
        if size(path) < offset:  # rotated: the rest of what we read is in <log>.1
            source = f"{path}{ROTATED}"
            continue
        if done:
            return
        await asyncio.sleep(FOLLOW_POLL_S)


def _read_from(path: str | Path, offset: int, chunk: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(chunk)
    except FileNotFoundError:
        return b""


class PtyPump:
    """Copies a session mission's pty output to its log and to attached listeners.

    Args:
        master: the pty master fd (non-blocking); closed by ``close``.
        path: the mission's log file.
    """

    def __init__(self, master: int, path: str | Path) -> None:
        self.master = master
        self.listeners: set[Callable[[bytes], None]] = set()
        self._log = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: every slave fd closed — the session ended
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            return
        os.write(self._log, data)
        for listener in list(self.listeners):
            listener(data)

    def close(self) -> None:
        """Drain what the pty still holds, stop reading and close both fds."""
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.master)
        try:
            while data := os.read(self.master, 65536):
                os.write(self._log, data)
        except OSError:
            pass
        os.close(self.master)
        os.close(self._log)
