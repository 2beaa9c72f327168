"""A real JupyterHub for tests: configurable-http-proxy, DummyAuthenticator, local spawner.

``Hub(home).start()`` writes a ``jupyterhub_config.py`` under ``home`` and runs
``python -m jupyterhub`` on free 127.0.0.1 ports: the proxy (``configurable-http-proxy``
from npm, installed once by ``proxy_command`` into ``~/.cache/overmind-chp``), users
``alice``, ``bob`` and ``carol`` with one password, ``SimpleLocalProcessSpawner`` starting
``jupyterhub-singleuser`` from this virtualenv with Overmind and JupyterLab (homes under
``home``), and a ``tester`` service whose token (``admin_token``) spawns servers, shares
them and makes user tokens. Users get the ``shares!user`` scope so they may share their
own servers (JupyterHub 5 sharing).

``stop()`` SIGTERMs the hub (which stops the servers it spawned and its proxy), then
SIGKILLs whatever of the process tree it recorded is still alive, and returns those pids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil
from jupyter_process import Response, alive, wait_until
from lab_driver import lab_home
from tornado import httpclient, websocket

from overmind_jupyter.daemon import free_port

CHP_DIR = Path.home() / ".cache" / "overmind-chp"
CHP_PACKAGE = "configurable-http-proxy@^4.6"
USERS = ("alice", "bob", "carol")
START_TIMEOUT_S = 60.0
BIN = Path(sys.executable).parent


def proxy_command() -> str:
    """The ``configurable-http-proxy`` executable (``npm install``ed on first use).

    Raises:
        AssertionError: npm is missing or the install failed (with npm's output).
    """
    found = shutil.which("configurable-http-proxy")
    exe = CHP_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
    if found or exe.exists():
        return found or str(exe)
    npm = shutil.which("npm")
    assert npm, "configurable-http-proxy needs Node.js and npm (.ci/run installs them)"
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix",
                           str(CHP_DIR), CHP_PACKAGE], capture_output=True, text=True,
                          timeout=120)  # within the first test's 180 s
    assert done.returncode == 0 and exe.exists(), f"npm install failed:\n{done.stderr}"
    return str(exe)


def hub_config(hub: Hub) -> str:
    """The ``jupyterhub_config.py`` text of ``hub``."""
    singleuser = [str(BIN / "jupyterhub-singleuser"),
                  "--ServerApp.jpserver_extensions={'overmind_jupyter': True}",
                  "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        singleuser.append("--allow-root")
    env = {**lab_home(hub.home / "lab"), "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
           **hub.server_env}
    settings: dict[str, Any] = {
        "port": hub.port, "hub_port": free_port(), "api_port": free_port(),
        "chp": proxy_command(), "password": hub.password, "homes": str(hub.home / "homes"),
        "cmd": singleuser, "env": env, "token": hub.admin_token, "users": list(USERS),
        "state": str(hub.home), "named": hub.named_servers,
        "limit": hub.named_server_limit}
    return CONFIG_TEMPLATE.format(settings=json.dumps(settings))


CONFIG_TEMPLATE = '''
import json
s = json.loads({settings!r})
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = s["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = s["hub_port"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % s["api_port"]
c.ConfigurableHTTPProxy.command = [s["chp"]]
c.ConfigurableHTTPProxy.pid_file = s["state"] + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + s["state"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = s["state"] + "/cookie_secret"
c.JupyterHub.pid_file = s["state"] + "/hub.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = s["password"]
c.Authenticator.allowed_users = set(s["users"])
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = s["homes"] + "/{{username}}"
c.Spawner.cmd = s["cmd"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = s["env"]
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.JupyterHub.allow_named_servers = s["named"]
c.JupyterHub.named_server_limit_per_user = s["limit"]
c.JupyterHub.services = [{{"name": "tester", "api_token": s["token"]}}]
c.JupyterHub.load_roles = [
    {{"name": "tester", "services": ["tester"],
      "scopes": ["admin:users", "admin:servers", "tokens", "shares", "read:users:name",
                "access:servers"]}},
    {{"name": "user", "scopes": ["self", "shares!user", "read:users:name"]}},
]
'''


class Hub:
    """One JupyterHub process (see the module docstring).

    Args:
        home: scratch directory for the config, database, log and users' homes.
        server_env: extra environment of every single-user server.
        named_servers / named_server_limit: ``c.JupyterHub.allow_named_servers`` and
            ``named_server_limit_per_user`` (0: no limit).
    """

    def __init__(self, home: Path, server_env: dict[str, str] | None = None, *,
                 named_servers: bool = False, named_server_limit: int = 0) -> None:
        self.home = Path(home)
        self.server_env = dict(server_env or {})
        self.named_servers, self.named_server_limit = named_servers, named_server_limit
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.admin_token = secrets.token_hex(24)
        self.proc: subprocess.Popen | None = None
        self.tracked: dict[int, float | None] = {}
        self.log_path = self.home / "hub.log"

    @property
    def url(self) -> str:
        """The proxy's public URL, ending in ``/``."""
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> Hub:
        """Launch the hub and wait until its API answers."""
        (self.home / "homes").mkdir(parents=True, exist_ok=True)
        for user in USERS:
            (self.home / "homes" / user).mkdir(exist_ok=True)
        config = self.home / "jupyterhub_config.py"
        config.write_text(hub_config(self))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.home,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self._track(self.proc.pid)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.request("GET", "hub/api/").status == 200:  # no auth needed
                return self
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"JupyterHub did not start; its log:\n{self.log()}")

    def log(self) -> str:
        """The hub's output so far (single-user servers log here too)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- hub REST API ------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, token: str | None = None
            ) -> Response:
        """``/hub/api/<path>`` with the tester's token (or ``token``)."""
        return self.request(method, f"hub/api/{path}", body, token or self.admin_token)

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30.0) -> Response:
        """One HTTP request to ``<proxy url><path>``; errors come back as responses."""
        data = None if body is None else json.dumps(body).encode()
        head = {"Content-Type": "application/json", **(headers or {})}
        if token:
            head["Authorization"] = f"token {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=head)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.headers, exc.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            return Response(0, {}, str(exc).encode())

    def spawn(self, user: str) -> None:
        """Start ``user``'s server and wait until the hub reports it ready."""
        started = self.api("POST", f"users/{user}/server")
        assert started.status in (201, 202), f"spawn {user}: {started.status} {started.text}"
        wait_until(lambda: self._ready(user), START_TIMEOUT_S + 30, f"{user}'s server")
        self._track_tree()

    def _ready(self, user: str) -> bool:
        model = self.api("GET", f"users/{user}").json()
        server = model.get("servers", {}).get("", {})
        assert self.proc is not None and self.proc.poll() is None, self.log()[-4000:]
        return bool(server.get("ready"))

    def stop_server(self, user: str) -> None:
        """Stop ``user``'s server and wait until the hub reports it gone."""
        self._track_tree()
        stopped = self.api("DELETE", f"users/{user}/server")
        assert stopped.status in (202, 204), f"stop {user}: {stopped.status} {stopped.text}"
        wait_until(lambda: not self.api("GET", f"users/{user}").json().get("servers"),
                   START_TIMEOUT_S, f"{user}'s server to stop")

    def share(self, owner: str, with_user: str) -> dict[str, Any]:
        """Share ``owner``'s default server with ``with_user`` (JupyterHub 5 sharing)."""
        shared = self.api("POST", f"shares/{owner}/", {"user": with_user})
        assert shared.status == 200, f"share: {shared.status} {shared.text}"
        return shared.json()

    def token(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token of ``user`` (it carries the user's permissions and shares, or
        only ``scopes``)."""
        body: dict[str, Any] = {"note": "test"}
        if scopes is not None:
            body["scopes"] = scopes
        made = self.api("POST", f"users/{user}/tokens", body)
        assert made.status == 201, f"token for {user}: {made.status} {made.text}"
        return made.json()["token"]

    # -- cleanup -----------------------------------------------------------------------
    def _track(self, pid: int) -> None:
        try:
            self.tracked.setdefault(pid, psutil.Process(pid).create_time())
        except psutil.Error:
            self.tracked.setdefault(pid, None)

    def _track_tree(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self._track(child.pid)

    def stop(self, timeout: float = 45.0) -> list[int]:
        """SIGTERM the hub (it stops its servers and proxy), then SIGKILL survivors of
        the recorded process tree; returns the pids that had to be killed."""
        if self.proc is not None and self.proc.poll() is None:
            self._track_tree()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not self.survivors(), 10, "the hub's processes to end")
        left = self.survivors()
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return left

    def survivors(self) -> list[int]:
        """Recorded pids still running."""
        return [pid for pid, created in self.tracked.items() if alive(pid, created)]


def run_in_kernel(hub: Hub, token: str, code: str, server: str = "alice") -> str:
    """Run ``code`` in a new kernel of ``server``'s Jupyter (REST + kernel websocket through
    the proxy, Jupyter messaging protocol 5.3); returns its stdout. The kernel is deleted."""
    prefix = f"user/{server}/api/kernels"
    made = hub.request("POST", prefix, {"name": "python3"}, token)
    assert made.status == 201, made.text
    kernel = made.json()["id"]
    try:
        return asyncio.run(_execute(hub, token, f"{prefix}/{kernel}/channels", code))
    finally:
        hub.request("DELETE", f"{prefix}/{kernel}", token=token)


async def _execute(hub: Hub, token: str, path: str, code: str) -> str:
    req = httpclient.HTTPRequest(f"ws://127.0.0.1:{hub.port}/{path}",
                                 headers={"Authorization": f"token {token}"})
    conn = await asyncio.wait_for(websocket.websocket_connect(req), 30)
    msg_id = uuid.uuid4().hex
    conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False}}))
    out: list[str] = []
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), 60)
            assert raw is not None, "the kernel websocket closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
    finally:
        conn.close()
