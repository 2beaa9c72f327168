"""Loop guards stop a spinning agent before it spends (pure unit tests)."""

from __future__ import annotations

import pytest

from overmind_jupyter.agents.guards import LoopGuard, LoopLimits

pytestmark = pytest.mark.timeout(10)


def test_model_call_budget_is_checked_before_the_call():
    guard = LoopGuard(LoopLimits(max_model_calls=2))
    assert guard.before_model_call() is None
    assert guard.before_model_call() is None
    reason = guard.before_model_call()
    assert reason == "model-call budget reached (2 calls)"
    assert guard.model_calls == 2  # the refused call was not counted as made


def test_cost_budget_stops_before_spending_more():
    guard = LoopGuard(LoopLimits(max_cost_usd=0.01))
    assert guard.before_model_call() is None
    guard.add_cost(0.006)
    assert guard.before_model_call() is None
    guard.add_cost(0.006)
    assert guard.before_model_call() == "cost budget reached ($0.0120 of $0.0100)"


def test_token_budget_counts_input_and_output_even_without_prices():
    guard = LoopGuard(LoopLimits(max_tokens=500))
    assert guard.before_model_call() is None
    guard.add_cost(None, tokens=300)
    assert guard.before_model_call() is None
    guard.add_cost(None, tokens=300)
    assert guard.before_model_call() == "token budget reached (600 of 500 tokens)"


def test_unknown_prices_never_trip_the_cost_budget():
    guard = LoopGuard(LoopLimits(max_cost_usd=0.0001))
    for _ in range(5):
        assert guard.before_model_call() is None
        guard.add_cost(None)  # a model missing from the price table: no invented dollars


def test_the_same_error_in_a_row_trips_but_a_success_resets_it():
    guard = LoopGuard(LoopLimits(same_error_limit=3))
    boom = ("read_file", {"path": "x"}, False, "no such file")
    assert guard.after_tools([boom]) is None
    assert guard.after_tools([boom]) is None
    assert guard.after_tools([("list_dir", {}, True, "a b")]) is None  # resets the streak
    assert guard.after_tools([boom]) is None
    assert guard.after_tools([boom]) is None
    reason = guard.after_tools([boom])
    assert reason is not None and "the same error 3 times in a row" in reason


def test_repeating_the_same_successful_call_is_not_progress():
    guard = LoopGuard(LoopLimits(no_progress_turns=3, same_error_limit=99))
    same = ("read_file", {"path": "a.py"}, True, "text")
    assert guard.after_tools([same]) is None  # first time: new information
    assert guard.after_tools([same]) is None
    assert guard.after_tools([same]) is None
    assert guard.after_tools([same]) == "no progress for 3 turns"


def test_new_successful_calls_keep_the_loop_going():
    guard = LoopGuard(LoopLimits(no_progress_turns=2))
    for i in range(10):
        assert guard.after_tools([("read_file", {"path": f"f{i}.py"}, True, "ok")]) is None
