"""Token buckets per address and overall, on a fake clock."""

from __future__ import annotations

import pytest

from overmind_jupyter.party.ratelimit import AuthGuard, Rate, RateLimited, RateLimiter
from overmind_jupyter.testing import FakeClock

pytestmark = pytest.mark.timeout(30)


PER_KEY, OVERALL = Rate(3, 1.0), Rate(100, 10.0)


def limiter(clock: FakeClock, per_key: Rate = PER_KEY, overall: Rate = OVERALL,
            **kw) -> RateLimiter:
    return RateLimiter(per_key, overall, clock=clock, what="joins", **kw)


def test_a_burst_passes_then_the_next_waits_for_a_refill():
    clock = FakeClock()
    lim = limiter(clock)
    for _ in range(3):
        lim.take("1.2.3.4")
    with pytest.raises(RateLimited) as info:
        lim.take("1.2.3.4")
    assert info.value.retry_after_s == pytest.approx(1.0)
    assert info.value.http_status == 429 and info.value.retry_after_header == "1"
    assert "from your address" in info.value.message
    clock.advance(0.5)
    with pytest.raises(RateLimited) as info:
        lim.take("1.2.3.4")
    assert info.value.retry_after_s == pytest.approx(0.5)
    clock.advance(0.5)
    lim.take("1.2.3.4")


def test_addresses_have_their_own_buckets_but_share_the_overall_one():
    clock = FakeClock()
    lim = limiter(clock, overall=Rate(4, 0.1))
    for _ in range(3):
        lim.take("a")
    lim.take("b")  # b still has its own burst
    with pytest.raises(RateLimited) as info:
        lim.take("c")  # but everybody together has spent the overall four
    assert "overall" in info.value.message
    assert info.value.retry_after_s == pytest.approx(10.0)


def test_a_refused_attempt_consumes_nothing():
    clock = FakeClock()
    lim = limiter(clock, per_key=Rate(1, 0.5))
    lim.take("a")
    for _ in range(5):
        with pytest.raises(RateLimited):
            lim.take("a")
    clock.advance(2.0)
    lim.take("a")  # exactly one refill: the refusals did not dig a deeper hole


def test_charging_never_raises_and_the_bucket_never_goes_negative():
    clock = FakeClock()
    lim = limiter(clock, per_key=Rate(2, 1.0))
    for _ in range(10):
        lim.charge("a")
    with pytest.raises(RateLimited) as info:
        lim.check("a")
    assert info.value.retry_after_s == pytest.approx(1.0)


def test_idle_buckets_are_forgotten_beyond_max_keys():
    clock = FakeClock()
    lim = limiter(clock, max_keys=10)
    for i in range(10):
        lim.take(f"10.0.0.{i}")
    clock.advance(60)  # every bucket is full again
    lim.take("10.0.1.1")
    assert len(lim._keys) == 1


def test_failed_checks_lock_an_address_out_of_joining_before_its_join_budget_ends():
    clock = FakeClock()
    guard = AuthGuard(clock)
    guard.before_join("evil")
    for _ in range(5):
        guard.failed("evil")
    with pytest.raises(RateLimited, match="failed party credentials"):
        guard.before_join("evil")
    with pytest.raises(RateLimited):
        guard.before_check("evil")
    guard.before_join("friend")  # others are not affected
    clock.advance(12)  # one failure forgiven every 12 s
    guard.before_join("evil")


def test_join_attempts_are_limited_even_without_failures():
    clock = FakeClock()
    guard = AuthGuard(clock)
    for _ in range(10):
        guard.before_join("busy")
    with pytest.raises(RateLimited, match="join attempts"):
        guard.before_join("busy")


def test_a_flood_of_wrong_secrets_from_many_addresses_never_locks_out_approved_guests():
    clock = FakeClock()
    guard = AuthGuard(clock)
    refused = 0
    for n in range(200):  # 200 wrong secrets from 40 addresses, 5 each
        address = f"10.0.0.{n % 40}"
        try:
            guard.before_check(address)
        except RateLimited:
            refused += 1
            continue
        guard.failed(address)
    assert refused == 0  # each address spent exactly its own five
    with pytest.raises(RateLimited):
        guard.before_check("10.0.0.7")  # the flooders are cut off…
    for n in range(80):  # …while 80 valid checks of two approved guests all pass
        guard.before_check(f"192.168.1.{n % 2}")
        guard.accepted(f"mbr-{n % 2}")
        clock.advance(0.5)


def test_one_credential_hammering_is_limited_without_touching_another():
    guard = AuthGuard(FakeClock())
    for _ in range(60):
        guard.accepted("mbr-busy")
    with pytest.raises(RateLimited, match="with your credential"):
        guard.accepted("mbr-busy")
    guard.accepted("mbr-calm")
