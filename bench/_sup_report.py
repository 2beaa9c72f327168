"""The table rows and *Details* lines of ``supervisor_bench.py`` (see ``_report``).

``results`` maps a benchmark's number ("1" … "5") to what it returned (None if it failed).
"""

from __future__ import annotations

from typing import Any

from _report import Row
from _sup_common import Cycle, KiB, MiB, Sizes

PEERS = ("overmind", "circus", "supervisord", "bare Popen")


def _g(c: Cycle | None, f: str) -> float | None:
    return getattr(c, f) if c is not None else None


def _ratio_ok(a: float | None, b: float | None, limit: float) -> bool:
    return a is not None and b is not None and a <= limit * b


def _rows_startstop(ss: dict | None, n: int) -> list[Row]:
    om, ci, sv = (ss or {}).get("overmind"), (ss or {}).get("circus"), (ss or {}).get("supervisord")
    bare = (ss or {}).get("bare Popen")
    g = _g
    return [
        Row("1a", f"start {n} sleep missions → all exec'd (s)", g(om, "start_s"), "{:.3f}",
            "circus", g(ci, "start_s"), "≤ 0.30× circus",
            _ratio_ok(g(om, "start_s"), g(ci, "start_s"), 0.30), peer=True),
        Row("1b", f"stop {n} → all reaped (s)", g(om, "stop_s"), "{:.3f}", "circus",
            g(ci, "stop_s"), "≤ 1.00× circus", _ratio_ok(g(om, "stop_s"), g(ci, "stop_s"), 1.0),
            peer=True),
        Row("1c", f"start {n} (s)", g(om, "start_s"), "{:.3f}", "supervisord",
            g(sv, "start_s"), "—", None),
        Row("1d", f"stop {n} (s)", g(om, "stop_s"), "{:.3f}", "supervisord", g(sv, "stop_s"),
            "—", None),
        Row("1e", f"start {n} (s)", g(om, "start_s"), "{:.3f}", "floor: bare Popen",
            g(bare, "start_s"), "—", None),
        Row("1f", f"stop {n} (s)", g(om, "stop_s"), "{:.3f}", "floor: bare Popen",
            g(bare, "stop_s"), "—", None),
    ]


def _rows_memory(mem: dict | None, sz: Sizes) -> list[Row]:
    m = (mem or {}).get("overmind")
    raw = (mem or {}).get("raw")
    rss = m["rss_per"] / KiB if m else None
    return [
        Row("2a", f"parent RSS per running mission, {sz.mem_missions} (KiB)", rss, "{:.1f}",
            "Popen+pidfd", raw["rss_per"] / KiB if raw else None, "≤ 50 KiB",
            rss is not None and rss <= 50),
        Row("2b", "Python heap per mission, tracemalloc (KiB)",
            m["heap_per"] / KiB if m else None, "{:.1f}", "Popen+pidfd",
            raw["heap_per"] / KiB if raw else None, "—", None),
    ]


def _rows_capture(cap: dict | None, sz: Sizes) -> list[Row]:
    co, cp = (cap or {}).get("overmind"), (cap or {}).get("protocol")
    gib = co["gib_s"] if co else None
    cpu = co["cpu_ms_per_mib"] if co else None
    return [
        Row("3a", f"capture {sz.capture_mib} MiB stdout → log (GiB/s)", gib, "{:.2f}",
            "asyncio protocol", cp["gib_s"] if cp else None, "≥ 1.5 GiB/s",
            gib is not None and gib >= 1.5),
        Row("3b", "parent CPU per MiB captured (ms/MiB)", cpu, "{:.3f}", "asyncio protocol",
            cp["cpu_ms_per_mib"] if cp else None, "≤ 0.5 ms/MiB", cpu is not None and cpu <= 0.5),
        Row("3c", f"capture {sz.capture_mib} MiB (GiB/s)", gib, "{:.2f}",
            "floor: child → file, no manager", (cap or {}).get("direct", {}).get("gib_s"), "—",
            None),
    ]


def _rows_events(ev: dict) -> list[Row]:
    e100 = ev.get("engine/100")
    return [
        Row("4a", "events committed/s, yield every 100 appends", e100, "{:,.0f}",
            "raw, 1 commit/event", ev.get("raw/1"), "≥ 50,000/s",
            e100 is not None and e100 >= 50_000),
        Row("4b", "events committed/s, yield every 10 appends", ev.get("engine/10"), "{:,.0f}",
            "raw, 1 commit/event", ev.get("raw/1"), "—", None),
        Row("4c", "events committed/s, yield after every append", ev.get("engine/1"),
            "{:,.0f}", "raw, 1 commit/event", ev.get("raw/1"), "—", None),
        Row("4d", "events committed/s, yield every 100 appends", e100, "{:,.0f}",
            "raw, 1 commit/100", ev.get("raw/100"), "—", None),
    ]


def _rows_ps(ps: dict | None, sz: Sizes) -> list[Row]:
    pms = ps["ms"] if ps else None
    return [
        Row("5", f"ps --json over {sz.ps_missions:,} missions (ms)", pms, "{:.1f}",
            "SELECT * + dumps", ps["base_ms"] if ps else None, "≤ 100 ms",
            pms is not None and pms <= 100),
    ]


def table_rows(results: dict[str, Any], sz: Sizes) -> list[Row]:
    return (_rows_startstop(results["1"], sz.missions) + _rows_memory(results["2"], sz)
            + _rows_capture(results["3"], sz) + _rows_events(results["4"] or {})
            + _rows_ps(results["5"], sz))


def _details_startstop(ss: dict, n: int) -> None:
    print(f"  1. start/stop of {n} programs (median; 'api' = the call returned, "
          "cpu = the manager's CPU time, rss = manager RSS per running program):")
    for name in PEERS:
        c = ss.get(name)
        if c is None:
            continue
        rss_txt = f"  rss {c.rss_per_program / KiB:6.1f} KiB/prog" \
            if c.rss_per_program is not None else ""
        print(f"     {name:<12} start {c.start_s:.3f} s (api {c.start_api_s:.3f}, "
              f"cpu {c.start_cpu_s:.3f})   stop {c.stop_s:.3f} s "
              f"(api {c.stop_api_s:.3f}, cpu {c.stop_cpu_s:.3f}){rss_txt}")
    for name, cycles in ss["_all"].items():
        if len(cycles) > 1:
            print(f"     {name:<12} all cycles: start "
                  f"{', '.join(f'{c.start_s:.3f}' for c in cycles)}; stop "
                  f"{', '.join(f'{c.stop_s:.3f}' for c in cycles)}")


def print_details(results: dict[str, Any], sz: Sizes) -> None:
    """The *Details* lines of #1 … #5 (the footer is ``Run.print_footer``)."""
    ss, mem, cap, ev, ps = (results[k] for k in "12345")
    if ss:
        _details_startstop(ss, sz.missions)
    for k, v in (mem or {}).items():
        print(f"  2. {k:<9} RSS {v['rss_before'] / MiB:.1f} → {v['rss_after'] / MiB:.1f} MiB"
              f" with {sz.mem_missions} children: {v['rss_per'] / KiB:.1f} KiB each; "
              f"tracemalloc {v['heap_per'] / KiB:.1f} KiB each")
    for k, v in (cap or {}).items():
        print(f"  3. {k:<9} {v['s'] * 1000:7.1f} ms  {v['gib_s']:.2f} GiB/s  parent CPU "
              f"{v['cpu_ms_per_mib']:.3f} ms/MiB")
    if ev:
        print("  4. " + ", ".join(f"{k}: {v:,.0f}/s" for k, v in ev.items()))
    if ps:
        print(f"  5. ps --json {ps['bytes'] / MiB:.1f} MiB of JSON; raw SELECT+dumps "
              f"{ps['base_ms']:.1f} ms")
