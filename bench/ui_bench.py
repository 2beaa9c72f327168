"""UI benchmarks: event → DOM latency in a real browser, and the widget bundle's size.

usage: .venv/bin/python bench/ui_bench.py [--quick]

1. A real Jupyter server with JupyterLab and Overmind, a notebook showing ``%overmind ps``
   in Debian's Chromium (Playwright). A bench-only server extension (``_ui_bench_ext``)
   appends ``tool-use`` events for one running mission at 200 events/s, as the ACP
   runtime records tool calls; the mission table shows each in its activity cell. A
   ``MutationObserver`` on that cell records when the DOM showed which event (the cell's
   ``data-seq``). An event's latency = the first DOM update showing it or a later event
   − its ``ts`` (the store's clock at emission; browser and server share this machine's
   clock). Target: p99 ≤ 100 ms.
2. ``overmind_jupyter/widgets/static/overmind.js`` gzipped (level 9). Target ≤ 300 KiB.

Always exits 0 when a target is missed; a broken harness exits non-zero.
"""

from __future__ import annotations

import gzip
import statistics

from _lab_bench import p, post, quick_flag, run  # first: it puts tests/ on sys.path
from _report import Row, print_head
from jupyter_process import JupyterProcess
from lab_driver import LABEXTENSION, WIDGET_BUNDLE, launch, open_notebook, write_notebook

RATE = 200  # events/s
OBSERVE = """(id) => {
  window.__om = [];
  const cell = document.querySelector(
    `.overmind-widget tr[data-mission-id="${id}"] td[data-col="activity"]`);
  new MutationObserver(() => window.__om.push(
    [Number(cell.dataset.seq), performance.timeOrigin + performance.now()]))
    .observe(cell, {attributes: true, childList: true, characterData: true, subtree: true});
}"""


def latencies(observed: list[list[float]], ts: dict[int, float]) -> tuple[list[float], int]:
    """Per event: ms from emission to the first DOM update showing it (or a later one);
    and how many events the DOM never reflected."""
    out, missing, i = [], 0, 0
    observed = sorted((int(s), t) for s, t in observed if s)
    for seq in sorted(ts):
        while i < len(observed) and observed[i][0] < seq:
            i += 1
        if i == len(observed):
            missing += 1
            continue
        out.append(observed[i][1] - ts[seq] * 1000)
    return out, missing


def measure(server: JupyterProcess, n: int) -> dict:
    """Emit ``n`` events at ``RATE``/s for a live mission shown in the browser."""
    from playwright.sync_api import expect, sync_playwright
    mission = server.api("POST", "missions", {"command": ["sleep", "600"], "name": "target"})
    write_notebook(server.root, "bench.ipynb", ["%load_ext overmind", "%overmind ps"])
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        open_notebook(page, server, "bench.ipynb")
        cell = page.locator(f'.overmind-widget tr[data-mission-id="{mission["id"]}"] '
                            'td[data-col="activity"]')
        expect(cell).to_be_attached(timeout=30_000)
        page.evaluate(OBSERVE, mission["id"])
        stats = post(server, "overmind-ui-bench/emit", {
            "mission": mission["id"], "rate": RATE, "n": n}, timeout=n / RATE + 60)
        page.wait_for_timeout(1000)
        observed = page.evaluate("window.__om")
        browser.close()
    events = server.api("GET", f"events?after={stats['first'] - 1}&limit={n}"
                               f"&mission={mission['id']}")["events"]
    ts = {e["seq"]: e["ts"] for e in events if e["type"] == "tool-use"}
    values, missing = latencies(observed, ts)
    return {"stats": stats, "values": values, "missing": missing, "dom_updates": len(observed)}


def bundle_rows() -> list[Row]:
    js = gzip.compress(WIDGET_BUNDLE.read_bytes(), 9)
    lab = sum(len(gzip.compress(f.read_bytes(), 9))
              for f in (LABEXTENSION / "static").glob("*.js"))
    return [Row("2", "widget bundle (overmind.js), gzipped", len(js) / 1024, "{:.1f} KiB",
                "", None, "≤ 300 KiB", len(js) <= 300 * 1024),
            Row("2b", "labextension JS (all chunks), gzipped", lab / 1024, "{:.1f} KiB",
                "", None, "", None)]


def main() -> None:
    quick = quick_flag(__doc__, "5 s of events instead of 20 s")
    n = RATE * (5 if quick else 20)
    found, left, took = run("_ui_bench_ext", lambda server: measure(server, n))
    values = found["values"]
    rows = [Row("1", f"event → DOM at {RATE} events/s, p99", p(values, 0.99), "{:.1f} ms",
                "", None, "≤ 100 ms", p(values, 0.99) <= 100),
            Row("1b", "event → DOM, p50", statistics.median(values), "{:.1f} ms", "", None,
                "", None),
            Row("1c", "event → DOM, max", max(values), "{:.1f} ms", "", None, "", None),
            *bundle_rows()]
    print_head("UI", quick, "", rows)
    s = found["stats"]
    print(f"events emitted: {n} in {s['elapsed_s']:.1f} s (max batch {s['max_batch']}, "
          f"emitter late ≤ {s['late_ms_max']:.1f} ms); DOM updates: {found['dom_updates']}; "
          f"events never shown: {found['missing']}; leftover processes: {left}; "
          f"run {took:.0f} s")


if __name__ == "__main__":
    main()
