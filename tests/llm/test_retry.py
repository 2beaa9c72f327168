"""The shared retry budget: backoff, Retry-After, classification, the retry loop."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from llm_helpers import RecordingSleep

from overmind_jupyter.llm.contract import ProviderError, Retrying, TextDelta, TurnEnd
from overmind_jupyter.llm.retry import (
    Failure,
    RetryPolicy,
    is_retryable_status,
    parse_duration,
    parse_retry_after,
    public_url,
    redact,
    status_failure,
    stream_with_retries,
)

pytestmark = pytest.mark.timeout(60)

NOW = 1_750_000_000.0


@given(attempt=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_backoff_is_exponential_with_equal_jitter_and_capped(attempt, seed):
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=8.0)
    delay = policy.backoff_s(attempt, random.Random(seed))
    ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_retry_after_wins_over_backoff_and_is_capped():
    policy = RetryPolicy(max_retry_after_s=30.0)
    rng = random.Random(1)
    assert policy.delay_s(1, 12.0, rng) == 12.0
    assert policy.delay_s(1, 999.0, rng) == 30.0
    assert policy.delay_s(1, -3.0, rng) == 0.0


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Retry-After": "7"}, 7.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"Retry-After": format_datetime(datetime.fromtimestamp(NOW + 42, timezone.utc),
                                     usegmt=True)}, 42.0),
    ({"Retry-After": format_datetime(datetime.fromtimestamp(NOW - 42, timezone.utc),
                                     usegmt=True)}, 0.0),
    ({"Retry-After": "soon"}, None),
    ({"Retry-After": "-4"}, None),
    ({}, None),
    (None, None),
])
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers, now=lambda: NOW) == expected


def test_parse_duration():
    assert parse_duration("37s") == 37.0
    assert parse_duration("0.5s") == 0.5
    assert parse_duration("5m") is None


@pytest.mark.parametrize(("status", "retryable"), [
    (400, False), (401, False), (403, False), (404, False), (422, False),
    (408, True), (409, True), (429, True), (500, True), (502, True), (503, True), (599, True)])
def test_which_statuses_are_retried(status, retryable):
    assert is_retryable_status(status) is retryable
    assert status_failure("P", status, "", key_env="K").retryable is retryable


def test_status_failures_name_the_cause():
    assert status_failure("OpenAI", 401, "x", key_env="OPENAI_API_KEY").message == (
        "OpenAI rejected the API key (401): check OPENAI_API_KEY")
    forbidden = status_failure("Gemini", 403, "no access", key_env="GEMINI_API_KEY")
    assert forbidden.kind == "auth" and "GEMINI_API_KEY" in forbidden.message
    assert status_failure("P", 429, "", key_env="K", retry_after_s=3).retry_after_s == 3
    assert status_failure("P", 503, "", key_env="K").kind == "server"
    assert status_failure("P", 408, "", key_env="K").kind == "timeout"


def test_redact_removes_known_secrets_and_key_shapes():
    text = "bad key my-secret-value, also sk-proj-abcdefgh1234 and AIzaSyA1234567890abcdefghij"
    cleaned = redact(text, ["my-secret-value"])
    for secret in ("my-secret-value", "sk-proj-abcdefgh1234", "AIzaSyA1234567890abcdefghij"):
        assert secret not in cleaned
    assert cleaned.startswith("bad key [redacted]")


def test_public_url_drops_credentials():
    assert public_url("https://u:p@host:8443/v1") == "https://host:8443/v1"
    assert public_url("http://127.0.0.1:1/v1") == "http://127.0.0.1:1/v1"


class Flaky:
    """An attempt function failing with the given exceptions, then succeeding."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        yield TextDelta(f"attempt {self.calls}")
        if self.errors:
            raise self.errors.pop(0)
        yield TurnEnd("end_turn")


def classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, ConnectionError):
        return Failure("connection", "down", True)
    if isinstance(exc, PermissionError):
        return Failure("auth", "no", False, 401)
    return None


def run(attempt, sleep=None):
    async def go():
        return [item async for item in stream_with_retries(
            attempt, classify, policy=RetryPolicy(max_attempts=3), sleep=sleep or RecordingSleep(),
            rng=random.Random(0))]
    return asyncio.run(go())


def test_retries_then_succeeds_and_announces_each_retry():
    sleep = RecordingSleep()
    items = run(Flaky(ConnectionError(), ConnectionError()), sleep=sleep)
    retries = [i for i in items if isinstance(i, Retrying)]
    assert [r.attempt for r in retries] == [2, 3]
    assert [r.delay_s for r in retries] == sleep.delays
    assert items[-2:] == [TextDelta("attempt 3"), TurnEnd("end_turn")]


def test_budget_spent_raises_the_last_failure():
    flaky = Flaky(ConnectionError(), ConnectionError(), ConnectionError())
    with pytest.raises(ProviderError) as caught:
        run(flaky)
    assert caught.value.kind == "connection"
    assert caught.value.message == "down (gave up after 3 attempts)"
    assert flaky.calls == 3


def test_non_retryable_failures_raise_at_once():
    flaky = Flaky(PermissionError())
    with pytest.raises(ProviderError) as caught:
        run(flaky)
    assert (caught.value.kind, caught.value.status, caught.value.message) == ("auth", 401, "no")
    assert flaky.calls == 1


def test_unclassified_exceptions_pass_through():
    with pytest.raises(KeyError):
        run(Flaky(KeyError("bug")))
