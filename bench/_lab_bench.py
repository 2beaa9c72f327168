"""What the browser benchmarks share (``ui_bench.py``, ``tree_bench.py``): a real Jupyter
server with JupyterLab, Overmind and one bench-only server extension on a scratch git
repository; one run around a measurement; requests to the extension; quantiles.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "browser")]

from jupyter_process import JupyterProcess  # noqa: E402
from lab_driver import check_built, lab_home  # noqa: E402


def quick_flag(doc: str, help_text: str) -> bool:
    """Parse the command line of a benchmark whose only option is ``--quick``."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=help_text)
    return parser.parse_args().quick


def start_server(base: Path, extension: str) -> JupyterProcess:
    """JupyterLab + Overmind + the server extension module ``extension`` (from this folder)
    on a fresh git repository under ``base``; returns the started server."""
    root, home = base / "root", base / "home"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    enable = home / "config" / "jupyter_server_config.d" / f"{extension}.json"
    enable.parent.mkdir(parents=True)
    enable.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {extension: True}}}))
    env = {**lab_home(home), "PYTHONPATH": f"{BENCH}:{REPO}"}
    return JupyterProcess(root, home, env=env, args=(
        "--LabApp.expose_app_in_browser=True",)).start()


def post(server: JupyterProcess, path: str, body: dict, timeout: float = 60) -> dict:
    """``POST <base_url><path>`` (a bench extension's route) with the Jupyter token."""
    return server.request("POST", path, body,
                          {"Authorization": f"token {server.jupyter_token}"},
                          timeout=timeout).json()


def run(extension: str, measure: Callable[[JupyterProcess], dict]) -> tuple[dict, int, float]:
    """Start a server with ``extension``, ``measure`` it, shut it down.

    Returns ``(what measure returned, processes left over, run time s)``.

    Raises:
        AssertionError: the UI is not built (``check_built``); whatever ``measure`` raises.
    """
    check_built()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"{extension.strip('_')}-") as tmp:
        server = start_server(Path(tmp), extension)
        try:
            found = measure(server)
        finally:
            server.api("POST", "shutdown", {}, timeout=60)
            left = server.reap()
    return found, len(left), time.monotonic() - began


def p(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def percentiles(values: list[float]) -> dict[str, Any]:
    """``{"n", "p50", "p99", "max"}`` of ``values`` (zeros when empty)."""
    if not values:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    return {"n": len(values), "p50": p(values, 0.5), "p99": p(values, 0.99), "max": max(values)}
