"""Mission output → styled text runs (``labextension/src/ansi.ts``, run in Node): colours
survive as CSS classes, every other escape and control character is dropped, and escapes
cut between two chunks are still understood."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)
LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


def runs(tmp_path: Path, *cases: list[str]) -> list[list[tuple[str, str]]]:
    subprocess.run(["node", "scripts/build-widgets.mjs", "--tests"], cwd=LABEXTENSION,
                   check=True, timeout=60)
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(list(cases)))
    done = subprocess.run(["node", str(LABEXTENSION / "test-build" / "ansi.mjs"), str(path)],
                          capture_output=True, text=True, check=True, timeout=30)
    return [[(r["text"], r["classes"]) for r in case] for case in json.loads(done.stdout)]


def test_colours_become_classes_and_other_escapes_vanish(tmp_path):
    plain, colours, hostile, split = runs(
        tmp_path,
        ["just <b>text</b> & more\n"],
        ["\x1b[1;31mbold red\x1b[0m then \x1b[92mbright green\x1b[39m plain\x1b[44m bg"],
        ["\x1b]0;window title\x07\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\"
         "\x1b[2J\x1b[Hclear\x07\x08\r\n\x1b[38;5;196mred256\x1b[0m\ttab"],
        ["abc\x1b[3", "2mgreen\x1b", "[0m done"])
    assert plain == [("just <b>text</b> & more\n", "")]  # text, never markup
    assert colours == [("bold red", "om-fg-1 om-bold"), (" then ", ""),
                       ("bright green", "om-fg-10"), (" plain", ""), (" bg", "om-bg-4")]
    assert "".join(t for t, _ in hostile) == "linkclear\nred256\ttab"
    assert all("\x1b" not in t and "evil" not in t for t, _ in hostile)
    assert split == [("abc", ""), ("green", "om-fg-2"), (" done", "")]
