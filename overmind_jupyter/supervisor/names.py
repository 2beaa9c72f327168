"""Mission ids and human names (``brisk-otter``, ``brisk-otter-2`` when taken)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

_ADJECTIVES = """amber brisk calm deft eager fair glad hardy keen lively mellow nimble plucky
quiet rapid sly steady swift tidy vivid witty zesty bold crisp""".split()
_NOUNS = """otter falcon heron lynx marten osprey panda quokka raven robin salmon tapir badger
bison crane dingo ferret gecko ibis koala lemur moose newt wren""".split()
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def new_id() -> str:
    """A random 12-hex-digit mission id (48 bits)."""
    return secrets.token_hex(6)


def valid_name(name: str) -> bool:
    """Names: 1–63 chars of letters, digits, ``.``, ``_``, ``-``; not starting with a symbol."""
    return bool(_VALID.match(name))


def unique_name(base: str | None, taken: Callable[[str], bool]) -> str:
    """``base`` (or a generated ``adjective-noun``) made unique among live missions."""
    base = base or f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}"
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}-{n}"
    return name
