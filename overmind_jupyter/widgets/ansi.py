"""Agent and process output made safe for snapshots: escape sequences and control
characters removed (notes/security.md: agent output is rendered as text, ANSI stripped)."""

from __future__ import annotations

import re

# CSI / OSC / two-byte escapes and other control characters (tab and newline stay)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]"
                   r"|[\x00-\x08\x0b-\x1f\x7f]")


def strip_ansi(text: str) -> str:
    """``text`` without escape sequences or control characters (but tab and newline)."""
    return _ANSI.sub("", text)
