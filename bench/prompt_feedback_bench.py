"""``%%overmind prompt`` feedback benchmark: how soon a prompt cell shows something.

usage: .venv/bin/python bench/prompt_feedback_bench.py [--runs N]

IPython's shell with the Overmind magics (widgets on, an engine embedded in the process,
the scripted model: the story agent answers at once, so the figures are the floor of a
real model's). Each run submits a one-task prompt to a fresh git project and timestamps
(``time.perf_counter``) every display message the cell publishes. Measured: from the
cell's start to its **first** output (the "prompt sent" line), and — the baseline, side
by side — to the output of the execution tree (the first output before this line existed:
it waits for the story window and the story agent). Target (issue 17): first output
≤ 200 ms. The frontend's render adds a frame or two on top; the kernel's side is measured.

Always exits 0 when the target is missed; a broken harness exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from IPython.testing.globalipapp import start_ipython

from overmind_jupyter.magics import PENDING, OvermindMagics
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

TARGET_MS = 200.0


def project(root: Path) -> Path:
    """A one-file git repository."""
    root.mkdir(parents=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


def scripts(directory: Path) -> Path:
    """Scripted answers of a one-task objective."""
    return write_role_scripts(
        directory, story=respond({"groups": [{"title": "Log", "prompt_ids": ["p1"],
                                              "summary": "log"}], "story": "calc"}),
        scope=respond({"files": [{"path": "calc.py"}], "complexity": "low",
                       "rationale": "calc"}),
        planner=respond({"tasks": [{"name": "log", "description": "log: change add()",
                                    "scope": ["calc.py"]}]}),
        evaluator=respond({"done": True, "feedback": "ok"}),
        tasks={"log": [tool("read_file", path="calc.py"), say("Read it.")]})


def one_run(shell: Any, work: Path) -> tuple[float, float]:
    """(ms to the first output, ms to the tree's output) of one prompt cell."""
    os.chdir(project(work / "p"))
    os.environ["OVERMIND_MODEL"] = f"scripted:{scripts(work / 's')}"
    magics = OvermindMagics(shell=shell, mode="embedded", widgets="on", snapshot_refresh_s=0)
    shell.register_magics(magics)
    stamps: list[tuple[float, dict[str, Any]]] = []
    publish = shell.display_pub.publish
    shell.display_pub.publish = lambda data, *a, **k: (  # type: ignore[method-assign]
        stamps.append((time.perf_counter(), data)), publish(data, *a, **k))[1]
    try:
        began = time.perf_counter()
        shell.run_cell_magic("overmind", "prompt", "log every addition")
    finally:
        shell.display_pub.publish = publish  # type: ignore[method-assign]
        magics.close()
    first = stamps[0][0] - began
    tree = next(t for t, data in stamps if data.get("text/plain") != PENDING) - began
    return first * 1000, tree * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    start_ipython()
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    shell = TerminalInteractiveShell.instance()
    figures, home = [], os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for n in range(runs):
                figures.append(one_run(shell, Path(tmp) / f"run{n}"))
        finally:
            os.chdir(home)  # IPython reads the current directory at exit
    first = statistics.median(f for f, _ in figures)
    tree = statistics.median(t for _, t in figures)
    verdict = "PASS" if first <= TARGET_MS else "MISS"
    print(f"{'what':44} {'overmind':>10} {'baseline':>10} {'ratio':>7} {'target':>9}")
    print(f"{'prompt cell → first output (median ms)':44} {first:10.1f} {tree:10.1f} "
          f"{first / tree:7.3f} {'≤ 200 ms':>9} {verdict}")
    print(f"baseline: the same cell's execution tree output (the old first output); "
          f"{runs} runs; load average {os.getloadavg()[0]:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
