"""Code derived from the operation table is current (``labextension/src/api.gen.ts`` and
the derived methods of ``client.py``), and every REST call the views make names a route."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from overmind_jupyter import api
from overmind_jupyter.server import codegen

pytestmark = pytest.mark.timeout(30)

SRC = Path(__file__).resolve().parents[2] / "labextension" / "src"
CALL = re.compile(r"""['"](GET|POST)['"]\s*,\s*(?:`([^`]+)`|'([^']+)'|"([^"]+)")""")
SUFFIX = re.compile(r"(?<=[^/])\$\{[^}]*\}")  # `missions${query}`: an optional query string
SEGMENT = re.compile(r"\$\{[^}]*\}")  # `changes/${id}`: one path segment


STALE = "stale: regenerate with python -m overmind_jupyter.server.codegen"


def test_the_generated_typescript_is_current():
    assert codegen.TARGET.read_text() == codegen.source(), f"api.gen.ts is {STALE}"


def test_the_generated_event_fields_are_current():
    assert codegen.EVENTS_TS.read_text() == codegen.events_source(), \
        f"events.gen.ts is {STALE}"


def test_the_clients_derived_methods_are_current():
    text = codegen.CLIENT.read_text()
    assert codegen.client_source(text) == text, f"client.py's derived methods are {STALE}"


def calls() -> list[tuple[str, str, str]]:
    """(file, METHOD, path regex) of every literal REST call in the views."""
    found = []
    for path in SRC.rglob("*.ts"):
        if path.name in (codegen.TARGET.name, codegen.EVENTS_TS.name):
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
