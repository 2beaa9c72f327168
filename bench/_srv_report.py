"""The table rows and *Details* lines of ``server_bench.py`` (see ``_report``).

``fo``: #1 fan-out results by server name; ``rp``: #2 replay results; ``ps``: #3 or None.
"""

from __future__ import annotations

from _report import Row
from _srv_common import Sizes


def _rows_fanout(fo: dict, sz: Sizes) -> list[Row]:
    o, b = fo.get("overmind") or {}, fo.get("bare") or {}
    op99, bp99 = o.get("p99"), b.get("p99")
    rows = [
        Row("1a", f"fan-out p99, {sz.clients} clients, {sz.rate:,} ev/s (ms)", op99,
            "{:.2f}", "bare tornado", bp99, "≤ 20 ms", op99 is not None and op99 <= 20),
        Row("1b", "fan-out p99 vs bare broadcast (ms)", op99, "{:.2f}", "bare tornado", bp99,
            "≤ 3× bare", op99 is not None and bp99 is not None and op99 <= 3 * bp99),
        Row("1c", "fan-out p50 (ms)", o.get("p50"), "{:.2f}", "bare tornado", b.get("p50"),
            "—", None),
        Row("1d", "server CPU while emitting (%)", o.get("server_cpu_pct_emit"), "{:.0f}",
            "bare tornado", b.get("server_cpu_pct_emit"), "—", None),
    ]
    z = fo.get("overmind, FLUSH_DELAY_S=0")
    if z:
        rows += [
            Row("1e", "fan-out p99 with engine FLUSH_DELAY_S=0 (ms)", z["p99"], "{:.2f}",
                "bare tornado", bp99, "(diagnostic)", None),
            Row("1f", "fan-out p50 with engine FLUSH_DELAY_S=0 (ms)", z["p50"], "{:.2f}",
                "bare tornado", b.get("p50"), "(diagnostic)", None),
        ]
    return rows


def table_rows(sz: Sizes, fo: dict, rp: dict, ps: dict | None) -> list[Row]:
    ro, rb = rp.get("overmind"), rp.get("bare")
    return [
        *_rows_fanout(fo, sz),
        Row("2", f"replay {sz.replay:,} events after=0 → all received (s)",
            ro["s"] if ro else None, "{:.3f}", "bare tornado, from memory",
            rb["s"] if rb else None, "≤ 1 s", ro is not None and ro["s"] <= 1.0),
        Row("3", f"%overmind ps --all, {sz.missions:,} missions (ms)",
            ps["magic_ms"] if ps else None, "{:.1f}", "GET status, same client",
            ps["status_ms"] if ps else None, "≤ 50 ms",
            ps is not None and ps["magic_ms"] <= 50),
    ]


def _details_fanout(fo: dict, n_events: int) -> None:
    for name, r in fo.items():
        if not r:
            continue
        e = r["emit"]
        if name != "bare" and e.get("flush_delay_s") is not None:
            name += f" (engine FLUSH_DELAY_S={e['flush_delay_s'] * 1000:g} ms)"
        print(f"  1. {name:<8} latency ms p50 {r['p50']:.2f} p90 {r['p90']:.2f} p99 "
              f"{r['p99']:.2f} max {r['max']:.1f}; received {r['received']:,}/"
              f"{r['expected']:,} (dup {r['dup']}, resync frames {r['resyncs']}) in "
              f"{r['frames']:,} frames, {r['bytes'] / 2**20:.1f} MiB")
        print(f"     emitter: {n_events:,} events in {e['elapsed_s']:.2f} s, "
              f"{e['ticks']:,} ticks, max {e['max_batch']} events/tick, max lateness "
              f"{e['late_ms_max']:.1f} ms; server CPU {r['server_cpu_pct_emit']:.0f}% while "
              f"emitting, {r['server_cpu_s']:.2f} s incl. drain; client process CPU "
              f"{r['client_cpu_s']:.2f} s over {r['wall_s']:.1f} s")


def _details_replay(rp: dict) -> None:
    ro, rb = rp.get("overmind"), rp.get("bare")
    if ro:
        print(f"  2. overmind replay {ro['events']:,} events, {ro['bytes'] / 2**20:.1f} MiB: "
              f"{ro['s'] * 1000:.0f} ms (runs: "
              f"{', '.join(f'{x * 1000:.0f}' for x in rp.get('overmind_all', []))} ms) = "
              f"{ro['events'] / ro['s']:,.0f} events/s; prefill {rp.get('fill_s', 0):.2f} s")
    if rp.get("floor_s") is not None:
        f = rp["floor_s"]
        print(f"     in this process, no socket: SQLite reads alone {f['read'] * 1000:.0f} ms;"
              f" reads + decode + re-encode every event {f['decode+encode'] * 1000:.0f} ms")
    if rb:
        print(f"     bare replay {rb['events']:,} events: {rb['s'] * 1000:.0f} ms")


def print_details(sz: Sizes, fo: dict, rp: dict, ps: dict | None) -> None:
    """The *Details* lines of #1 … #3 (the footer is ``Run.print_footer``)."""
    _details_fanout(fo, int(sz.rate * sz.seconds))
    _details_replay(rp)
    if ps:
        print(f"  3. %overmind ps --all median {ps['magic_ms']:.1f} ms of {sz.ps_reps} "
              f"(all: {ps['magic_all']}); parts (medians, same portal): GET status "
              f"{ps['status_ms']:.1f} ms; GET missions?all=1 raw {ps['http_ms']:.1f} ms "
              f"({ps['json_bytes'] / 1024:.0f} KiB JSON); Client.ps_json "
              f"{ps['rest_ps_ms']:.1f} ms; commands.execute rendering alone "
              f"{ps['render_ms']:.1f} ms; {ps['rows']} rows, {ps['text_bytes'] / 1024:.0f} KiB "
              f"text")
