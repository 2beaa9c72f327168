"""Checks a proposed conflict resolution must pass: no conflict markers left, and it parses.

Conflict markers are git's (``git help merge``, "HOW CONFLICTS ARE PRESENTED"): lines
starting with ``<<<<<<< ``, ``||||||| `` (diff3 style) or ``>>>>>>> ``, and the exact line
``=======``. In a notebook they are looked for in every cell's source too, because nbdime's
merge driver writes them there (inside JSON strings), and nbdime's ``nbdime-conflicts``
metadata key marks conflicts it could not show inline.

Parsed by file type: Python (``ast.parse``), JSON (``json.loads``), TOML (``tomllib``),
notebooks (``nbformat.reads`` + ``nbformat.validate``); other files are only checked for
markers.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from pathlib import PurePosixPath

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

_MARKER_PREFIXES = ("<<<<<<< ", "||||||| ", ">>>>>>> ")
_NBDIME_CONFLICTS = "nbdime-conflicts"


def marker_lines(text: str) -> list[int]:
    """1-based numbers of the lines of ``text`` that are git conflict markers."""
    return [n for n, line in enumerate(text.splitlines(), 1) if _is_marker(line)]


def _is_marker(line: str) -> bool:
    return line.rstrip("\r") == "=======" or line.startswith(_MARKER_PREFIXES)


def validation_problem(path: str, text: str) -> str | None:
    """Why ``text`` is not acceptable as the content of ``path`` (None when it is).

    Returns ``"conflict markers left (lines 3, 7)"`` or ``"does not parse: <detail>"``;
    the file type comes from ``path``'s suffix (``.py``, ``.json``, ``.toml``, ``.ipynb``).
    """
    lines = marker_lines(text)
    if lines:
        return f"conflict markers left (lines {_numbers(lines)})"
    suffix = PurePosixPath(path).suffix.lower()
    check = _PARSERS.get(suffix)
    if check is None:
        return None
    try:
        return check(text)
    except (SyntaxError, ValueError, TypeError, KeyError, AttributeError,
            nbformat.ValidationError) as exc:  # nbformat raises any of these on odd JSON
        return f"does not parse: {_first_line(exc)}"


def _numbers(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:5])
    return shown + (", …" if len(lines) > 5 else "")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _check_python(text: str) -> None:
    ast.parse(text)


def _check_json(text: str) -> None:
    json.loads(text)


def _check_toml(text: str) -> None:
    tomllib.loads(text)


def _check_notebook(text: str) -> str | None:
    if not isinstance(json.loads(text), dict):
        raise ValueError("a notebook is a JSON object")
    notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.get("cells", [])):
        lines = marker_lines(_source(cell.get("source", "")))
        if lines:
            return f"conflict markers left (cell {index + 1}, lines {_numbers(lines)})"
    if _NBDIME_CONFLICTS in _metadata_keys(notebook):
        return f"conflict markers left ({_NBDIME_CONFLICTS} in the notebook's metadata)"
    return None


def _source(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def _metadata_keys(notebook: dict) -> Iterable[str]:
    yield from notebook.get("metadata", {})
    for cell in notebook.get("cells", []):
        yield from cell.get("metadata", {})


_PARSERS = {".py": _check_python, ".pyi": _check_python, ".json": _check_json,
            ".toml": _check_toml, ".ipynb": _check_notebook}
