"""Execution tree benchmark: main-thread time of live updates with 2,000 tool calls.

usage: .venv/bin/python bench/tree_bench.py [--quick]

A real Jupyter server with JupyterLab and Overmind, a notebook showing the execution tree
of an objective (``%overmind objectives bench``) in Debian's Chromium (Playwright). A
bench-only server extension (``_tree_bench_ext``) records the objective, its plan, one
task and its agent, then appends 2,000 tool calls (a ``tool-use`` and a ``tool-result``
each: 4,000 events) at a steady rate, as the ACP runtime records them. Chromium's own
trace (CDP ``Tracing``, category ``toplevel``) gives every task the page's main thread ran
meanwhile (``RunTask``: websocket frames, event reduction, the tree's per-frame render,
style, layout and paint, and whatever else JupyterLab did). Target: each live update
batch ≤ 16 ms of main-thread time (one 60 Hz frame): reported as the p99 and the maximum
task, and their ratio to 16 ms. Also checked: the tree showed the last tool call and kept
at most its window of step rows in the DOM.

Always exits 0 when a target is missed; a broken harness exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "tests"), str(REPO / "tests" / "browser")]

from _report import Row, print_head  # noqa: E402
from jupyter_process import JupyterProcess  # noqa: E402
from lab_driver import check_built, lab_home, launch, open_notebook, write_notebook  # noqa: E402
from ui_bench import p  # noqa: E402

CALLS = 2000
TARGET_MS = 16.0
CATEGORIES = "toplevel,devtools.timeline,disabled-by-default-devtools.timeline"


def start_server(base: Path) -> JupyterProcess:
    """JupyterLab + Overmind + the tree bench extension on a scratch git repository."""
    root, home = base / "root", base / "home"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    enable = home / "config" / "jupyter_server_config.d" / "tree_bench.json"
    enable.parent.mkdir(parents=True)
    enable.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        "_tree_bench_ext": True}}}))
    env = {**lab_home(home), "PYTHONPATH": f"{BENCH}:{REPO}"}
    return JupyterProcess(root, home, env=env, args=(
        "--LabApp.expose_app_in_browser=True",)).start()


def main_thread_tasks(trace: list[dict]) -> list[float]:
    """Durations (ms) of the renderer main thread's top-level tasks in a Chromium trace."""
    mains = {(e["pid"], e["tid"]) for e in trace
             if e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    runs: dict[tuple[int, int], list[float]] = {}
    for e in trace:
        if e.get("name") == "RunTask" and e.get("ph") == "X" and (e["pid"], e["tid"]) in mains:
            runs.setdefault((e["pid"], e["tid"]), []).append(e.get("dur", 0) / 1000)
    return max(runs.values(), key=len) if runs else []  # the busiest renderer: the page's


def post(server: JupyterProcess, path: str, body: dict, timeout: float = 60) -> dict:
    return server.request("POST", f"overmind-tree-bench/{path}", body,
                          {"Authorization": f"token {server.jupyter_token}"},
                          timeout=timeout).json()


def measure(server: JupyterProcess, rate: float) -> dict:
    """Emit ``CALLS`` tool calls at ``rate`` events/s into a tree shown in the browser."""
    from playwright.sync_api import expect, sync_playwright
    post(server, "objective", {})
    # first opening starts the kernel (see tests/browser/test_tree.py), the second runs
    write_notebook(server.root, "tree.ipynb", ["%load_ext overmind"])
    cells = ["%load_ext overmind", "%overmind objectives bench"]
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        open_notebook(page, server, "tree.ipynb")
        write_notebook(server.root, "tree.ipynb", cells)
        open_notebook(page, server, "tree.ipynb")
        tree = page.locator(".overmind-widget .om-tree-view")
        expect(tree.locator('li[data-node="agent"]')).to_be_visible(timeout=30_000)
        cdp = page.context.new_cdp_session(page)
        trace: list[dict] = []
        done: list[bool] = []
        cdp.on("Tracing.dataCollected", lambda msg: trace.extend(msg["value"]))
        cdp.on("Tracing.tracingComplete", lambda msg: done.append(True))
        cdp.send("Tracing.start", {"categories": CATEGORIES, "transferMode": "ReportEvents"})
        stats = post(server, "emit", {"rate": rate, "n": 2 * CALLS}, 2 * CALLS / rate + 60)
        last = tree.locator(f'li[data-tool-id="call-{CALLS - 1}"]')
        expect(last).to_have_attribute("data-status", "completed", timeout=30_000)
        page.wait_for_timeout(500)
        cdp.send("Tracing.end")
        while not done:
            page.wait_for_timeout(100)
        rows = tree.locator('li[data-node="tool"]').count()
        agent = tree.locator('li[data-node="agent"] .om-tree-meta').first.text_content()
        browser.close()
    return {"stats": stats, "tasks": main_thread_tasks(trace), "rows": rows, "agent": agent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="4,000 events at 800/s (5 s) instead of 200/s (20 s)")
    rate = 800.0 if parser.parse_args().quick else 200.0
    check_built()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tree-bench-") as tmp:
        server = start_server(Path(tmp))
        try:
            found = measure(server, rate)
        finally:
            server.api("POST", "shutdown", {}, timeout=60)
            left = server.reap()
    tasks = found["tasks"]
    p99, worst = p(tasks, 0.99), max(tasks)
    rows = [Row("1", f"main-thread task, p99 ({CALLS:,} tool calls live)", p99, "{:.1f} ms",
                "", None, f"≤ {TARGET_MS:.0f} ms", p99 <= TARGET_MS),
            Row("1b", "main-thread task, max", worst, "{:.1f} ms", "", None, "", None),
            Row("1c", "p99 / 16 ms", p99 / TARGET_MS, "{:.2f}", "", None, "≤ 1", None),
            Row("1d", "max / 16 ms", worst / TARGET_MS, "{:.2f}", "", None, "", None)]
    print_head("Execution tree", rate > 200, "", rows)
    s = found["stats"]
    over = sum(1 for t in tasks if t > TARGET_MS)
    print(f"events emitted: {2 * CALLS} at {rate:.0f}/s in {s['elapsed_s']:.1f} s; main-thread "
          f"tasks: {len(tasks)}, {over} over {TARGET_MS:.0f} ms, p50 {p(tasks, 0.5):.2f} ms; "
          f"tool rows in the DOM: {found['rows']}; agent: {found['agent']}; "
          f"leftover processes: {len(left)}; run {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
