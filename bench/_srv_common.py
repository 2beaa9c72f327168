"""What the parts of ``server_bench.py`` share: sizes, and the two servers it measures.

Every server runs in its own process group (``PROCS``: SIGTERM, then SIGKILL after 5 s)
with private ``JUPYTER_*`` / ``IPYTHONDIR`` directories and a free port on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
from _procs import ProcessGroups

from overmind_jupyter.daemon import free_port
from overmind_jupyter.runtime_files import TOKEN_HEADER

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
HOST = "127.0.0.1"
START_TIMEOUT_S = 90.0
PROCS = ProcessGroups(grace_s=5.0)  # every server this run starts


@dataclasses.dataclass(frozen=True)
class Sizes:
    clients: int  # 1: websocket clients
    rate: int  # 1: events/s
    seconds: float  # 1: emission time
    replay: int  # 2: events replayed
    replay_reps: int
    missions: int  # 3
    ps_reps: int
    ps_warmup: int


FULL = Sizes(clients=50, rate=1000, seconds=10.0, replay=100_000, replay_reps=3,
             missions=1000, ps_reps=20, ps_warmup=3)
QUICK = Sizes(clients=50, rate=1000, seconds=2.0, replay=20_000, replay_reps=1,
              missions=1000, ps_reps=5, ps_warmup=1)


def isolated_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_CONFIG_DIR", "config"),
                     ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython")):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(REPO),
                                         *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


@dataclasses.dataclass
class Server:
    proc: subprocess.Popen
    port: int
    base: str = "/"  # base URL path, ends with /
    token: str = ""  # Overmind scoped token
    jupyter_token: str = ""
    url: str = ""
    root: Path | None = None

    def post(self, path: str, body: dict, auth: bool = True) -> dict:
        headers = {"Content-Type": "application/json"}
        if auth and self.jupyter_token:
            headers["Authorization"] = f"token {self.jupyter_token}"
        req = urllib.request.Request(f"http://{HOST}:{self.port}{self.base}{path}",
                                     data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def get_api(self, path: str) -> dict:
        req = urllib.request.Request(f"{self.url}overmind/api/{path}",
                                     headers={TOKEN_HEADER: self.token})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def cpu_s(self) -> float:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(self.proc.pid).cpu_times()
            return t.user + t.system
        return float("nan")


def start_overmind(home: Path) -> Server:
    """``python -m jupyter_server`` as ``overmind start`` runs it, plus the bench extension."""
    root = home / "project"
    root.mkdir(parents=True)
    env = isolated_env(home)
    port, jtoken = free_port(), os.urandom(16).hex()
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
            f"--ip={HOST}", f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={jtoken}",
            "--ServerApp.jpserver_extensions={'overmind_jupyter': True, '_om_bench_ext': True}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    log = open(home / "server.log", "ab")  # noqa: SIM115 - closed with the process
    proc = PROCS.popen(argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)
    log.close()
    runtime = Path(env["JUPYTER_RUNTIME_DIR"]) / f"overmind-{proc.pid}.json"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(runtime.read_text())
            base = "/" + info["url"].split("/", 3)[3]
            return Server(proc, port, base, info["token"], jtoken, info["url"], root)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = (home / "server.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the Jupyter server did not start:\n{tail}")


def start_bare(home: Path) -> Server:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(BENCH), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = PROCS.popen([sys.executable, str(BENCH / "_bare_ws_server.py"), str(port)],
                       cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError(f"the bare tornado server did not start: {line!r}")
    return Server(proc, port)
