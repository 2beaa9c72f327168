"""The views' TypeScript side of the contract: ``labextension/src/api.gen.ts`` is what the
operation table generates now, and every REST call the views make names a route of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from overmind_jupyter import api
from overmind_jupyter.server import typescript

pytestmark = pytest.mark.timeout(30)

SRC = Path(__file__).resolve().parents[2] / "labextension" / "src"
CALL = re.compile(r"""['"](GET|POST)['"]\s*,\s*(?:`([^`]+)`|'([^']+)'|"([^"]+)")""")
SUFFIX = re.compile(r"(?<=[^/])\$\{[^}]*\}")  # `missions${query}`: an optional query string
SEGMENT = re.compile(r"\$\{[^}]*\}")  # `changes/${id}`: one path segment


def test_the_generated_typescript_is_current():
    assert typescript.TARGET.read_text() == typescript.source(), (
        "labextension/src/api.gen.ts is stale: python -m overmind_jupyter.server.typescript")


def calls() -> list[tuple[str, str, str]]:
    """(file, METHOD, path regex) of every literal REST call in the views."""
    found = []
    for path in SRC.rglob("*.ts"):
        if path.name == typescript.TARGET.name:
            continue
        for method, *literals in CALL.findall(path.read_text()):
            literal = SUFFIX.sub("", "".join(literals)).split("?")[0]
            parts = [re.escape(p) for p in SEGMENT.split(literal)]
            found.append((path.name, method, "[^/]+".join(parts)))
    return found


def test_every_rest_call_of_the_views_is_an_operation_of_the_table():
    found = calls()
    assert len(found) >= 10
    routes = [(op.method, op.path.replace("{ref}", "x")) for op in api.OPERATIONS]
    unknown = [(f, m, p) for f, m, p in found
               if not any(m == method and re.fullmatch(p, path) for method, path in routes)]
    assert unknown == []
