"""Process primitives: spawn into a new process group, watch exit by pidfd, signal groups.

Output never passes through Python for plain commands: the child's stdout and stderr are
the mission's log file (``O_APPEND``), so capture runs at disk speed with no parent CPU.
Session missions get a pty whose master the supervisor reads (see ``pty_session``).
Exit is observed through ``pidfd_open`` + the event loop (no watcher thread per child);
the same mechanism watches re-adopted processes that are not our children.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import fcntl
import os
import signal
import subprocess
import termios

import psutil

from ..model import ExitInfo

# psutil's create_time comes from /proc/<pid>/stat in clock ticks: identical on every read.
_START_TOLERANCE_S = 0.05


class SpawnFailed(Exception):
    """The process could not be started; ``str(self)`` is the human reason."""


@dataclasses.dataclass(slots=True)
class Child:
    """A running process that leads its own process group (``pgid == pid``).

    ``popen`` is None for a re-adopted process (not our child: exit status unknown).
    ``pty_master`` is the master fd of a session mission's pty, else None.
    """

    pid: int
    start_time: float
    popen: subprocess.Popen | None = None
    pty_master: int | None = None
    stdin: int | None = None


def spawn(argv: list[str], cwd: str, env: dict[str, str], log_path: str, *,
          use_pty: bool = False, stdio_pipes: bool = False) -> Child:
    """Start ``argv`` in a new session/process group, output appended to ``log_path``.

    ``stdio_pipes`` (agent missions): stdin and stdout are pipes to the supervisor (ACP
    speaks JSON-RPC over them) and only stderr goes to the log.

    Raises:
        SpawnFailed: missing executable, bad cwd, permission denied, …
    """
    if not argv:
        raise SpawnFailed("empty command: give the program to run after --")
    if not os.path.isdir(cwd):
        raise SpawnFailed(f"working directory {cwd} does not exist")
    if use_pty:
        return _spawn_pty(argv, cwd, env)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        popen = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE if stdio_pipes else log_fd,
            stderr=log_fd if stdio_pipes else subprocess.STDOUT,
            stdin=subprocess.PIPE if stdio_pipes else subprocess.DEVNULL,
            start_new_session=True, close_fds=True)
    except (OSError, ValueError) as exc:  # ValueError: NUL byte, '=' in an env name
        raise SpawnFailed(_spawn_reason(exc, argv[0], cwd)) from None
    finally:
        os.close(log_fd)
    stdin = popen.stdin.fileno() if popen.stdin else None
    return Child(popen.pid, start_time(popen.pid) or 0.0, popen, stdin=stdin)


def _spawn_pty(argv: list[str], cwd: str, env: dict[str, str]) -> Child:
    master, slave = os.openpty()
    try:
        popen = subprocess.Popen(argv, cwd=cwd, env={**env, "TERM": env.get("TERM", "xterm")},
                                 stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                 preexec_fn=_become_terminal_leader)
    except (OSError, ValueError) as exc:
        os.close(master)
        raise SpawnFailed(_spawn_reason(exc, argv[0], cwd)) from None
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    return Child(popen.pid, start_time(popen.pid) or 0.0, popen, pty_master=master)


def _become_terminal_leader() -> None:  # runs in the child between fork and exec
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _spawn_reason(exc: OSError | ValueError, program: str, cwd: str) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename == cwd:
        return f"working directory {cwd} does not exist"
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {program} (check the spelling or PATH)"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or program}"
    return f"could not start {program}: {getattr(exc, 'strerror', None) or exc}"


def start_time(pid: int) -> float | None:
    """Kernel start time of ``pid`` (epoch s), or None when no such process exists."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def same_process(pid: int, recorded_start: float | None) -> bool:
    """True when ``pid`` is alive (a zombie is dead) and started when recorded (guards
    against pid reuse)."""
    try:
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.Error:
        return False
    now = start_time(pid)
    return (now is not None and recorded_start is not None
            and abs(now - recorded_start) <= _START_TOLERANCE_S)


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to every process of group ``pgid``; False when the group is empty."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return False


async def wait_exit(child: Child) -> ExitInfo:
    """Wait until ``child`` exits and reap it when it is ours.

    Uses ``pidfd_open`` (Linux ≥ 5.3) so no thread or SIGCHLD handler is involved. For a
    re-adopted process (``popen is None``) the exit status cannot be known.
    """
    try:
        pidfd = os.pidfd_open(child.pid)
    except ProcessLookupError:
        return _reap(child)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(pidfd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return _reap(child)


def _reap(child: Child) -> ExitInfo:
    if child.popen is None:
        return ExitInfo(reason="exit status unknown: the process was re-adopted after an "
                               "engine restart")
    try:
        _, status = os.waitpid(child.pid, 0)
    except ChildProcessError:  # someone else reaped it (a foreign SIGCHLD handler)
        child.popen.returncode = -1
        return ExitInfo(reason="exit status unknown: reaped by another handler")
    code = os.waitstatus_to_exitcode(status)
    child.popen.returncode = code  # keeps Popen from warning that it still runs
    _close_child_fds(child)
    if code < 0:
        try:  # not `in signal.valid_signals()`: that builds a set of ~64 enums per exit
            name = signal.Signals(-code).name
        except ValueError:  # real-time signals have no name
            name = str(-code)
        return ExitInfo(signal=-code, reason=f"killed by {name}")
    return ExitInfo(returncode=code, reason=f"exit status {code}")


def _close_child_fds(child: Child) -> None:
    if child.popen is not None and child.popen.stdin is not None:
        with contextlib.suppress(OSError):
            child.popen.stdin.close()
    child.stdin = None


MAX_SEND_BYTES = 4095  # one line, newline included: what a terminal's canonical line
# buffer holds (Linux N_TTY_BUF_SIZE = 4096 with its end); more is silently dropped there
SEND_TIMEOUT_S = 5.0


async def write_whole(child: Child, data: bytes, timeout_s: float = SEND_TIMEOUT_S) -> None:
    """Write all of ``data`` (at most ``MAX_SEND_BYTES``) to the child's stdin or pty,
    waiting (up to ``timeout_s`` s) while the child is not reading, never blocking the loop.

    Raises:
        ValueError: ``data`` is longer than ``MAX_SEND_BYTES``.
        OSError: the input side is closed (``EPIPE``/``EIO``), or nothing could be
            written for ``timeout_s`` (``EAGAIN``).
    """
    if len(data) > MAX_SEND_BYTES:
        raise ValueError(f"at most {MAX_SEND_BYTES} bytes per send")
    fd = child.pty_master if child.pty_master is not None else child.stdin
    if fd is None:
        raise OSError(errno.EBADF, "mission has no input")
    os.set_blocking(fd, False)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            await _writable(loop, fd, deadline - loop.time())


async def _writable(loop: asyncio.AbstractEventLoop, fd: int, timeout_s: float) -> None:
    ready = loop.create_future()
    loop.add_writer(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, max(0.0, timeout_s))
    except asyncio.TimeoutError:
        raise OSError(errno.EAGAIN, "the mission is not reading its input") from None
    finally:
        loop.remove_writer(fd)


def write_input(child: Child, data: bytes) -> None:
    """Write ``data`` to the child's stdin or pty (non-blocking best effort).

    Raises:
        OSError: the input side is closed (``EPIPE``/``EIO``) or would block.
    """
    fd = child.pty_master if child.pty_master is not None else child.stdin
    if fd is None:
        raise OSError(errno.EBADF, "mission has no input")
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
