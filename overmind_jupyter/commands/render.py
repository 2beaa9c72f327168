"""Tables and detail views of command results, as plain text and as safe HTML.

Everything shown comes from missions' own output or users' input, so HTML is always
escaped; nothing here produces live markup from data.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

from ..model import MissionStatus

PS_COLUMNS = ("ID", "NAME", "KIND", "STATUS", "PID", "RESTARTS", "AGE", "COMMAND")


def table_text(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, header first."""
    widths = [max(len(str(c)), *(len(str(r[i])) for r in rows)) if rows else len(c)
              for i, c in enumerate(columns)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
             for row in (columns, *rows)]
    return "\n".join(lines) + "\n"


def table_html(columns: Sequence[str], rows: Sequence[Sequence[str]],
               css_class: str = "overmind-table") -> str:
    """An HTML ``<table>`` with every cell escaped."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def age(seconds: float) -> str:
    """Compact duration: ``42s``, ``7m``, ``3h``, ``2d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{max(0, int(seconds))}s"


def ps_rows(missions: Sequence[dict[str, Any]], tree: bool = False,
            now: float | None = None) -> list[list[str]]:
    """Rows of ``PS_COLUMNS`` from missions in the ``mission_to_dict`` JSON shape; with
    ``tree`` children follow parents, names indented."""
    now = now or time.time()
    ordered = _tree_order(missions) if tree else [(m, "") for m in missions]
    return [[m["id"][:8], prefix + m["name"], m["kind"], _status(m),
             str(m["pid"]) if m["pid"] and m["status"] in LIVE else "-", str(m["restarts"]),
             age(now - (m["started_at"] or m["created_at"])),
             _clip(" ".join(m["command"]), 48)] for m, prefix in ordered]


LIVE = frozenset(s.value for s in MissionStatus if s.live)


def _status(m: dict[str, Any]) -> str:
    exit_ = m["exit"]
    if m["status"] == "killed" and exit_ and exit_.get("stopped"):
        m = {**m, "status": "stopped"}  # a user's stop, whatever the process did then
    if m["status"] in TERMINAL | {"stopped"} and exit_:
        if exit_.get("signal"):
            return f"{m['status']} (sig {exit_['signal']})"
        if exit_.get("returncode") is not None:
            return f"{m['status']} ({exit_['returncode']})"
    return m["status"]


TERMINAL = frozenset(s.value for s in MissionStatus if s.terminal)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _tree_order(missions: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    ids = {m["id"] for m in missions}
    kids: dict[str | None, list[dict[str, Any]]] = {}
    for m in missions:
        kids.setdefault(m["parent"] if m["parent"] in ids else None, []).append(m)
    out: list[tuple[dict[str, Any], str]] = []

    def walk(parent: str | None, indent: str) -> None:
        children = kids.get(parent, [])
        for i, m in enumerate(children):
            last = i == len(children) - 1
            out.append((m, indent + ("" if parent is None else ("└─ " if last else "├─ "))))
            walk(m["id"], indent + ("" if parent is None else ("   " if last else "│  ")))
    walk(None, "")
    return out


def info_pairs(data: dict[str, Any]) -> list[tuple[str, str]]:
    """``Engine.info`` result as (field, value) pairs in a readable order."""
    exit_ = data.get("exit") or {}
    pairs = [("id", data["id"]), ("name", data["name"]), ("kind", data["kind"]),
             ("status", data["status"]), ("command", " ".join(data["command"])),
             ("cwd", data["cwd"]), ("parent", data.get("parent") or "-"),
             ("pid", str(data.get("pid") or "-")), ("restarts", str(data["restarts"])),
             ("restart policy", _policy(data["restart"])),
             ("activity timeout", f"{data['activity_timeout_s']} s"
              if data.get("activity_timeout_s") else "-"),
             ("exit", exit_.get("reason") or "-"), ("log", data["log_path"]),
             ("children", ", ".join(c[:8] for c in data.get("children", [])) or "-"),
             ("last line", data.get("last_line") or "-")]
    if "rss_bytes" in data:
        pairs.append(("memory", f"{data['rss_bytes'] / 2**20:.1f} MiB"))
        pairs.append(("cpu", f"{data.get('cpu_percent', 0):.0f} %"))
    return pairs


def _policy(r: dict[str, Any]) -> str:
    if r["mode"] == "never":
        return "never"
    return (f"{r['mode']}, max {r['max_restarts']} in {r['window_s']:g} s, "
            f"backoff {r['backoff_ms']} ms")
