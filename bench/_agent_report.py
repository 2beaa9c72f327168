"""The table rows and *Details* lines of ``agent_bench.py`` (see ``_report``).

``st``: #1 (``_agent_start.bench_start``) or None; ``io``: #2 and #3 (``bench_agent_io``).
"""

from __future__ import annotations

from typing import Any

from _agent_common import Sizes
from _report import Row

MS = 1000.0


def _rows_start(st: dict | None) -> list[Row]:
    med = (st or {}).get("median", {})
    b, imp = med.get("builtin"), med.get("import acp")
    what = "builtin agent: spawn → initialize answered (ms)"
    rows = [
        Row("1a", what, b * MS if b else None, "{:.0f}", "python -c pass",
            med["pass"] * MS if "pass" in med else None, "≤ 500 ms",
            b is not None and b <= 0.5),
        Row("1b", what, b * MS if b else None, "{:.0f}", 'python -c "import acp"',
            imp * MS if imp else None, "—", None),
        Row("1c", what, b * MS if b else None, "{:.0f}", "minimal acp SDK agent",
            med["minimal"] * MS if "minimal" in med else None, "—", None),
    ]
    if st and st["dont_write"]:
        rows.append(Row("1d", "same, as this env runs it: no bytecode cache (ms)",
                        st["as_is"] * MS, "{:.0f}", "warm cache", b * MS if b else None,
                        "—", None))
    return rows


def _cpu_per_update(cpu: dict | None, sz: Sizes) -> tuple[float | None, float | None]:
    """µs of CPU per update: (engine, bare client)."""
    if not cpu:
        return None, None
    per = (cpu["engine N"]["cpu"] - cpu["engine 0"]["cpu"]) / sz.chunks * 1e6
    base = (cpu["bare N"]["cpu"] - cpu["bare 0"]["cpu"]) / sz.chunks * 1e6
    return per, base


def table_rows(st: dict | None, io: dict[str, Any], sz: Sizes) -> list[Row]:
    e, bare, raw = io.get("reads engine"), io.get("reads bare"), io.get("reads raw")
    em = e["median_ms"] if e else None
    per, base = _cpu_per_update(io.get("cpu"), sz)
    return [
        *_rows_start(st),
        Row("2a", f"fs/read_text_file 10 KiB round trip, median of {sz.reads} (ms)", em,
            "{:.3f}", "raw JSON-RPC, no SDK", raw["median_ms"] if raw else None, "≤ 5 ms",
            em is not None and em <= 5),
        Row("2b", "same (ms)", em, "{:.3f}", "bare acp client",
            bare["median_ms"] if bare else None, "—", None),
        Row("3", f"engine CPU per session/update, {sz.chunks:,} chunks (µs)", per,
            "{:.0f}", "bare acp client, no-op", base, "≤ 1,000 µs",
            per is not None and per <= 1000),
    ]


def _details_importtime(rows_it: list[tuple]) -> None:
    total = sum(r[1] for r in rows_it if r[2] == 0)
    cum = {r[3]: r[1] for r in rows_it}
    selfs = {r[3]: r[0] for r in rows_it}
    om = sum(r[0] for r in rows_it if r[3].startswith("overmind_jupyter"))
    top = sorted((r for r in rows_it if r[2] == 0), key=lambda r: -r[1])[:6]
    print(f"     -X importtime of the builtin agent: {total / 1000:.0f} ms of imports;"
          f" top level: " + ", ".join(f"{r[3]} {r[1] / 1000:.0f}" for r in top))
    print(f"     acp.schema itself {selfs.get('acp.schema', 0) / 1000:.0f} ms "
          f"(self time: building ~270 pydantic models); pydantic "
          f"{cum.get('pydantic', 0) / 1000:.0f} ms; overmind_jupyter's own module "
          f"bodies {om / 1000:.0f} ms")
    big = sorted(rows_it, key=lambda r: -r[0])[:5]
    print("     largest self times (ms): " + ", ".join(
        f"{r[3]} {r[0] / 1000:.1f}" for r in big))


def _details_start(st: dict, sz: Sizes) -> None:
    med = st["median"]
    print(f"  1. medians of {sz.starts} (ms): " + ", ".join(
        f"{k} {v * MS:.0f}" for k, v in med.items())
          + "; minima: " + ", ".join(f"{k} {min(v) * MS:.0f}" for k, v in st["all"].items())
          + f"; builtin all: {[round(x * MS) for x in st['all']['builtin']]}")
    if st["dont_write"]:
        print(f"     PYTHONDONTWRITEBYTECODE={st['dont_write']} here: without a warm cache "
              f"the builtin agent took {st['as_is'] * MS:.0f} ms (median; the source "
              "tree has no __pycache__, so overmind_jupyter is compiled at every start)")
    if st["importtime"]:
        _details_importtime(st["importtime"])
    v = st["variants"]
    print(f"     `import acp` in a fresh interpreter (pydantic already imported), median "
          f"of {sz.import_reps}: " + ", ".join(f"{k} {x * MS:.0f} ms" for k, x in
                                                v.items()))


def _details_cpu(io: dict[str, Any], sz: Sizes) -> None:
    cpu = io["cpu"]
    print(f"  3. process CPU (s, medians of {sz.cpu_reps}): " + ", ".join(
        f"{k.replace('N', str(sz.chunks))} {v['cpu']:.3f}" for k, v in cpu.items())
          + f"; all runs {io['cpu_all']}")
    for who in ("engine", "bare"):
        d = cpu[f"{who} N"]["wall"] - cpu[f"{who} 0"]["wall"]
        if d > 0:
            print(f"     {who}: {sz.chunks:,} updates streamed in {d:.2f} s more wall "
                  f"time than 0 ({sz.chunks / d:,.0f}/s)")


def print_details(st: dict | None, io: dict[str, Any], sz: Sizes) -> None:
    """The *Details* lines of #1 … #3 (the footer is ``Run.print_footer``)."""
    if st:
        _details_start(st, sz)
    for key, r in (("engine EngineClient", io.get("reads engine")),
                   ("bare acp client", io.get("reads bare")),
                   ("raw JSON-RPC", io.get("reads raw"))):
        if r:
            print(f"  2. {key:<19} {r['n']} reads of {r['size']:,} chars: median "
                  f"{r['median_ms']:.3f} ms, p90 {r['p90_ms']:.3f}, p99 {r['p99_ms']:.3f}")
    if io.get("cpu"):
        _details_cpu(io, sz)
