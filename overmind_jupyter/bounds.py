"""Bounded decoding of untrusted JSON and TOML: size, nesting and encoding limits.

Every request body, websocket frame and blueprint the engine accepts goes through here
first, so hostile input (a megabyte of ``[``, a lone surrogate, a NUL byte) ends as a
``UsageError`` (HTTP 400, CLI exit 2) that says which limit was crossed, never as a
``RecursionError`` or ``UnicodeEncodeError`` deep inside a handler (HTTP 500).

Limits (documented in README.md, "Limits"):

- ``MAX_DEPTH`` = 32 nested arrays/objects (tables) — far above any of our schemas.
- ``MAX_JSON_BYTES`` = 2 MiB per REST body or websocket frame (callers may pass less).
- ``MAX_TOML_BYTES`` = 1 MiB per blueprint.
- strings are valid Unicode without NUL: a lone surrogate (``"\\ud800"``) or ``"\\u0000"``
  is refused, since neither can reach SQLite, git or a process's argv intact.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_DEPTH = 32
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_TOML_BYTES = 1024 * 1024


def load_json(data: str | bytes, *, what: str = "request body",
              max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON ``data`` within the limits.

    Args:
        data: UTF-8 bytes or text.
        what: words for messages, e.g. ``"request body"``, ``"frame"``.
        max_bytes: size limit of ``data`` (bytes; text is measured as UTF-8 only when
            its length could exceed it).
        max_depth: nesting limit (arrays and objects).

    Raises:
        UsageError: too big, not UTF-8, not JSON, too deep, or a string that is not
            valid Unicode or contains NUL. The message names the limit.
    """
    _check_size(data, what, max_bytes)
    try:
        value = json.loads(data)
    except RecursionError:
        raise _too_deep(what, max_depth) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise UsageError(f"{what} is not JSON: {_short(exc)}") from None
    check_value(value, what=what, max_depth=max_depth)
    return value


def load_toml(text: str, *, what: str = "blueprint", max_bytes: int = MAX_TOML_BYTES,
              max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Decode TOML ``text`` within the limits (as ``load_json``).

    Raises:
        UsageError: too big or too deep, or a string that is not valid Unicode or has NUL.
        tomllib.TOMLDecodeError: a syntax error (callers word it for their format).
    """
    _check_size(text, what, max_bytes)
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise _too_deep(what, max_depth) from None
    check_value(doc, what=what, max_depth=max_depth)
    return doc


def check_value(value: Any, *, what: str, max_depth: int = MAX_DEPTH) -> None:
    """Check a decoded value's nesting and strings (iteratively: no recursion limit).

    Raises:
        UsageError: nested deeper than ``max_depth``, or a string (key or value) that
            is not valid Unicode or contains NUL.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, what)
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise _too_deep(what, max_depth)
            if isinstance(item, dict):
                stack.extend((k, depth) for k in item)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def _check_size(data: str | bytes, what: str, max_bytes: int) -> None:
    size = len(data)
    if isinstance(data, str) and size * 4 > max_bytes:
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise UsageError(f"{what} is {size:,} bytes; the limit is {max_bytes:,} bytes")


def _check_text(text: str, what: str) -> None:
    if "\x00" in text:
        raise UsageError(f"{what} has a NUL character (\\u0000) in a string; remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} has a string that is not valid Unicode (a lone "
                         "surrogate such as \\ud800); send UTF-8 text") from None


def _too_deep(what: str, max_depth: int) -> UsageError:
    return UsageError(f"{what} is nested too deeply; at most {max_depth} levels of "
                      "arrays/objects are accepted")


def _short(exc: Exception) -> str:
    return str(exc)[:200]
