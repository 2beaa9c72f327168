"""A change's diff as data for the diff view: files with stats and hunks, notebooks by cell.

Same comparison as ``diff.full_diff`` (``base...head``: the head against the merge base
of the two). Text files come as parsed hunks (``hunks.py``); ``.ipynb`` files that parse
as notebooks on both sides come cell by cell (``nbcells.py``, nbdime's alignment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import diff, hunks, nbcells
from .git import git

_STATUS = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "C": "copied",
           "T": "modified"}


async def file_diffs(repo: Path, base: str, head: str) -> list[dict[str, Any]]:
    """Every file the change touched, in git's order.

    Returns a list of ``{path, old_path, status, added, removed, binary, truncated,
    kind: "text", hunks: [hunk]}`` (see ``hunks.FileBlock``; ``old_path`` set for renames
    and copies) or, for notebooks, ``{…, kind: "notebook", hunks: [], cells: [cell],
    metadata_changed}`` (see ``nbcells.cells_diff``); line counts are of the file's text.

    Raises:
        NotFound: ``base`` or ``head`` is not a commit of ``repo``.
    """
    blocks = hunks.parse(await diff.full_diff(repo, base, head))  # checks both refs
    names = await _name_status(repo, base, head)
    fork = (await git("merge-base", base, head, cwd=repo)).strip()
    files = []
    for (status, old_path, path), block in zip(names, blocks, strict=False):
        entry = {"path": path, "old_path": old_path, "kind": "text", **block.to_dict(),
                 "status": status}
        if path.endswith(".ipynb") and not block.binary:
            entry.update(await _notebook(repo, fork, head, old_path or path, path, status))
        files.append(entry)
    return files


async def _name_status(repo: Path, base: str, head: str) -> list[tuple[str, str | None, str]]:
    """``(status, old path or None, path)`` per file of ``git diff --name-status -z``."""
    out = await git("diff", "--name-status", "-z", "--find-renames", f"{base}...{head}",
                    cwd=repo)
    fields, found, i = out.split("\0"), [], 0
    while i < len(fields) and fields[i]:
        letter = fields[i][:1]
        if letter in ("R", "C"):  # "R096\0old\0new"
            found.append((_STATUS[letter], fields[i + 1], fields[i + 2]))
            i += 3
        else:
            found.append((_STATUS.get(letter, "modified"), None, fields[i + 1]))
            i += 2
    return found


async def _notebook(repo: Path, fork: str, head: str, old_path: str, path: str,
                    status: str) -> dict[str, Any]:
    """The notebook fields of an ``.ipynb`` entry ({} when a side is not a notebook)."""
    before = None if status == "added" else await _blob(repo, fork, old_path)
    after = None if status == "deleted" else await _blob(repo, head, path)
    try:
        return {**nbcells.cells_diff(before, after), "hunks": []}
    except ValueError:
        return {}


async def _blob(repo: Path, commit: str, path: str) -> str:
    return await git("cat-file", "blob", f"{commit}:{path}", cwd=repo)
