"""Runtime files: how the CLI and kernels find a running engine.

The extension writes ``<jupyter runtime dir>/overmind-<server pid>.json`` (mode 0600)::

    {"url": "http://127.0.0.1:8888/base/", "token": "<scoped Overmind token>",
     "root": "/path/to/project", "pid": 1234, "pid_start": 1765000000.5, "daemon": true}

A file whose ``pid`` is gone, a zombie, or another process (``pid_start`` differs) is
stale: ``find`` removes it.

``OVERMIND_URL`` / ``OVERMIND_TOKEN`` in the environment take precedence (kernels).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import psutil
from jupyter_core.paths import jupyter_runtime_dir

TOKEN_HEADER = "X-Overmind-Token"  # carries the scoped token on every request


def runtime_dir() -> Path:
    """Jupyter's runtime directory (``JUPYTER_RUNTIME_DIR`` honoured)."""
    return Path(jupyter_runtime_dir())


def write(info: dict, pid: int | None = None) -> Path:
    """Write the runtime file of the server ``pid`` (default: this process), mode 0600."""
    path = runtime_dir() / f"overmind-{pid or os.getpid()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)
    return path


def remove(pid: int | None = None) -> None:
    """Delete this server's runtime file if present."""
    with contextlib.suppress(FileNotFoundError):
        (runtime_dir() / f"overmind-{pid or os.getpid()}.json").unlink()


def find(root: str | Path) -> dict | None:
    """The runtime info of a live server whose project root is ``root`` (newest first).

    Files of dead servers are removed on the way.
    """
    root = str(Path(root).resolve())
    found = []
    for path in runtime_dir().glob("overmind-*.json"):
        info = _load(path)
        if info is None:
            continue
        if not _alive(info.get("pid"), info.get("pid_start")):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if info.get("root") == root:
            found.append((path.stat().st_mtime, info))
    return max(found, key=lambda x: x[0])[1] if found else None


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: object, started: object = None) -> bool:
    """``pid`` runs — a zombie (killed, not reaped yet) is dead — and, when the file
    says when its server started, it is that process (not a reused pid)."""
    if not isinstance(pid, int):
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return not isinstance(started, (int, float)) or abs(proc.create_time() - started) < 1
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # another user's process: assume it is the server
        return True


def process_started() -> float:
    """This process's start time (epoch s), for ``pid_start`` in a runtime file."""
    return psutil.Process().create_time()


def project_root(start: str | Path) -> Path:
    """The git work tree containing ``start``, else ``start`` itself (resolved)."""
    here = Path(start).resolve()
    for d in (here, *here.parents):
        if (d / ".git").exists():
            return d
    return here
