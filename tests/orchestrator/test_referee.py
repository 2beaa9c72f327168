"""The referee (merge tier 2): a validated resolution with a confidence, or None."""

from __future__ import annotations

import dataclasses

import pytest
from planning_helpers import respond, run, scripted

from overmind_jupyter.orchestrator.referee import (
    MAX_INPUT_CHARS,
    ConflictedFile,
    Resolution,
    referee_for,
)

pytestmark = pytest.mark.timeout(60)

MARKED = "a = 1\n<<<<<<< ours\nb = 2\n=======\nb = 3\n>>>>>>> theirs\n"
CONFLICT = ConflictedFile("src/x.py", "a = 1\nb = 0\n", "a = 1\nb = 2\n", "a = 1\nb = 3\n",
                          MARKED)


@dataclasses.dataclass
class MergeQueueConflict:
    """The merge queue's own class: only the attribute names are shared."""

    path: str
    base: str
    ours: str
    theirs: str
    merged_with_markers: str


def test_a_resolution_with_its_confidence(tmp_path):
    model = scripted(tmp_path, respond({"resolution": "a = 1\nb = 5\n", "confidence": 0.8,
                                        "explanation": " Sum of both. "}, expect=MARKED))
    spent = []
    referee = referee_for(model, on_spent=spent.append)
    conflict = MergeQueueConflict(**dataclasses.asdict(CONFLICT))
    resolution = run(referee(conflict))
    assert resolution == Resolution("a = 1\nb = 5\n", 0.8, "Sum of both.")
    assert "File: src/x.py" in model.calls[0][0][-1].content
    assert [s.calls for s in spent] == [1]


def test_out_of_range_confidence_and_leftover_markers_are_rejected_then_retried(tmp_path):
    model = scripted(tmp_path,
                     respond({"resolution": "b = 5\n", "confidence": 85, "explanation": ""}),
                     respond({"resolution": "b = 5\n", "confidence": 0.85},
                             expect="less than or equal to 1"))
    assert run(referee_for(model)(CONFLICT)) == Resolution("b = 5\n", 0.85, "")
    model = scripted(tmp_path, respond({"resolution": MARKED, "confidence": 0.9}),
                     respond({"resolution": MARKED, "confidence": 0.9}, expect="markers"))
    assert run(referee_for(model)(CONFLICT)) is None


def test_a_markdown_heading_is_not_a_conflict_marker(tmp_path):
    text = "Title\n=======\n\nBody\n"
    model = scripted(tmp_path, respond({"resolution": text, "confidence": 1}))
    assert run(referee_for(model)(CONFLICT)).text == text


def test_provider_errors_leave_the_file_to_a_human(tmp_path):
    model = scripted(tmp_path, {"error": {"kind": "server", "message": "HTTP 503"}})
    assert run(referee_for(model)(CONFLICT)) is None


def test_a_file_too_large_is_not_sent(tmp_path):
    model = scripted(tmp_path)
    huge = dataclasses.replace(CONFLICT, ours="x" * MAX_INPUT_CHARS)
    assert run(referee_for(model)(huge)) is None
    assert model.calls == []
