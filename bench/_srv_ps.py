"""``server_bench.py`` #3: ``%overmind ps --all`` through IPython in server mode.

An ``InteractiveShell`` in this process with Overmind's magics connected to the server's
engine (``OVERMIND_URL`` / ``OVERMIND_TOKEN``); the magic and its parts (``GET status``,
``Client.ps_json``, the rendering alone, the raw ``GET missions``) are timed interleaved
through the same portal, so drift hits all of them alike.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _srv_common import Server, Sizes


def _shell(om: Server, home: Path) -> tuple[Any, Callable[[], str]]:
    """Overmind's magics in server mode (pointed at ``om``) in an IPython shell, and a
    function running ``%overmind ps --all`` there that returns what it displayed."""
    os.environ["IPYTHONDIR"] = str(home / "ipython-bench")
    os.environ["OVERMIND_URL"], os.environ["OVERMIND_TOKEN"] = om.url, om.token
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    from overmind_jupyter.magics import OvermindMagics

    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg)
    magics = OvermindMagics(shell=shell)
    magics.mode = "server"
    shell.register_magics(magics)

    def magic() -> str:
        with capture_output() as cap:
            shell.run_line_magic("overmind", "ps --all")
        return cap.stdout + "".join(o.data.get("text/plain", "") for o in cap.outputs)

    return magics, magic


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _checked_rows(magics: Any, api: Any, text: str, sz: Sizes) -> int:
    if api is magics.engine or api.mode != "server":
        raise RuntimeError("the magics did not connect to the server's engine")
    rows = sum(1 for line in text.splitlines() if "bench-" in line)
    if rows < sz.missions:
        raise RuntimeError(f"ps --all showed {rows} bench missions, not {sz.missions}")
    return rows


def _interleaved(magic: Callable[[], str], magics: Any, api: Any,
                 reps: int) -> dict[str, list[float]]:
    """Each part timed once per rep, in turn (s)."""
    from overmind_jupyter import commands

    args = commands.parse(["ps", "--all"], prog="%overmind")
    listing = magics.portal.call(api.ps_json, True)

    class Fixed:  # the rendering alone: an api whose listing is already answered
        def ensure_running(self) -> None:
            """Always running."""

        async def ps_json(self, all: bool = False) -> str:
            return listing

    fixed = Fixed()
    portal = magics.portal
    parts: dict[str, Callable[[], Any]] = {
        "magic": magic,
        "status": lambda: portal.call(api.status),
        "rest": lambda: portal.call(api.ps_json, True),
        "render": lambda: portal.call(commands.execute, fixed, args, None),
        "http": lambda: portal.call(api._call, "GET", "missions", None, {"all": "1"}, None,
                                    True),
    }
    times: dict[str, list[float]] = {k: [] for k in parts}
    for _ in range(reps):  # interleaved, so drift hits all of them alike
        for k, fn in parts.items():
            times[k].append(_timed(fn))
    return times


def bench_ps(om: Server, sz: Sizes, home: Path) -> dict[str, Any]:
    magics, magic = _shell(om, home)
    try:
        for _ in range(sz.ps_warmup):
            text = magic()
        api = magics.connect()
        rows = _checked_rows(magics, api, text, sz)
        t = _interleaved(magic, magics, api, sz.ps_reps)
        raw = magics.portal.call(api._call, "GET", "missions", None, {"all": "1"}, None, True)
        ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
        return {"magic_ms": ms(t["magic"]), "status_ms": ms(t["status"]),
                "rest_ps_ms": ms(t["rest"]), "render_ms": ms(t["render"]),
                "http_ms": ms(t["http"]), "rows": rows, "json_bytes": len(raw),
                "text_bytes": len(text), "magic_all": [round(x * 1000, 1) for x in t["magic"]]}
    finally:
        magics.close()
        for k in ("OVERMIND_URL", "OVERMIND_TOKEN"):
            os.environ.pop(k, None)
