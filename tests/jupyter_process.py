"""A real Jupyter server with the Overmind extension, as a subprocess, for end-to-end tests.

``JupyterProcess(root, home).start()`` launches ``python -m jupyter_server`` (like
``overmind start`` does) on a free port with its own ``JUPYTER_*`` and ``IPYTHONDIR``
directories under ``home``, and returns once the extension has written its runtime file.
``api(...)`` calls the Overmind REST API with the scoped token, ``jupyter(...)`` calls
Jupyter's own API with the Jupyter token. ``stop()`` (SIGTERM, then SIGKILL) and
``kill9()`` end it; ``reap`` kills by pid whatever a test recorded and reports survivors.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from overmind_jupyter.daemon import free_port

START_TIMEOUT_S = 60.0


def alive(pid: int, created: float | None = None) -> bool:
    """``pid`` runs (a zombie counts as dead) and, when given, started at ``created``."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and (
            created is None or abs(proc.create_time() - created) < 0.05)
    except psutil.Error:
        return False


def wait_until(cond: Any, timeout: float = 20.0, what: str = "condition",
               interval: float = 0.05) -> Any:
    """Poll ``cond()`` until truthy; return its value or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment with private Jupyter/IPython dirs and no OVERMIND_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_CONFIG_DIR", "config"),
                     ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Response:
    """Status, headers and body of one HTTP exchange."""

    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class JupyterProcess:
    """One ``jupyter_server`` subprocess serving ``root`` with Overmind enabled.

    Args:
        root: the server's root directory (the engine's project root).
        home: where the private Jupyter/IPython dirs and the server log live.
        env: extra environment variables of the server.
        args: extra command-line arguments of the server.
    """

    def __init__(self, root: Path, home: Path, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.root, self.home = Path(root), Path(home)
        self.env = isolated_env(self.home, **(env or {}))
        self.args = args
        self.jupyter_token = secrets.token_urlsafe(16)
        self.proc: subprocess.Popen | None = None
        self.info: dict[str, Any] = {}
        self.log_path = self.home / "server.log"
        self.tracked: dict[int, float | None] = {}  # pids that must not outlive the test
        self.port: int | None = None  # chosen at the first start, kept by later ones

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> JupyterProcess:
        """Launch (again: on the same port) and wait until the extension published its
        runtime file."""
        self.port = self.port or free_port()
        argv = [sys.executable, "-m", "jupyter_server", "--no-browser",
                f"--port={self.port}", "--ServerApp.port_retries=0", "--ip=127.0.0.1",
                f"--ServerApp.root_dir={self.root}",
                "--ServerApp.jpserver_extensions={'overmind_jupyter': True}", *self.args]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--allow-root")
        with open(self.log_path, "ab") as log:
            # the token by environment, as `overmind start` passes it: never on a command line
            env = {**self.env, "JUPYTER_TOKEN": self.jupyter_token}
            self.proc = subprocess.Popen(argv, cwd=self.root, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        self.track(self.proc.pid)
        runtime = Path(self.env["JUPYTER_RUNTIME_DIR"]) / f"overmind-{self.proc.pid}.json"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                self.info = json.loads(runtime.read_text())
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"the Jupyter server did not start; its log:\n{self.log()}")

    def log(self) -> str:
        """The server's output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        """Base URL of the server, ending in ``/``."""
        return self.info["url"]

    @property
    def token(self) -> str:
        """The scoped Overmind token."""
        return self.info["token"]

    def track(self, pid: int) -> int:
        """Remember ``pid`` (as it runs now): ``reap`` fails the test if it survives."""
        try:
            self.tracked.setdefault(pid, psutil.Process(pid).create_time())
        except psutil.Error:
            self.tracked.setdefault(pid, None)
        return pid

    def track_tree(self) -> None:
        """Track the server and every process below it right now."""
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.pid).children(recursive=True):
                self.track(child.pid)

    def stop(self, timeout: float = 45.0) -> int | None:
        """SIGTERM (the server stops its extensions and kernels), then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.track_tree()
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def kill9(self) -> None:
        """SIGKILL the server alone (its missions, in their own sessions, live on)."""
        assert self.proc is not None
        self.track_tree()
        self.proc.kill()
        self.proc.wait(10)

    def survivors(self) -> list[int]:
        """Tracked pids still running."""
        return [pid for pid, created in self.tracked.items() if alive(pid, created)]

    def reap(self) -> list[int]:
        """Stop the server if needed, SIGKILL tracked survivors by pid; return their pids."""
        self.stop()
        deadline = time.monotonic() + 5  # processes being stopped get a moment to go
        while self.survivors() and time.monotonic() < deadline:
            time.sleep(0.05)
        left = self.survivors()
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return left

    # -- HTTP --------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None, timeout: float = 30.0) -> Response:
        """One HTTP request to ``<url><path>``; errors come back as responses."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.headers, exc.read())

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30.0,
            expect: int | None = None) -> Any:
        """Overmind REST call with the scoped token; JSON (or text) of the answer.

        ``expect``: the status the call must answer (default: any 2xx).
        """
        resp = self.request(method, "overmind/api/" + path, body,
                            {"X-Overmind-Token": self.token}, timeout)
        ok = resp.status == expect if expect is not None else 200 <= resp.status < 300
        assert ok, f"{method} {path} → {resp.status}: {resp.text}"
        kind = resp.headers.get("Content-Type", "")
        return resp.json() if kind.startswith("application/json") else resp.text

    def jupyter(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        """Jupyter REST call with the Jupyter token; JSON of the answer (2xx required)."""
        resp = self.request(method, path, body,
                            {"Authorization": f"token {self.jupyter_token}"}, timeout)
        assert 200 <= resp.status < 300, f"{method} {path} → {resp.status}: {resp.text}"
        return resp.json() if resp.body else None

    def missions(self, all: bool = True) -> dict[str, dict[str, Any]]:
        """Missions by name (``all``: ended ones too)."""
        listing = self.api("GET", "missions?all=1" if all else "missions")["missions"]
        return {m["name"]: m for m in listing}
