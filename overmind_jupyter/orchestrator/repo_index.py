"""The repository as the scope extractor sees it: tracked files and a keyword search.

``index`` lists the tracked files (``git ls-files``); ``search`` looks for the objective's
words in them, bounded so a huge repository stays cheap: at most ``MAX_READ_BYTES`` read in
all (files whose path matches a word first), ``MAX_FILE_BYTES`` per file, binaries (a NUL
byte in the first ``SNIFF_BYTES``) and anything that is not a regular file inside the
repository (symlinks, submodules) skipped, so no content from outside the repo reaches
the model. Matching is case-insensitive substring matching of words of ≥ 3 characters.

Files are ranked by tf·idf (Spärck Jones, 1972; Salton & Buckley, 1988): each word w of
the prompt that a file holds adds ``idf(w) · (1 + ln tf)``, ``idf(w) = ln((N + 1) / (df(w) +
0.5))`` over the N files read, df(w) of them holding w, tf its occurrences in the file
(capped at 100), three times that when w is in the path: a rare word of the prompt
(``jira``) outweighs the words every file has (``table``, ``test``).
``mentioned`` finds the paths a prompt names.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import re
import stat
from collections import Counter
from pathlib import Path, PurePosixPath

from ..workspace.git import git

MAX_READ_BYTES = 2_000_000
MAX_FILE_BYTES = 256_000
SNIFF_BYTES = 8_192
MAX_LINE_CHARS = 160
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_PATHLIKE = re.compile(r"[\w.\-]+(?:/[\w.\-]+)*\.[A-Za-z0-9]{1,8}\b|[\w.\-]+(?:/[\w.\-]+)+/?")
STOPWORDS = frozenset("""
a about add all also an and any are as at be been but by can change code could do does
each file files fix for from get has have how if in into is it its let make makes more
must need new not now of on one or our please should so some than that the their them
then there these this those to too up update use used using want was we were what when
where which while who why will with would you your
""".split())


@dataclasses.dataclass(frozen=True, slots=True)
class Hit:
    """One matching line: ``path`` (repo-relative), ``line`` (1-based), ``text`` (clipped)."""

    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


@dataclasses.dataclass(frozen=True, slots=True)
class RepoIndex:
    """The tracked ``files`` (sorted, POSIX, repo-relative) and every directory holding one
    (``dirs``; ``""`` is the root)."""

    files: tuple[str, ...]
    dirs: frozenset[str]

    def has(self, path: str) -> bool:
        """Whether ``path`` is a tracked file, or a directory (``"dir/"``) holding one."""
        return path.rstrip("/") in self.dirs if path.endswith("/") else path in self.files


async def index(repo: Path) -> RepoIndex:
    """The tracked files of the git work tree at ``repo``.

    Raises:
        GitError: ``repo`` is not a git work tree.
    """
    out = await git("ls-files", "-z", "--cached", cwd=repo)  # -z: names unquoted
    files = tuple(sorted({p for p in out.split("\0") if p}))
    dirs = {""}
    for path in files:
        dirs.update(str(p) for p in PurePosixPath(path).parents if str(p) != ".")
    return RepoIndex(files, frozenset(dirs))


def keywords(text: str, limit: int = 20) -> list[str]:
    """Distinct lower-case words of ``text`` worth searching for (≥ 3 chars, no stopwords,
    not from a path: ``mentioned`` takes those), in order of appearance, at most ``limit``."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(_PATHLIKE.sub(" ", text)):
        low = word.lower()
        if low not in STOPWORDS:
            seen.setdefault(low, None)
    return list(seen)[:limit]


def clean_path(path: str) -> str | None:
    """``path`` as a safe repo-relative POSIX path (``"dir/"`` kept for directories), or
    None when it is empty, absolute, climbs out (``..``) or points into ``.git``."""
    raw = path.strip().replace("\\", "/")
    pure = PurePosixPath(raw)
    if not raw or pure.is_absolute() or ".." in pure.parts or ".git" in pure.parts:
        return None
    clean = str(pure)
    if clean == ".":
        return None
    return clean + "/" if raw.endswith("/") else clean


def outline(files: tuple[str, ...], limit: int = 300) -> str:
    """The file list for a prompt: the first ``limit`` paths, then a per-directory count
    of the rest (``… 812 more files: src/ (700), docs/ (112)``)."""
    lines = list(files[:limit])
    rest = files[limit:]
    if rest:
        tops = Counter(p.split("/", 1)[0] + "/" if "/" in p else "./" for p in rest)
        lines.append(f"… {len(rest)} more files: "
                     + ", ".join(f"{d} ({n})" for d, n in tops.most_common(20)))
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    """What a search found: ``hits`` (the best files' matching lines, best first) and
    ``ranked`` (``(path, score)`` of every matching file, best first; score in idf units)."""

    hits: list[Hit]
    ranked: list[tuple[str, float]]

    def candidates(self, limit: int = 8, ratio: float = 0.5) -> list[str]:
        """The best paths: at most ``limit``, each scoring ≥ ``ratio`` × the best score."""
        if not self.ranked:
            return []
        best = self.ranked[0][1]
        return [p for p, score in self.ranked[:limit] if score >= ratio * best]


async def search(repo: Path, files: tuple[str, ...], words: list[str], *,
                 max_hits: int = 30, per_file: int = 3,
                 max_bytes: int = MAX_READ_BYTES) -> list[Hit]:
    """Lines of tracked text files containing any of ``words`` (case-insensitive), from
    the best-ranked files (see ``find``)."""
    found = await find(repo, files, words, max_hits=max_hits, per_file=per_file,
                       max_bytes=max_bytes)
    return found.hits


async def find(repo: Path, files: tuple[str, ...], words: list[str], *,
               max_hits: int = 30, per_file: int = 3,
               max_bytes: int = MAX_READ_BYTES) -> Found:
    """Files of ``files`` ranked for ``words`` (idf, module docstring) with their lines.

    The best files give up to ``per_file`` hits each, ``max_hits`` in all. At most
    ``max_bytes`` bytes are read (see the module docstring). Runs in a worker thread.
    """
    if not words:
        return Found([], [])
    return await asyncio.to_thread(_find, repo, files, [w.lower() for w in words],
                                   max_hits, per_file, max_bytes)


def _find(repo: Path, files: tuple[str, ...], words: list[str], max_hits: int,
          per_file: int, max_bytes: int) -> Found:
    root = repo.resolve()
    scanned: list[tuple[str, str, dict[str, int]]] = []
    budget = max_bytes
    for path in sorted(files, key=lambda p: -_matches(p.lower(), words)):
        if budget <= 0:
            break
        data = _read(root, path, min(budget, MAX_FILE_BYTES))
        if data is None:
            continue
        budget -= len(data)
        text = data.decode("utf-8", errors="replace")
        low = text.lower()
        counts = {w: min(low.count(w), 100) for w in words}
        scanned.append((path, text, {w: n for w, n in counts.items()
                                     if n or w in path.lower()}))
    idf = _idf(words, [found for _, _, found in scanned])
    ranked = sorted(((path, _score(path, found, idf), text) for path, text, found in scanned
                     if found), key=lambda r: (-r[1], r[0]))
    hits: list[Hit] = []
    for path, _, text in ranked:
        if len(hits) >= max_hits:
            break
        hits += _best_lines(path, text, idf, min(per_file, max_hits - len(hits)))
    return Found(hits, [(path, round(score, 3)) for path, score, _ in ranked])


def _idf(words: list[str], found: list[dict[str, int]]) -> dict[str, float]:
    n = len(found)
    return {w: math.log((n + 1) / (sum(w in f for f in found) + 0.5)) for w in words}


def _score(path: str, found: dict[str, int], idf: dict[str, float]) -> float:
    low = path.lower()
    return sum(max(idf[w], 0.0) * (1 + math.log(max(tf, 1))) * (3 if w in low else 1)
               for w, tf in found.items())


def mentioned(text: str, tree: RepoIndex) -> list[str]:
    """Paths ``text`` names that are tracked files or directories, in order of mention;
    a bare file name (``__init__.py``) counts when exactly one tracked file has it."""
    out: list[str] = []
    for token in _PATHLIKE.findall(text):
        path = clean_path(token.strip(".,;:'\"`()"))
        if path is None:
            continue
        if not tree.has(path) and "/" not in path:
            same = [f for f in tree.files if PurePosixPath(f).name == path]
            path = same[0] if len(same) == 1 else path
        if tree.has(path) and path not in out:
            out.append(path)
    return out


def _matches(text: str, words: list[str]) -> int:
    return sum(1 for w in words if w in text)


def _read(root: Path, path: str, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of a regular text file inside ``root``; None otherwise."""
    full = root / path
    try:
        if not full.resolve().is_relative_to(root):
            return None
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except (OSError, RuntimeError):
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        data = handle.read(limit)
    return None if b"\0" in data[:SNIFF_BYTES] else data


def _best_lines(path: str, text: str, idf: dict[str, float], count: int) -> list[Hit]:
    """The ``count`` lines of ``text`` holding the rarest words (by summed idf), in order."""
    scored = []
    for number, line in enumerate(text.splitlines(), 1):
        low = line.lower()
        score = sum(v for w, v in idf.items() if v > 0 and w in low)
        if score > 0:
            scored.append((score, number, line))
    best = sorted(sorted(scored, key=lambda r: (-r[0], r[1]))[:count], key=lambda r: r[1])
    return [Hit(path, number, line.strip()[:MAX_LINE_CHARS]) for _, number, line in best]


__all__ = ["MAX_READ_BYTES", "Found", "Hit", "RepoIndex", "clean_path", "find", "index",
           "keywords", "mentioned", "outline", "search"]
