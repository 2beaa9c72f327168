"""What a proposed resolution must pass: no conflict markers, and it parses for its type."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overmind_jupyter.workspace.validate import marker_lines, validation_problem

pytestmark = pytest.mark.timeout(60)


def _notebook(source: str | list[str], **cell: object) -> str:
    code = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {},
            "outputs": [], "source": source, **cell}
    return json.dumps({"cells": [code], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.parametrize(("path", "text"), [
    ("a.py", "def f(x):\n    return x\n"),
    ("a.json", '{"a": [1, 2]}'),
    ("pyproject.toml", "[project]\nname = 'x'\n"),
    ("nb.ipynb", _notebook("x = 1\n")),
    ("README.md", "a\n==========\nunderlines longer than markers are fine\n"),
    ("data.bin", "anything goes ==== here"),
])
def test_valid_files_pass(path: str, text: str) -> None:
    assert validation_problem(path, text) is None


@pytest.mark.parametrize(("path", "text", "problem"), [
    ("a.py", "x = (1,\n", "does not parse: SyntaxError"),
    ("a.json", "{'a': 1}", "does not parse: JSONDecodeError"),
    ("a.toml", "name = \n", "does not parse: TOMLDecodeError"),
    ("nb.ipynb", "[]", "does not parse: ValueError: a notebook is a JSON object"),
    ("nb.ipynb", _notebook("x", outputs="nope"), "does not parse: ValidationError"),
    ("nb.ipynb", "{", "does not parse: JSONDecodeError"),
    ("a.txt", "a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> feat\n",
     "conflict markers left (lines 2, 4, 6)"),
    ("a.py", "x = 1\n||||||| base\n", "conflict markers left (lines 2)"),
    ("nb.ipynb", _notebook(["<<<<<<< local\n", "a\n", "=======\n", "b\n", ">>>>>>> remote"]),
     "conflict markers left (cell 1, lines 1, 3, 5)"),
    ("nb.ipynb", _notebook("x", metadata={"nbdime-conflicts": []}),
     "conflict markers left (nbdime-conflicts"),
])
def test_invalid_files_are_rejected_with_the_reason(path: str, text: str, problem: str) -> None:
    assert (validation_problem(path, text) or "").startswith(problem)


LINES = st.lists(st.text(alphabet="<=>| ab", max_size=10).filter(lambda s: s != "======="),
                 max_size=8).map(lambda lines: [s for s in lines if s[:1] not in "<|>"])


@given(lines=LINES, marker=st.sampled_from(["<<<<<<< HEAD", "=======", "||||||| base",
                                            ">>>>>>> feat"]), where=st.integers(0, 8))
def test_an_inserted_marker_line_is_found_where_it_is(lines: list[str], marker: str,
                                                      where: int) -> None:
    assert validation_problem("a.txt", "\n".join(lines)) is None
    where = min(where, len(lines))
    text = "\n".join([*lines[:where], marker, *lines[where:]])
    assert marker_lines(text) == [where + 1]
    assert validation_problem("a.txt", text) == f"conflict markers left (lines {where + 1})"
