"""The verification gate: a command (the project's tests) run on a merged result.

The command runs as an argv (no shell) in the scratch worktree holding the merge, in its
own process group, with this process's environment minus every secret
(``tool_env.scrubbed_env``: the tests are repository code an agent may have
written), stdin closed, stdout and stderr captured together in an anonymous temporary
file of which only the last ``TAIL_BYTES`` are read back. When the command outlives its
timeout, or leaves background processes behind, its whole process group is killed.
Given a ``Sandbox`` it runs inside it (``sandbox.py``): the merged worktree writable, the
host's other files read-only or hidden, no other process visible — tests an agent wrote
can read neither the Jupyter token nor another server's files.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..config import VERIFY_DIR_ENV
from ..errors import UsageError
from .sandbox import Sandbox, SandboxRefused
from .tool_env import scrubbed_env

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

TAIL_BYTES = 8 * 1024


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """How the verification command went.

    ``exit_code`` is None when the command could not start or timed out; ``output_tail``
    holds the last ≤ 8 KiB of its combined stdout and stderr (UTF-8, invalid bytes
    replaced); ``duration_s`` is wall time in seconds.
    """

    command: tuple[str, ...]
    ok: bool
    exit_code: int | None
    output_tail: str
    duration_s: float


def detect_test_command(repo: Path) -> list[str] | None:
    """The repository's test command, or None when no tests are detected.

    Detected: pytest configuration (``[tool.pytest.ini_options]`` in ``pyproject.toml``,
    ``pytest.ini``, ``[pytest]`` in ``tox.ini``, ``[tool:pytest]`` in ``setup.cfg``) or a
    ``tests/`` / ``test/`` directory. Returns ``[sys.executable, "-m", "pytest", "-q",
    "-x", "-p", "no:cacheprovider"]`` (no cache: the scratch worktree is thrown away).
    """
    repo = Path(repo)
    if _has_pytest_config(repo) or any((repo / d).is_dir() for d in ("tests", "test")):
        return [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    return None


def _has_pytest_config(repo: Path) -> bool:
    if (repo / "pytest.ini").is_file():
        return True
    if _ini_has_section(repo / "tox.ini", "pytest"):
        return True
    if _ini_has_section(repo / "setup.cfg", "tool:pytest"):
        return True
    try:
        doc = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return "pytest" in doc.get("tool", {})


def _ini_has_section(path: Path, section: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return False
    return parser.has_section(section)


async def run_verification(command: list[str], cwd: Path, timeout_s: float,
                           sandbox: Sandbox | None = None,
                           root: Path | None = None) -> VerificationResult:
    """Run ``command`` in ``cwd`` for at most ``timeout_s`` seconds; never raises for the
    command's own failures (missing program, non-zero exit, timeout, a sandbox that
    cannot run): they are a result with ``ok=False`` and the reason in ``output_tail``.

    ``sandbox``: run confined to ``cwd`` (writable) with ``root`` (the host checkout,
    default ``cwd``) read-only.

    Raises:
        UsageError: ``command`` is empty.
    """
    if not command:
        raise UsageError("the verification command is empty: give a program and arguments")
    started = time.monotonic()
    argv, env = list(command), {**scrubbed_env(os.environ),
                                VERIFY_DIR_ENV: str(cwd)}  # found after a crash
    if sandbox is not None:
        try:
            argv, env = await asyncio.to_thread(sandbox.confine, argv, Path(cwd),
                                                Path(root or cwd), env)
        except SandboxRefused as exc:
            return _result(command, None, exc.message.encode(), started)
    # Output goes to an anonymous file, not a pipe: a background child holding a pipe open
    # would keep the gate waiting, and the tail is all that is read back.
    with tempfile.TemporaryFile() as log:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True)
        except OSError as exc:
            reason = f"could not start {command[0]}: {exc.strerror or exc}"
            return _result(command, None, reason.encode(), started)
        code = await _wait(proc, timeout_s)
        output = _tail(log)
    if code is None:
        output += f"\n[timed out after {timeout_s:g} s; process group killed]\n".encode()
    return _result(command, code, output, started)


async def _wait(proc: asyncio.subprocess.Process, timeout_s: float) -> int | None:
    """The exit status, or None after a timeout (the process group is then killed)."""
    try:
        return await asyncio.wait_for(proc.wait(), timeout_s)
    except asyncio.TimeoutError:
        _kill_group(proc.pid)
        await proc.wait()
        return None
    finally:
        _kill_group(proc.pid)  # background leftovers in its group; also on cancellation


def _tail(log: IO[bytes]) -> bytes:
    size = log.seek(0, os.SEEK_END)
    log.seek(max(0, size - TAIL_BYTES - 1))  # one byte more: _result sees the cut
    return log.read()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _result(command: list[str], code: int | None, output: bytes | bytearray,
            started: float) -> VerificationResult:
    if len(output) > TAIL_BYTES:  # keep the end, where test runners print their summary
        output = "[…]\n".encode() + output[-(TAIL_BYTES - 6):]
    return VerificationResult(tuple(command), code == 0, code,
                              bytes(output).decode("utf-8", "replace"),
                              round(time.monotonic() - started, 3))
