"""``agent_bench.py`` #1: the built-in agent's start, spawn → ACP ``initialize`` answered.

Baselines, interleaved with it: ``python -c pass`` and ``python -c "import acp"`` (spawn
→ exit) and a minimal SDK agent (spawn → initialize), all with a warm bytecode cache
(``PYTHONPYCACHEPREFIX`` in a temp dir); the builtin agent "as this environment runs it"
too. Details: ``-X importtime`` of the agent, and ``import acp`` with pydantic's
attribute-docstring extraction and/or eager schema building switched off.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from _agent_common import BUILTIN, GROUPS, PY, Sizes, connected, initialize, spawn


async def start_to_initialize(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    async with connected(argv, env, cwd) as conn:
        await asyncio.wait_for(initialize(conn), 60)
        return time.perf_counter() - t0


async def start_to_exit(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = await spawn(argv, env, cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    code = await proc.wait()
    dt = time.perf_counter() - t0
    GROUPS.discard(proc.pid)
    if code != 0:
        raise RuntimeError(f"{argv} exited with {code}")
    return dt


def import_times(argv: list[str], env: dict[str, str], cwd: Path) -> list[tuple]:
    """``-X importtime`` rows (self µs, cumulative µs, depth, module) of one start."""
    p = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], input=b"",
                       capture_output=True, env=env, cwd=cwd, timeout=60)
    out = []
    for line in p.stderr.decode(errors="replace").splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            out.append((int(m[1]), int(m[2]), len(m[3]) // 2, m[4]))
    return out


IMPORT_VARIANTS = {
    "as is": "",
    "no attribute docstrings": "import pydantic._internal._fields as f\n"
                               "f._update_fields_from_docstrings = lambda *a, **k: None",
    "defer_build": "import pydantic._internal._config as c\n"
                   "c.config_defaults['defer_build'] = True",
}
IMPORT_VARIANTS["both"] = IMPORT_VARIANTS["no attribute docstrings"] + "\n" + \
    IMPORT_VARIANTS["defer_build"]


def import_acp_variants(env: dict[str, str], cwd: Path, reps: int) -> dict[str, float]:
    """Time of ``import acp`` inside a fresh interpreter (pydantic already imported)."""
    res: dict[str, list[float]] = {k: [] for k in IMPORT_VARIANTS}
    for _ in range(reps):  # interleaved
        for k, pre in IMPORT_VARIANTS.items():
            code = (f"import time, pydantic\n{pre}\nt = time.perf_counter()\nimport acp\n"
                    "print(time.perf_counter() - t)")
            out = subprocess.run([PY, "-c", code], env=env, cwd=cwd, capture_output=True,
                                 check=True, timeout=60).stdout
            res[k].append(float(out))
    return {k: statistics.median(v) for k, v in res.items()}


async def bench_start(tmp: Path, sz: Sizes) -> dict[str, Any]:
    script = tmp / "script.json"
    script.write_text(json.dumps({"turns": [{"text": "hello"}]}))
    builtin = [*BUILTIN, "--model", f"scripted:{script}"]
    minimal = [PY, "-m", "overmind_jupyter.testing.acp_agent"]
    as_is = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    cached = {k: v for k, v in as_is.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")  # warm cache, outside the repo
    cases = {
        "builtin": lambda env: start_to_initialize(builtin, env, tmp),
        "minimal": lambda env: start_to_initialize(minimal, env, tmp),
        "pass": lambda env: start_to_exit([PY, "-c", "pass"], env, tmp),
        "import acp": lambda env: start_to_exit([PY, "-c", "import acp"], env, tmp),
    }
    for fn in cases.values():  # warm-up: fills the bytecode cache (and the page cache)
        await fn(cached)
        await fn(as_is)
    times: dict[str, list[float]] = {k: [] for k in cases}
    as_is_times: list[float] = []
    for _ in range(sz.starts):  # interleaved, so load drift hits all alike
        for k, fn in cases.items():
            times[k].append(await fn(cached))
        as_is_times.append(await cases["builtin"](as_is))
    rows = import_times(builtin, cached, tmp)
    variants = import_acp_variants(cached, tmp, sz.import_reps)
    return {"median": {k: statistics.median(v) for k, v in times.items()},
            "all": times, "as_is": statistics.median(as_is_times),
            "dont_write": os.environ.get("PYTHONDONTWRITEBYTECODE"),
            "importtime": rows, "variants": variants}
