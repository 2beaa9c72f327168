"""The review widgets: ``%overmind diff ID`` and ``%overmind changes``.

``DiffView`` (view ``diff``, trait ``change``) shows one change: its panel (state,
verification, merge / close / reopen / request changes) above its diff (file list with
counts, unified or side by side, notebooks cell by cell), from
``labextension/src/components/diff.ts`` and ``changes.ts``. ``ChangeList`` (view
``changes``, trait ``objective``) lists the changes live; a row opens the same review.
Snapshots: the diffstat and unified diff text; the table of ``overmind changes``; both
taken again when a change's state or checks change.
"""

from __future__ import annotations

from typing import Any

from traitlets import Unicode

from ..api import EngineAPI
from ..events import Event
from .ansi import strip_ansi
from .base import OvermindWidget, Shown, Snapshot, command_snapshot

CHANGE_EVENTS = frozenset({"change-status", "verification", "change-checked"})


class DiffView(OvermindWidget):
    """``%overmind diff ID``: one change's review (panel + diff). ``change``: its id."""

    holds_input = True  # a review or an answer being typed survives the live pass

    view = Unicode("diff").tag(sync=True)
    change = Unicode("").tag(sync=True)

    async def capture(self, api: EngineAPI) -> Snapshot:
        """Head (id, state, title, branches), diffstat and unified diff, escapes stripped.

        Raises:
            NotFound: the change went away.
        """
        change = await api.change(self.change)
        text = await api.diff(change["id"])
        head = (f"change {change['id']} [{change['state']}] {change['title']}\n"
                f"{change['branch']} → {change['target']}\n")
        stat = diffstat(change.get("stat") or [])
        return Snapshot(strip_ansi(head + stat + "\n" + (text or "(no differences)\n")))

    def concerns(self, event: Event) -> bool:
        """Its change's state and checks."""
        return event["type"] in CHANGE_EVENTS and event["data"].get("change") == self.change


class ChangeList(OvermindWidget):
    """``%overmind changes``: every change (of ``objective``, if set), live; a row opens
    its review below the table."""

    holds_input = True  # a review or an answer being typed survives the live pass

    view = Unicode("changes").tag(sync=True)
    objective = Unicode("").tag(sync=True)

    async def capture(self, api: EngineAPI) -> Snapshot:
        """The table of ``changes [--objective REF]``.

        Raises:
            NotFound: no such objective.
        """
        argv = ["changes", *(["--objective", self.objective] if self.objective else [])]
        return await command_snapshot(api, argv)

    def concerns(self, event: Event) -> bool:
        """Every change's state and checks."""
        return event["type"] in CHANGE_EVENTS


def diffstat(stat: list[dict[str, Any]], width: int = 40) -> str:
    """``git diff --stat``-like text of a change's ``stat`` (``[{path, added, deleted,
    binary}]``): one line per file, ``+``/``-`` bars scaled to ``width`` characters."""
    if not stat:
        return " 0 files changed\n"
    most = max(s["added"] + s["deleted"] for s in stat) or 1
    name_width = min(max(len(s["path"]) for s in stat), 60)
    lines = []
    for s in stat:
        total = s["added"] + s["deleted"]
        scale = min(1.0, width / most)
        bar = "+" * round(s["added"] * scale) + "-" * round(s["deleted"] * scale)
        count = "Bin" if s.get("binary") else str(total)
        lines.append(f" {s['path'][:60]:<{name_width}} | {count:>4} {bar}")
    added, deleted = sum(s["added"] for s in stat), sum(s["deleted"] for s in stat)
    lines.append(f" {len(stat)} files changed, {added} insertions(+), {deleted} deletions(-)")
    return "\n".join(lines) + "\n"


async def diff_widget(api: EngineAPI, args: Any) -> Shown:
    """The review of ``diff ID`` (``diff ID --path P`` stays plain text).

    Raises:
        NotFound / AmbiguousReference: no or several changes match ``ID``.
    """
    if getattr(args, "path", None):
        return None
    change = await api.change(args.id)
    return DiffView, {"change": change["id"], "title": change["title"]}


async def changes_widget(api: EngineAPI, args: Any) -> Shown:
    """The live list of ``changes [--objective REF]``."""
    return ChangeList, {"objective": args.objective or ""}
