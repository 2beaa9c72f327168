"""The human tier of the merge: how a host answers a conflict question with resolutions.

A change whose merge left conflicted files (no referee, or its proposal rejected) asks a
``conflict`` question. Besides ``retry`` and ``close``, the host answers with the merged
text of every conflicted file, in one of three forms:

- ``PATH: TEXT`` — one file: everything after the first ``": "`` (or ``":"`` and a
  newline) is the file's whole merged text, e.g. ``overmind answer Q "app.py: $(cat m.py)"``;
- a JSON object ``{"PATH": "TEXT", …}`` — any number of files;
- ``done`` — the host edited each conflicted file in the change's worktree until it holds
  the merged text, and Overmind takes it from there.

Each text passes the merge queue's checks (no conflict markers left, parses as its file
type: ``workspace.validate``) before the answer is accepted; a bad answer is refused with
what is wrong and the question stays open. The merge then lands at tier 3.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from ..workspace.validate import validation_problem

HOW = ("answer `retry` after fixing the target, `close`, `done` after editing each "
       "conflicted file in {worktree} to its merged text, or the merged text yourself: "
       "`PATH: TEXT` for one file or a JSON object {{\"PATH\": \"TEXT\", …}}")


def how_to_answer(worktree: str | None) -> str:
    """The sentence a conflict question ends with (``worktree``: the change's, if any)."""
    return HOW.format(worktree=worktree or "the change's worktree")


def parse(text: str, conflicted: Sequence[str], worktree: str | None) -> dict[str, str]:
    """The resolutions an answer gives: ``{path: merged text}`` for every conflicted path.

    Raises:
        UsageError: the answer is in none of the forms, names a path that is not
            conflicted, leaves one out, or a text fails validation (all problems named).
    """
    found = _read(text, worktree, conflicted)
    unknown = sorted(set(found) - set(conflicted))
    missing = [p for p in conflicted if p not in found]
    problems = [f"{p} is not conflicted" for p in unknown] + \
        [f"no resolution for {p}" for p in missing]
    problems += [f"{p}: {why}" for p, t in found.items() if p in conflicted
                 and (why := validation_problem(p, t)) is not None]
    if problems:
        raise UsageError(f"resolution refused ({'; '.join(problems)}); conflicted: "
                         f"{', '.join(conflicted)}; {how_to_answer(worktree)}")
    return found


def _read(text: str, worktree: str | None, conflicted: Sequence[str]) -> dict[str, str]:
    if text.strip() == "done":
        return _from_worktree(worktree, conflicted)
    if text.lstrip().startswith("{"):
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"the resolutions are not valid JSON: {exc}") from None
        if not isinstance(found, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in found.items()):
            raise UsageError('give resolutions as a JSON object {"PATH": "TEXT", …}')
        return found
    path, sep, body = text.partition(":")
    if not sep or not path.strip() or "\n" in path:
        raise UsageError(f"not an answer this question takes; {how_to_answer(worktree)}")
    return {path.strip(): body[1:] if body[:1] in (" ", "\n") else body}


def _from_worktree(worktree: str | None, conflicted: Sequence[str]) -> dict[str, str]:
    if not worktree or not Path(worktree).is_dir():
        raise UsageError("the change has no worktree any more; answer with the merged text "
                         "(`PATH: TEXT` or a JSON object)")
    root = Path(worktree).resolve()
    found = {}
    for path in conflicted:
        file = (root / path).resolve()
        if file.is_relative_to(root) and file.is_file():
            found[path] = file.read_text("utf-8", "replace")
    return found
