"""The scope extractor: which files an objective will likely touch, and how hard it looks.

Context for the model: the tracked files (``repo_index.outline``), the candidate files a
search of the repository ranks first for the objective's words (``repo_index.find``: rare
words weigh most, so ``jira`` finds ``tabulate/__init__.py``), and their best lines
(``path:line: text``). Its answer is checked against the tree:

- a path that is tracked, or a directory (``"dir/"``) holding tracked files, is kept;
- a path that does not exist is kept only when the model marks it ``new`` *and* its parent
  directory exists in the tree (the root counts): files the objective creates live next
  to existing ones. Such paths are listed in ``Scope.new_files``;
- anything else (invented paths, unsafe paths: absolute, ``..``, ``.git``) is dropped, with
  a note; the result is capped at ``MAX_FILES`` paths.

The scope is then grounded in the repository, not in the model's recall alone: paths the
objective names come first, then the search's best candidates (those the model chose,
then those it left out, each noted), then the model's other files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath
from typing import Literal

import pydantic

from ..llm.contract import ChatModel
from . import repo_index
from .repo_index import RepoIndex, clean_path
from .structured import Spent, ask, clip

MAX_FILES = 15
Complexity = Literal["low", "medium", "high"]

SYSTEM = """You estimate the scope of a coding objective in a git repository.
Given the objective, the project story, the tracked files and search hits, list the files
(at most 15, most important first) that the work will most likely change or create, and
rate the complexity: low (one small edit), medium (a few files, some design), high (many
files or deep changes). Use only paths from the file list, except files the objective
creates: mark those new=true."""


class _FileAnswer(pydantic.BaseModel):
    path: str = pydantic.Field(min_length=1, max_length=300)
    new: bool = False


class _ScopeAnswer(pydantic.BaseModel):
    files: list[_FileAnswer] = pydantic.Field(max_length=50)
    complexity: Complexity
    rationale: str = pydantic.Field(max_length=2_000)


@dataclasses.dataclass(frozen=True, slots=True)
class Scope:
    """Files an objective will likely touch.

    Attributes:
        files: ≤ ``MAX_FILES`` repo-relative POSIX paths (``"dir/"`` for a directory).
        complexity: "low" | "medium" | "high".
        rationale: the model's reason, one short paragraph.
        new_files: the paths of ``files`` that do not exist yet.
        notes: what was dropped or capped, human-readable.
        spent: tokens and cost of the model calls.
    """

    files: tuple[str, ...]
    complexity: Complexity
    rationale: str
    new_files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    spent: Spent = dataclasses.field(default_factory=Spent)


async def extract(model: ChatModel, repo: Path, objective_text: str, story: str) -> Scope:
    """The ``Scope`` of ``objective_text`` in the git work tree ``repo``.

    Raises:
        PlanningError: the model gave no valid answer.
        ProviderError: the provider failed.
        GitError: ``repo`` is not a git work tree.
    """
    tree = await repo_index.index(repo)
    found = await repo_index.find(repo, tree.files, repo_index.keywords(objective_text))
    named = repo_index.mentioned(objective_text, tree)
    candidates = list(dict.fromkeys([*named, *found.candidates()]))
    answer = await ask(model, SYSTEM, _request(objective_text, story, tree, found.hits,
                                               candidates), _ScopeAnswer)
    files, new, notes = _check_files(answer.value.files, tree)
    files, notes = ground(files, named, found, notes)
    return Scope(tuple(files), answer.value.complexity, clip(answer.value.rationale, 1_000),
                 tuple(p for p in new if p in files), tuple(notes), answer.spent)


def _request(objective: str, story: str, tree: RepoIndex, hits: list[repo_index.Hit],
             candidates: list[str]) -> str:
    lines = "\n".join(str(h) for h in hits) or "(no matches)"
    return (f"Objective:\n{objective.strip()}\n\nProject story:\n{story.strip() or '(none)'}"
            f"\n\nTracked files:\n{repo_index.outline(tree.files) or '(empty repository)'}"
            f"\n\nCandidate files (a search of the repository for the objective's words, "
            f"best first):\n{chr(10).join(candidates) or '(none)'}"
            f"\n\nSearch hits (path:line: text):\n{lines}")


def ground(files: list[str], named: list[str], found: repo_index.Found, notes: list[str],
           limit: int = MAX_FILES) -> tuple[list[str], list[str]]:
    """The model's checked ``files`` grounded in the repository (order in the module
    docstring), at most ``limit``; ``notes`` grows by a line per path added or cut.

    Returns:
        ``(files, notes)``.
    """
    best = found.candidates(limit=3)
    notes = list(notes)
    out: list[str] = []
    for path in named:
        _add(out, path, files, notes, "the objective names it")
    for path in files:
        if path in best:
            _add(out, path, files, notes, "")
    for path in best:
        _add(out, path, files, notes, "a search for the objective's words ranks it first")
    for path in files:
        _add(out, path, files, notes, "")
    if len(out) > limit:
        notes.append(f"kept the first {limit} of {len(out)} files")
    return out[:limit], notes


def _add(out: list[str], path: str, answered: list[str], notes: list[str], why: str) -> None:
    if path in out:
        return
    out.append(path)
    if why and path not in answered:
        notes.append(f"added {path}: {why}")


def _check_files(answered: list[_FileAnswer], tree: RepoIndex
                ) -> tuple[list[str], list[str], list[str]]:
    """The model's paths checked against ``tree`` (rules in the module docstring).

    Returns:
        ``(files, new_files, notes)``.
    """
    files: list[str] = []
    new: list[str] = []
    notes: list[str] = []
    for item in answered:
        path = clean_path(item.path)
        verdict = _verdict(path, item.new, tree)
        if path is None:
            notes.append(f"dropped {item.path!r}: not a path inside the repository")
        elif verdict is None:
            notes.append(f"dropped {item.path!r}: not in the repository (a new file must be "
                         "marked new and go in an existing directory)")
        elif path not in files:
            files.append(path)
            if verdict == "new":
                new.append(path)
    return files, new, notes


def _verdict(path: str | None, new: bool, tree: RepoIndex) -> str | None:
    """What to do with a cleaned path: keep it as ``tracked`` or ``new``, or drop it (None)."""
    if path is None:
        return None
    if tree.has(path):
        return "tracked"
    parent = str(PurePosixPath(path.rstrip("/")).parent)
    if new and not path.endswith("/") and (parent if parent != "." else "") in tree.dirs:
        return "new"
    return None


__all__ = ["MAX_FILES", "SYSTEM", "Complexity", "Scope", "extract", "ground"]
