"""A notebook's change cell by cell (nbdime-style) instead of as JSON lines.

nbdime (``nbdime.diff_notebooks``) aligns the cells of the two versions; its diff of the
``cells`` list is a sequence of ops on base indices (``addrange`` / ``removerange`` /
``patch``, see nbdime's "diff format" documentation), in key order with an ``addrange``
before a ``removerange`` of the same key. Walking it gives every cell a status; the
source of a changed cell is diffed line by line with ``difflib`` for display.
"""

from __future__ import annotations

import difflib
from typing import Any

import nbdime
import nbformat

# what makes a cell "modified" (a new id or execution count alone does not)
_CONTENT = ("source", "outputs", "cell_type", "metadata", "attachments")


def cells_diff(base: str | None, head: str | None) -> dict[str, Any]:
    """The cell-by-cell change between two notebook texts (None: the file is absent).

    Returns ``{"kind": "notebook", "cells": [cell], "metadata_changed": bool}`` where a
    cell is ``{status: added|removed|modified|unchanged, cell_type, base_index,
    head_index, lines: [[kind, text]], outputs_changed}`` (indices 0-based, None where the
    cell does not exist; ``lines`` as in ``hunks.Hunk``: the whole source for added and
    removed cells, a line diff for modified ones, empty for unchanged ones).

    Raises:
        ValueError: a text that is not a notebook (callers show a text diff instead).
    """
    old, new = _read(base), _read(head)
    ops = {d["key"]: d for d in nbdime.diff_notebooks(old, new)}
    cell_ops = ops["cells"]["diff"] if "cells" in ops else []
    cells = list(_walk(old["cells"], new["cells"], cell_ops))
    return {"kind": "notebook", "cells": cells, "metadata_changed": "metadata" in ops}


def _read(text: str | None) -> Any:
    if text is None:
        return nbformat.v4.new_notebook()
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises JSON, validation and key errors alike
        raise ValueError(f"not a notebook: {exc}") from exc


def _walk(old: list[Any], new: list[Any], ops: list[dict[str, Any]]):
    """Every cell in display order (head order, removed cells where they were)."""
    b = h = 0
    for op in ops:
        while b < op["key"]:
            yield _cell("unchanged", old[b], b, h)
            b, h = b + 1, h + 1
        if op["op"] == "addrange":
            for _ in op["valuelist"]:
                yield _cell("added", new[h], None, h)
                h += 1
        elif op["op"] == "removerange":
            for _ in range(op["length"]):
                yield _cell("removed", old[b], b, None)
                b += 1
        else:  # patch
            keys = {d["key"] for d in op["diff"]}
            changed = any(k in keys for k in _CONTENT)
            yield _cell("modified" if changed else "unchanged", new[h], b, h, old[b], keys)
            b, h = b + 1, h + 1
    while b < len(old):
        yield _cell("unchanged", old[b], b, h)
        b, h = b + 1, h + 1


def _cell(status: str, cell: Any, base_index: int | None, head_index: int | None,
          before: Any = None, keys: set[str] = frozenset()) -> dict[str, Any]:
    source = cell.get("source", "")
    if status == "added":
        lines = [["+", line] for line in source.splitlines()]
    elif status == "removed":
        lines = [["-", line] for line in source.splitlines()]
    elif status == "modified":
        lines = _line_diff(before.get("source", ""), source)
    else:
        lines = []
    return {"status": status, "cell_type": cell.get("cell_type", "code"),
            "base_index": base_index, "head_index": head_index, "lines": lines,
            "outputs_changed": "outputs" in keys or (
                status in ("added", "removed") and bool(cell.get("outputs"))),
            "summary": source.split("\n", 1)[0][:120]}


def _line_diff(before: str, after: str) -> list[list[str]]:
    """The whole source with each line tagged ``' '``, ``'-'`` or ``'+'`` (ndiff order)."""
    lines: list[list[str]] = []
    for entry in difflib.ndiff(before.splitlines(), after.splitlines()):
        if entry[:1] in (" ", "-", "+"):
            lines.append([entry[0], entry[2:]])
    return lines
