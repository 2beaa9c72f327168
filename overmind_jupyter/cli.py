"""``overmind`` command line: the shared grammar (``commands``) over REST.

Exit status: 0 ok, 1 error, 2 usage error, 130 interrupted; ``wait`` exits with the
mission's status. ``run`` and ``apply`` start the daemon when none runs for the project.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

from . import commands, daemon, runtime_files
from .client import Client
from .commands import HelpRequested, Result
from .errors import EngineUnavailable, OvermindError, UsageError

AUTOSTART = {"run", "apply"}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``overmind`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = commands.parse(argv)
        return asyncio.run(_main(args))
    except HelpRequested as exc:
        print(exc.message)
        return 0
    except UsageError as exc:
        print(f"overmind: error: {exc.message}", file=sys.stderr)
        return 2
    except OvermindError as exc:
        print(f"overmind: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _main(args) -> int:
    root = runtime_files.project_root(os.getcwd())
    if args.cmd == "start":
        info = daemon.start(root)
        print(f"Overmind is running for {info['root']} at {info['url']} (pid {info['pid']})")
        sandbox = info.get("sandbox") or {}
        if not sandbox.get("available", True):
            print(f"warning: {sandbox.get('summary')}", file=sys.stderr)
        return 0
    client = Client.discover()
    if client is None and args.cmd in ("status", "shutdown"):
        print(f"no Overmind engine runs for {root}")
        return 0 if args.cmd == "shutdown" else 1
    if client is None and args.cmd in AUTOSTART:
        info = daemon.start(root)
        client = Client(info["url"], info["token"])
    if client is None:
        raise EngineUnavailable(f"no Overmind engine runs for {root}; start one with "
                                "`overmind start` (or set OVERMIND_URL and OVERMIND_TOKEN)")
    if args.cmd == "attach":
        return await _attach(client, args.id)
    result = await commands.execute(client, args, os.getcwd())
    await _print(result)
    if args.cmd == "shutdown":
        _await_daemon_exit(root)
    return result.status


async def _print(result: Result) -> None:
    if result.stream is None:
        sys.stdout.write(result.text)
        sys.stdout.flush()
        return
    async for chunk in result.stream:
        sys.stdout.write(chunk)
        sys.stdout.flush()


DETACH_KEY = b"\x1d"  # Ctrl-]


async def _attach(client: Client, ref: str) -> int:
    """An interactive terminal on a session mission; Ctrl-] detaches (the mission goes on).

    On a real terminal, keys go raw to the mission's pty; otherwise lines are sent.
    """
    conn = await client.attach(ref)
    info = await client.info(ref)
    fd = sys.stdin.fileno()
    with _raw_terminal(fd):  # raw first (it flushes pending input), then say we are ready
        print(f"attached to {info['name']}; Ctrl-] detaches\r", file=sys.stderr)
        keys = asyncio.ensure_future(_forward_keys(conn, fd))
        try:
            while (data := await conn.read_message()) is not None and not keys.done():
                sys.stdout.buffer.write(data if isinstance(data, bytes) else data.encode())
                sys.stdout.buffer.flush()
        finally:
            keys.cancel()
            conn.close()
    print(f"\ndetached from {info['name']}", file=sys.stderr)
    return 0


async def _forward_keys(conn, fd: int) -> None:
    """Send this terminal's keys on until Ctrl-] or end of input.

    Reads when the loop says the fd is readable (no blocked thread left behind when the
    mission ends first).
    """
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            ready.put_nowait(os.read(fd, 1024))
        except OSError:
            ready.put_nowait(b"")
    loop.add_reader(fd, readable)
    try:
        while True:
            data = await ready.get()
            if not data or DETACH_KEY in data:
                conn.close()
                return
            await conn.write_message(data, binary=True)
    finally:
        loop.remove_reader(fd)


@contextlib.contextmanager
def _raw_terminal(fd: int):
    if not os.isatty(fd):
        yield
        return
    import termios
    import tty
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _await_daemon_exit(root: Path) -> None:
    info = runtime_files.find(root)
    if info and info.get("daemon"):
        daemon.wait_gone(int(info["pid"]))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
