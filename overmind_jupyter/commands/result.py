"""``Result``: what a command of the shared grammar produced (text, HTML, JSON, status)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any


@dataclasses.dataclass
class Result:
    """What a command produced.

    Attributes:
        text: plain-text rendering (CLI, notebooks without HTML).
        html: HTML rendering (escaped) or None to show ``text``.
        data: the JSON value for ``--json`` (or None).
        status: exit status (0 ok; ``wait`` gives the mission's).
        stream: chunks of text to print as they come (``logs -f``).
    """

    text: str = ""
    html: str | None = None
    data: Any = None
    status: int = 0
    stream: AsyncIterator[str] | None = None
