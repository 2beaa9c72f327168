"""Unified diffs as data: ``git diff`` output split into files and hunks for the views.

The format is git's "combined" unified diff (``git help diff``, section "Generating
patch text with -p"): each file starts with ``diff --git``, extended header lines
(``new file mode``, ``deleted file mode``, ``rename from``, ``Binary files … differ``)
follow, then hunks ``@@ -a,b +c,d @@ context`` of lines tagged ``' '``, ``'+'``, ``'-'``.
Paths are not read from these headers (git quotes unusual names there); callers pair the
blocks with the ``-z`` path list of the same diff, which comes in the same order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_LINES = 4000  # diff lines kept per file (the rest is cut, ``truncated`` set)
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")


@dataclass
class Hunk:
    """One hunk: its start lines and lengths (1-based, as in the ``@@`` header), the
    function context git printed, and its lines as ``[kind, text]`` (kind ``' '``, ``'+'``
    or ``'-'``; text without the newline)."""

    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str
    lines: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: the fields above."""
        return {"old_start": self.old_start, "old_lines": self.old_lines,
                "new_start": self.new_start, "new_lines": self.new_lines,
                "header": self.header, "lines": self.lines}


@dataclass
class FileBlock:
    """One file of a diff: line counts ``added`` / ``removed`` (0 for binary files),
    ``binary``, its hunks and whether lines were cut (``truncated``, past ``MAX_LINES``).
    Its status and paths come from the ``--name-status -z`` list (``filediff``)."""

    added: int = 0
    removed: int = 0
    binary: bool = False
    truncated: bool = False
    hunks: list[Hunk] = field(default_factory=list)
    kept: int = 0  # lines kept so far (for MAX_LINES)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: the fields above with hunks as dicts."""
        return {"added": self.added, "removed": self.removed,
                "binary": self.binary, "truncated": self.truncated,
                "hunks": [h.to_dict() for h in self.hunks]}


def parse(text: str) -> list[FileBlock]:
    """The file blocks of a unified diff printed by ``git diff`` (in its order)."""
    blocks: list[FileBlock] = []
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            blocks.append(FileBlock())
        elif blocks:
            _line(blocks[-1], line)
    return blocks


def _line(block: FileBlock, line: str) -> None:
    if not block.hunks or line.startswith("@@ "):
        _header(block, line)
        return
    kind = line[:1]
    if kind not in ("+", "-", " "):
        return  # a "No newline at end of file" marker, or the "" after the last newline
    if kind == "+":
        block.added += 1
    elif kind == "-":
        block.removed += 1
    if block.kept < MAX_LINES:
        block.hunks[-1].lines.append([kind, line[1:]])
        block.kept += 1
    else:
        block.truncated = True


def _header(block: FileBlock, line: str) -> None:
    found = _HUNK.match(line)
    if found:
        a, b, c, d, ctx = found.groups()
        block.hunks.append(Hunk(int(a), 1 if b is None else int(b), int(c),
                                1 if d is None else int(d), ctx))
        return
    if line.startswith("Binary files ") or line == "GIT binary patch":
        block.binary = True
