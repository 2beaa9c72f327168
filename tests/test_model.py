"""Mission lifecycle and restart decisions (``overmind_jupyter.model``)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from overmind_jupyter.errors import InvalidTransition, OvermindError
from overmind_jupyter.model import (
    TERMINAL,
    TRANSITIONS,
    ExitCause,
    ExitInfo,
    GiveUp,
    MissionStatus,
    Restart,
    RestartMode,
    RestartPolicy,
    backoff_delay,
    backoff_exponent,
    check_transition,
    decide_restart,
)

pytestmark = pytest.mark.timeout(60)

S = MissionStatus
C = ExitCause

# The lifecycle graph, pinned: changing TRANSITIONS must be a deliberate edit of this table.
EXPECTED_EDGES = {
    S.PENDING: {S.SPAWNING, S.KILLED, S.FAILED},
    S.SPAWNING: {S.RUNNING, S.RESTARTING, S.FAILED, S.KILLED, S.LOST},
    S.RUNNING: {S.STOPPING, S.STALLED, S.RESTARTING, S.LOST, S.EXITED, S.FAILED, S.KILLED},
    S.STOPPING: {S.LOST, S.EXITED, S.FAILED, S.KILLED},
    S.STALLED: {S.RESTARTING, S.STOPPING, S.LOST, S.EXITED, S.FAILED, S.KILLED},
    S.RESTARTING: {S.SPAWNING, S.KILLED, S.FAILED},
    S.EXITED: set(),
    S.FAILED: set(),
    S.KILLED: set(),
    S.LOST: set(),
}

ALL_PAIRS = list(itertools.product(MissionStatus, MissionStatus))


# -- transition table -------------------------------------------------------------------
def test_transition_table_is_pinned() -> None:
    assert set(TRANSITIONS) == set(MissionStatus)
    assert {k: set(v) for k, v in TRANSITIONS.items()} == EXPECTED_EDGES


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS, ids=[f"{a.value}->{b.value}"
                                                        for a, b in ALL_PAIRS])
def test_check_transition_accepts_exactly_the_table(old: MissionStatus,
                                                    new: MissionStatus) -> None:
    if new in EXPECTED_EDGES[old]:
        check_transition(old, new)  # must not raise
    else:
        with pytest.raises(InvalidTransition) as info:
            check_transition(old, new)
        assert old.value in info.value.message and new.value in info.value.message
        assert ("terminal states are final" in info.value.message) == old.terminal


def test_terminal_states_have_no_exits() -> None:
    assert {S.EXITED, S.FAILED, S.KILLED, S.LOST} == TERMINAL
    for status in MissionStatus:
        assert status.terminal == (status in TERMINAL)
        if status.terminal:
            assert TRANSITIONS[status] == frozenset()
            for new in MissionStatus:
                with pytest.raises(InvalidTransition):
                    check_transition(status, new)
        else:
            assert TRANSITIONS[status], f"{status} is a dead end but not terminal"


def test_no_self_transitions() -> None:
    for status in MissionStatus:
        with pytest.raises(InvalidTransition):
            check_transition(status, status)


def test_every_non_terminal_mission_can_be_killed() -> None:
    for status in MissionStatus:
        if not status.terminal:
            check_transition(status, S.KILLED)


def test_every_state_is_reachable_from_pending_and_can_end() -> None:
    seen, frontier = {S.PENDING}, [S.PENDING]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(MissionStatus)
    can_end = set(TERMINAL)
    changed = True
    while changed:
        changed = False
        for status, nexts in TRANSITIONS.items():
            if status not in can_end and nexts & can_end:
                can_end.add(status)
                changed = True
    assert can_end == set(MissionStatus)


def test_live_states() -> None:
    assert {s for s in MissionStatus if s.live} == {S.SPAWNING, S.RUNNING, S.STOPPING,
                                                    S.STALLED}
    assert not any(s.live and s.terminal for s in MissionStatus)


def test_invalid_transition_is_an_http_409_overmind_error() -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition(S.KILLED, S.RUNNING)
    err = info.value
    assert isinstance(err, OvermindError)
    assert err.http_status == 409
    assert err.to_json() == {"message": "a mission cannot go from killed to running "
                                        "(terminal states are final)",
                             "reason": "invalid-transition"}


# -- exit info --------------------------------------------------------------------------
@pytest.mark.parametrize(("info", "code"), [
    (ExitInfo(returncode=0), 0),
    (ExitInfo(returncode=3), 3),
    (ExitInfo(signal=9), 137),
    (ExitInfo(signal=15), 143),
    (ExitInfo(), 1),
])
def test_exit_code_is_shell_style(info: ExitInfo, code: int) -> None:
    assert info.code == code


# -- backoff ----------------------------------------------------------------------------
@pytest.mark.parametrize(("k", "expected"), [
    (0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (6, 10.0), (40, 10.0),
    (10_000, 10.0),
])
def test_backoff_doubles_then_caps(k: int, expected: float) -> None:
    policy = RestartPolicy(backoff_ms=500, cap_s=10.0, jitter=0.0)
    for rand in (0.0, 0.5, 0.999):
        assert backoff_delay(policy, k, rand) == pytest.approx(expected)


def test_backoff_default_policy_schedule() -> None:
    policy = RestartPolicy(jitter=0.0)  # 1 s base, 60 s cap
    assert [backoff_delay(policy, k, 0.5) for k in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_backoff_jitter_extremes() -> None:
    policy = RestartPolicy(backoff_ms=1000, cap_s=60.0, jitter=0.1)
    assert backoff_delay(policy, 2, 0.0) == pytest.approx(3.6)  # 4 s − 10 %
    assert backoff_delay(policy, 2, 0.5) == pytest.approx(4.0)
    assert backoff_delay(policy, 2, 0.9999999) == pytest.approx(4.4)  # 4 s + 10 %
    # at the cap, jitter may only lower the delay
    assert backoff_delay(policy, 20, 0.9999999) == pytest.approx(60.0)
    assert backoff_delay(policy, 20, 0.0) == pytest.approx(54.0)


@given(backoff_ms=st.integers(0, 10**7), cap_s=st.floats(0.0, 3600.0),
       jitter=st.floats(0.0, 3.0), k=st.integers(0, 10**6),
       rand=st.floats(0.0, 1.0, exclude_max=True))
def test_backoff_stays_within_bounds(backoff_ms: int, cap_s: float, jitter: float, k: int,
                                     rand: float) -> None:
    policy = RestartPolicy(backoff_ms=backoff_ms, cap_s=cap_s, jitter=jitter)
    delay = backoff_delay(policy, k, rand)
    raw = min(cap_s, backoff_ms / 1000.0 * 2.0 ** min(k, 32))
    assert 0.0 <= delay <= cap_s
    assert max(0.0, raw * (1 - jitter)) - 1e-9 <= delay <= raw * (1 + jitter) + 1e-9


@given(k=st.integers(0, 64), rand=st.floats(0.0, 1.0, exclude_max=True))
def test_backoff_never_shrinks_as_k_grows_without_jitter(k: int, rand: float) -> None:
    policy = RestartPolicy(backoff_ms=100, cap_s=30.0, jitter=0.0)
    assert backoff_delay(policy, k, rand) <= backoff_delay(policy, k + 1, rand)


# -- restart decisions ------------------------------------------------------------------
R = "restart"
RESTART_MATRIX = {
    RestartMode.NEVER: {C.CLEAN: S.EXITED, C.ERROR: S.FAILED, C.SIGNAL: S.FAILED,
                        C.STALLED: S.FAILED, C.SPAWN_ERROR: S.FAILED, C.USER_STOP: S.KILLED},
    RestartMode.ON_FAILURE: {C.CLEAN: S.EXITED, C.ERROR: R, C.SIGNAL: R, C.STALLED: R,
                             C.SPAWN_ERROR: R, C.USER_STOP: S.KILLED},
    RestartMode.ALWAYS: {C.CLEAN: R, C.ERROR: R, C.SIGNAL: R, C.STALLED: R,
                         C.SPAWN_ERROR: R, C.USER_STOP: S.KILLED},
}
MATRIX_CASES = [(mode, cause, RESTART_MATRIX[mode][cause])
                for mode in RestartMode for cause in ExitCause]


@pytest.mark.parametrize(("mode", "cause", "expected"), MATRIX_CASES,
                         ids=[f"{m.value}-{c.value}" for m, c, _ in MATRIX_CASES])
def test_restart_matrix(mode: RestartMode, cause: ExitCause, expected) -> None:
    policy = RestartPolicy(mode=mode, backoff_ms=1000, cap_s=60.0, jitter=0.1)
    decision = decide_restart(policy, cause, [100.0, 200.0], now=1000.0, k=2, rand=0.25)
    if expected == R:
        assert decision == Restart(delay_s=backoff_delay(policy, 2, 0.25), attempt=3)
        assert decision.delay_s == pytest.approx(4.0 * 0.95)
    else:
        assert isinstance(decision, GiveUp)
        assert decision.status is expected
        assert "budget" not in decision.reason
        assert mode.value in decision.reason and cause.value in decision.reason


@pytest.mark.parametrize("mode", list(RestartMode))
def test_user_stop_is_killed_even_with_exhausted_budget(mode: RestartMode) -> None:
    policy = RestartPolicy(mode=mode, max_restarts=1, window_s=60.0)
    decision = decide_restart(policy, C.USER_STOP, [9.0, 9.5], now=10.0, k=0, rand=0.5)
    assert decision == GiveUp(S.KILLED, decision.reason)


def test_restart_budget_sliding_window() -> None:
    policy = RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=3, window_s=60.0, jitter=0.0)
    times = [0.0, 10.0, 20.0]
    exhausted = decide_restart(policy, C.ERROR, times, now=59.9, k=0, rand=0.5)
    assert isinstance(exhausted, GiveUp)
    assert exhausted.status is S.FAILED
    assert exhausted.reason == ("restart budget exhausted: 3 restarts within 60 s (max 3)")
    # the restart at t=0 leaves the window at t=60: one slot is free again
    again = decide_restart(policy, C.ERROR, times, now=60.0, k=0, rand=0.5)
    assert again == Restart(delay_s=1.0, attempt=4)


def test_zero_restart_budget_never_restarts() -> None:
    policy = RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=0)
    decision = decide_restart(policy, C.CLEAN, [], now=0.0, k=0, rand=0.5)
    assert isinstance(decision, GiveUp) and decision.status is S.FAILED
    assert "budget exhausted" in decision.reason


def test_first_restart_is_attempt_one() -> None:
    policy = RestartPolicy(mode=RestartMode.ON_FAILURE, jitter=0.0)
    assert decide_restart(policy, C.ERROR, [], now=5.0, k=0, rand=0.0) == Restart(1.0, 1)


@pytest.mark.parametrize(("k", "run_s", "expected"), [
    (0, 0.0, 0), (3, 9.99, 3), (3, 10.0, 0), (7, 10.01, 0), (7, 3600.0, 0),
])
def test_backoff_exponent_resets_after_a_stable_run(k: int, run_s: float,
                                                    expected: int) -> None:
    assert backoff_exponent(k, run_s, RestartPolicy(stable_s=10.0)) == expected


def test_unstable_runs_double_the_delay_until_a_stable_run_resets_it() -> None:
    """The supervisor's loop: reset k after a stable run, decide, then k += 1."""
    policy = RestartPolicy(mode=RestartMode.ALWAYS, max_restarts=100, backoff_ms=1000,
                           cap_s=60.0, stable_s=10.0, jitter=0.0)
    k, delays, times, now = 0, [], [], 0.0
    for run_s in (1.0, 1.0, 1.0, 1.0, 30.0, 1.0, 1.0):
        now += run_s
        k = backoff_exponent(k, run_s, policy)
        decision = decide_restart(policy, C.ERROR, times, now, k, 0.5)
        assert isinstance(decision, Restart)
        delays.append(decision.delay_s)
        times.append(now)
        now += decision.delay_s
        k += 1
    assert delays == [1.0, 2.0, 4.0, 8.0, 1.0, 2.0, 4.0]


# -- stateful: the restart budget -------------------------------------------------------
class RestartBudget(RuleBasedStateMachine):
    """One mission's runs end at random times with random causes; the model decides."""

    @initialize(mode=st.sampled_from(list(RestartMode)), max_restarts=st.integers(0, 4),
                window_s=st.floats(0.5, 60.0), backoff_ms=st.integers(0, 5000),
                cap_s=st.floats(0.0, 20.0), stable_s=st.floats(0.0, 30.0),
                jitter=st.floats(0.0, 1.5))
    def setup(self, mode, max_restarts, window_s, backoff_ms, cap_s, stable_s, jitter):
        self.policy = RestartPolicy(mode=mode, max_restarts=max_restarts, window_s=window_s,
                                    backoff_ms=backoff_ms, cap_s=cap_s, stable_s=stable_s,
                                    jitter=jitter)
        self.now = 0.0
        self.k = 0
        self.restart_times: list[float] = []
        self.delays: list[float] = []

    @rule(dt=st.floats(0.0, 90.0))
    def time_passes(self, dt: float) -> None:
        self.now += dt

    @rule(cause=st.sampled_from(list(ExitCause)), run_s=st.floats(0.0, 40.0),
          rand=st.floats(0.0, 1.0, exclude_max=True))
    def run_ends(self, cause: ExitCause, run_s: float, rand: float) -> None:
        self.now += run_s
        self.k = backoff_exponent(self.k, run_s, self.policy)
        before = list(self.restart_times)
        decision = decide_restart(self.policy, cause, before, self.now, self.k, rand)
        in_window = sum(1 for t in before if self.now - t < self.policy.window_s)
        mode_wants = cause is not C.USER_STOP and (
            self.policy.mode is RestartMode.ALWAYS
            or (self.policy.mode is RestartMode.ON_FAILURE and cause is not C.CLEAN))
        if isinstance(decision, Restart):
            assert mode_wants
            assert in_window < self.policy.max_restarts
            assert decision.attempt == len(before) + 1
            assert decision.delay_s == backoff_delay(self.policy, self.k, rand)
            self.delays.append(decision.delay_s)
            self.restart_times.append(self.now)
            self.now += decision.delay_s
            self.k += 1
            return
        assert isinstance(decision, GiveUp)
        if cause is C.USER_STOP:
            assert decision.status is S.KILLED
        elif not mode_wants:
            assert decision.status is (S.EXITED if cause is C.CLEAN else S.FAILED)
            assert decision.reason.startswith("no restart")
        else:
            # the only other reason to give up: the budget really is spent
            assert in_window >= self.policy.max_restarts
            assert decision.status is S.FAILED
            assert "restart budget exhausted" in decision.reason
            assert f"max {self.policy.max_restarts}" in decision.reason

    @invariant()
    def budget_respected_in_every_window(self) -> None:
        if not hasattr(self, "policy"):
            return
        times, window = self.restart_times, self.policy.window_s
        for end in times:  # the densest windows end at a restart
            assert sum(1 for t in times if 0 <= end - t < window) <= self.policy.max_restarts

    @invariant()
    def delays_within_cap(self) -> None:
        if not hasattr(self, "policy"):
            return
        assert all(0.0 <= d <= self.policy.cap_s for d in self.delays)


RestartBudget.TestCase.settings = settings(max_examples=60, stateful_step_count=40,
                                           deadline=None)
TestRestartBudget = RestartBudget.TestCase
