"""``overmind start``: run the engine as a headless Jupyter server (the daemon)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from . import runtime_files
from .config import ROOT_ENV, TOKEN_ENV, URL_ENV
from .errors import EngineUnavailable

START_TIMEOUT_S = 60.0
ANSWER_TIMEOUT_S = 5.0  # a live server answers its status route well within this
DAEMON_FILE = "daemon.json"  # in <root>/.overmind: {"port": the last daemon's port}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_argv(root: Path, port: int) -> list[str]:
    """Command line of a headless Jupyter server with only what Overmind needs enabled.

    It holds no secret: every process on the machine can read command lines
    (``/proc/<pid>/cmdline``); the token goes through ``token_file``.
    """
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
            "--ip=127.0.0.1", f"--ServerApp.root_dir={root}", "--Overmind.daemon=True",
            "--ServerApp.jpserver_extensions={'overmind_jupyter': True}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


def start(root: Path) -> dict:
    """Start a daemon for ``root`` unless a live one answers; return its runtime info.

    A runtime file whose server is gone (dead, a zombie, or its pid reused) is removed and
    a new server started — on the port the project's last daemon had (kept in
    ``<root>/.overmind/daemon.json``) when that port is free, so invites and guests'
    links that name it keep working.

    Raises:
        EngineUnavailable: the server did not come up (its log path is in the message), or
            a server for ``root`` runs but does not answer (its pid is in the message).
    """
    info = runtime_files.find(root)
    if info is not None:
        if answers(info):
            return info
        raise EngineUnavailable(f"the Overmind server for {root} (pid {info['pid']}) runs "
                                f"but does not answer at {info['url']}; stop it (kill "
                                f"{info['pid']}) and run `overmind start` again")
    state = root / ".overmind"
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / "server.log"
    token = token_file(state)
    try:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(server_argv(root, _port_for(state)), cwd=root, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True,
                                    env={**_clean_env(), "JUPYTER_TOKEN_FILE": str(token)})
        return _await_runtime_file(root, state, proc, log_path)
    finally:
        token.unlink(missing_ok=True)  # read once by the server as it started


def token_file(state: Path) -> Path:
    """A fresh random Jupyter token in ``<state>/jupyter-token-<random>`` (mode 0600), for
    the server's ``JUPYTER_TOKEN_FILE`` (jupyter-server's ``IdentityProvider.token``)."""
    path = state / f"jupyter-token-{secrets.token_hex(8)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))
    return path


def _await_runtime_file(root: Path, state: Path, proc: subprocess.Popen, log_path: Path
                        ) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = runtime_files.find(root)
        if info is not None and info.get("pid") == proc.pid:
            _remember_port(state, info["url"])
            return info
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    raise EngineUnavailable(f"the Overmind server did not start; see {log_path}")


def answers(info: dict, timeout_s: float = ANSWER_TIMEOUT_S) -> bool:
    """Whether the server of runtime ``info`` answers ``GET overmind/api/status``."""
    request = urllib.request.Request(info["url"] + "overmind/api/status",
                                     headers={runtime_files.TOKEN_HEADER: info["token"]})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            return resp.status == 200
    except (OSError, ValueError):
        return False


def _port_for(state: Path) -> int:
    """The port the project's last daemon had if it is free now, else a free one."""
    try:
        port = int(json.loads((state / DAEMON_FILE).read_text())["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return free_port()
    return port if _port_free(port) else free_port()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _remember_port(state: Path, url: str) -> None:
    port = urllib.parse.urlsplit(url).port
    if port is not None:
        (state / DAEMON_FILE).write_text(json.dumps({"port": port}))


def _clean_env() -> dict[str, str]:
    """The environment minus a parent server's Overmind variables (kernels set these)."""
    return {k: v for k, v in os.environ.items()
            if k not in (URL_ENV, TOKEN_ENV, ROOT_ENV, "JUPYTER_TOKEN")}


def wait_gone(pid: int, timeout_s: float = 30.0) -> bool:
    """Wait until process ``pid`` has exited; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
