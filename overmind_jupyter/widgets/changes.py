"""The review widgets: ``%overmind diff ID`` and ``%overmind changes``.

``DiffView`` (view ``diff``, trait ``change``) shows one change: its panel (state,
verification, merge / close / reopen / request changes) above its diff (file list with
counts, unified or side by side, notebooks cell by cell), from
``labextension/src/components/diff.ts`` and ``changes.ts``. ``ChangeList`` (view
``changes``, trait ``objective``) lists the changes live; a row opens the same review.
Snapshots: the diffstat and unified diff text; the table of ``overmind changes``.
"""

from __future__ import annotations

from typing import Any

from traitlets import Unicode

from .. import commands
from ..api import EngineAPI
from .ansi import strip_ansi
from .base import OvermindWidget, Shown


class DiffView(OvermindWidget):
    """``%overmind diff ID``: one change's review (panel + diff). ``change``: its id."""

    view = Unicode("diff").tag(sync=True)
    change = Unicode("").tag(sync=True)


class ChangeList(OvermindWidget):
    """``%overmind changes``: every change (of ``objective``, if set), live; a row opens
    its review below the table."""

    view = Unicode("changes").tag(sync=True)
    objective = Unicode("").tag(sync=True)


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
    text = await api.diff(change["id"])
    head = (f"change {change['id']} [{change['state']}] {change['title']}\n"
            f"{change['branch']} → {change['target']}\n")
    snapshot = head + diffstat(change.get("stat") or []) + "\n" + (text or "(no differences)\n")
    return DiffView, {"change": change["id"], "title": change["title"],
                      "snapshot_text": strip_ansi(snapshot)}


async def changes_widget(api: EngineAPI, args: Any
                         ) -> Shown:
    """The live list of ``changes [--objective REF]``."""
    result = await commands.execute(api, args, None)
    return ChangeList, {"objective": args.objective or "", "snapshot_text": result.text,
                        "snapshot_html": result.html}
