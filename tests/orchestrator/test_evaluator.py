"""The evaluator: done, re-plan with feedback, or hand over to a human; rounds are bounded."""

from __future__ import annotations

import pytest
from planning_helpers import respond, run, scripted

from overmind_jupyter.errors import UsageError
from overmind_jupyter.orchestrator.evaluator import TaskResult, Verdict, evaluate

pytestmark = pytest.mark.timeout(60)

RESULTS = [TaskResult("add-endpoint", "done", "Added GET /health.", ("src/api.py",)),
           TaskResult("tests", "failed", "test_health fails: 404.", ("tests/test_api.py",))]


def test_a_met_objective_is_done(tmp_path):
    model = scripted(tmp_path, respond({"done": True, "feedback": "All good.",
                                        "follow_up": True}, expect="test_health fails"))
    verdict = run(evaluate(model, "Add a /health endpoint", RESULTS, 1, 3))
    assert (verdict.done, verdict.feedback, verdict.follow_up) == (True, "All good.", False)
    request = model.calls[0][0][-1].content
    assert "task tests: failed" in request and "src/api.py" in request
    assert "Round 1 of at most 3" in request


def test_an_unmet_objective_asks_for_a_replan_with_feedback(tmp_path):
    model = scripted(tmp_path, respond({"done": False, "feedback": "Route not registered.",
                                        "follow_up": True}))
    verdict = run(evaluate(model, "Add a /health endpoint", RESULTS, 2, 3))
    assert verdict == Verdict(False, "Route not registered.", True, verdict.spent)
    assert verdict.spent.calls == 1


def test_at_the_last_round_no_replan_is_asked(tmp_path):
    model = scripted(tmp_path, respond({"done": False, "feedback": "Route not registered.",
                                        "follow_up": True}))
    verdict = run(evaluate(model, "Add a /health endpoint", RESULTS, 3, 3))
    assert (verdict.done, verdict.follow_up) == (False, False)
    assert verdict.feedback.startswith("Route not registered.")
    assert "round 3 of 3" in verdict.feedback and "a human must decide" in verdict.feedback


def test_rounds_below_one_are_refused(tmp_path):
    with pytest.raises(UsageError, match="≥ 1"):
        run(evaluate(scripted(tmp_path), "x", RESULTS, 0, 3))


def test_the_evaluator_reads_the_start_of_each_changes_diff(tmp_path):
    """A small real model rejected a task whose summary only said it added a test: it now
    sees the diff itself (the first DIFF_MAX_CHARS characters, the rest counted)."""
    from overmind_jupyter.orchestrator.evaluator import DIFF_MAX_CHARS
    diff = "+def test_bbcode():\n+    assert '[table]' in tabulate([[1]], tablefmt='bbcode')\n"
    long = diff + "+# filler\n" * 1_000
    results = [TaskResult("tests", "done", "Added a test.", ("test/test_output.py",), "c1",
                          long)]
    model = scripted(tmp_path, respond({"done": True}, expect="def test_bbcode"))
    run(evaluate(model, "Add a bbcode format with a test", results, 1, 2))
    request = model.calls[0][0][-1].content
    assert "```diff\n+def test_bbcode():" in request
    assert f"[… {len(long) - DIFF_MAX_CHARS} more characters]" in request
