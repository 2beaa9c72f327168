"""Per-mission log files under ``<root>/.overmind/logs/``: tail, follow, markers, pty pumps.

A mission's log is the byte stream its processes wrote (stdout and stderr interleaved as
written) plus marker lines Overmind writes between runs (``--- overmind: … ---``). The
"tail" is read from the end of the file, bounded to ``TAIL_MAX`` bytes, so memory stays
flat no matter how much a mission prints.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

TAIL_MAX = 256 * 1024  # bytes read from the end of a log for `logs --tail` / last line
FOLLOW_POLL_S = 0.05
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


def tail(path: str | Path, lines: int | None = None, max_bytes: int = TAIL_MAX) -> str:
    """The last ``lines`` lines (all when None) of at most ``max_bytes`` from the end.

    Bytes that are not UTF-8 are replaced, never raised on.
    """
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(0, end - max_bytes))
            data = f.read()
    except FileNotFoundError:
        return ""
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
    """
    while True:
        done = finished()  # read before draining so nothing written before the end is lost
        data = _read_from(path, offset, chunk)
        if data:
            offset += len(data)
            yield data
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
