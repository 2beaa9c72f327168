"""Reading a Chromium trace for ``tree_bench.py``: the page's main-thread tasks, and what
the long ones spent their time on.

Trace format: Chrome's Trace Event Format (complete events ``ph: "X"`` with ``ts`` and
``dur`` in µs; ``thread_name`` metadata). The tree's profile entries
(``treeprofile.ts``: ``at`` and ``ms`` on the page's ``performance.now()`` clock) are
placed on the trace's clock through the mark ``om-tree-bench-sync``, which is in both.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

SYNC_MARK = "om-tree-bench-sync"


@dataclasses.dataclass
class Thread:
    """The renderer main thread of the page: its top-level tasks (``RunTask``) and every
    complete event on it, both sorted by ``ts``; ``sync_us``: the sync mark's ``ts``."""

    tasks: list[dict]
    events: list[dict]
    sync_us: float | None


def main_thread(trace: list[dict]) -> Thread:
    """The busiest ``CrRendererMain`` thread of ``trace`` (the page's; others are idle)."""
    mains = {(e["pid"], e["tid"]) for e in trace
             if e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    by_thread: dict[tuple[int, int], list[dict]] = {}
    for e in trace:
        if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in mains:
            by_thread.setdefault((e["pid"], e["tid"]), []).append(e)
    events = max(by_thread.values(), key=len) if by_thread else []
    events.sort(key=lambda e: e["ts"])
    sync = next((e["ts"] for e in trace if e.get("name") == SYNC_MARK), None)
    return Thread([e for e in events if e["name"] == "RunTask"], events, sync)


def _label(e: dict) -> str:
    """An event's name with what tells it apart: a script's URL and function, an event
    type."""
    data = (e.get("args") or {}).get("data") or {}
    url = str(data.get("url") or "").rsplit("/", 1)[-1][:40]
    extra = " ".join(x for x in (url, str(data.get("functionName") or "")[:30],
                                 str(data.get("type") or "")) if x)
    return f"{e['name']}({extra})" if extra else e["name"]


def _self_times(thread: Thread, task: dict) -> Counter[str]:
    """ms of ``task`` spent in each label, by self time (an event's duration minus its
    children's), so wrappers (``RunTask``, ``v8.callFunction`` …) give way to what ran."""
    end = task["ts"] + task.get("dur", 0)
    inside = sorted((e for e in thread.events if task["ts"] <= e["ts"] < end),
                    key=lambda e: (e["ts"], -e.get("dur", 0)))
    out, stack = Counter[str](), []  # stack: [event, its children's µs]
    for e in inside:
        while stack and e["ts"] >= stack[-1][0]["ts"] + stack[-1][0].get("dur", 0):
            _close(stack, out)
        if stack:
            stack[-1][1] += e.get("dur", 0)
        stack.append([e, 0])
    while stack:
        _close(stack, out)
    return out


def _close(stack: list, out: Counter[str]) -> None:
    event, children = stack.pop()
    out[_label(event)] += max(0, event.get("dur", 0) - children) / 1000


def _ours(task: dict, profile: list[dict[str, Any]], offset_ms: float) -> float:
    """ms of the tree's profile entries whose time falls inside ``task``."""
    start, end = task["ts"] / 1000, (task["ts"] + task.get("dur", 0)) / 1000
    return sum(e["ms"] for e in profile if start <= e["at"] + offset_ms <= end)


def render_tasks(thread: Thread, profile: list[dict[str, Any]], sync_ms: float) -> list[float]:
    """Durations (ms) of the main-thread tasks in which the tree rendered: its frames,
    with the style, layout, paint and compositing the browser did for them (and whatever
    else ran in the same frame task)."""
    if thread.sync_us is None:
        return []
    offset = thread.sync_us / 1000 - sync_ms
    return [t.get("dur", 0) / 1000 for t in thread.tasks
            if _ours(t, [e for e in profile if e["kind"] == "render"], offset) > 0]


def attribute(thread: Thread, profile: list[dict[str, Any]], sync_ms: float,
              limit_ms: float) -> list[str]:
    """One line per main-thread task longer than ``limit_ms``: its duration, the tree's
    share (profile entries inside it) and the three labels it spent most self time in;
    then how often each label came first. ``sync_ms``: the sync mark's
    ``performance.now()``."""
    if thread.sync_us is None:
        return ["(the sync mark is not in the trace: no attribution)"]
    offset = thread.sync_us / 1000 - sync_ms
    lines, dominant = [], Counter[str]()
    for task in thread.tasks:
        ms = task.get("dur", 0) / 1000
        if ms <= limit_ms:
            continue
        top = _self_times(thread, task).most_common(3)
        dominant[top[0][0] if top else "(nothing traced)"] += 1
        parts = ", ".join(f"{label} {self_ms:.1f}" for label, self_ms in top)
        lines.append(f"{ms:7.1f} ms, tree {_ours(task, profile, offset):5.2f} ms: {parts}")
    if lines:
        lines.append("longest event in them: " + "; ".join(
            f"{label} ×{n}" for label, n in dominant.most_common(8)))
    return lines
