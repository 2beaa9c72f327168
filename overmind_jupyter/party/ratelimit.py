"""Token buckets for the party's public endpoints: per client address and overall.

A bucket holds at most ``burst`` tokens and regains ``per_s`` tokens per second (the
classic token bucket, e.g. RFC 2697's committed bucket). A ``RateLimiter`` keeps one
bucket per key plus, optionally, one shared bucket; an attempt needs a token from each.
``AuthGuard`` combines three limiters: join attempts (per address and overall), failed
credential checks (wrong invite, wrong or revoked credential) per address only, and
accepted credential checks per credential. No limit is shared between addresses that a
valid credential needs: a flood of wrong secrets from many addresses cuts off those
addresses (and new joins, for a while), never an approved guest. Time comes from a
``Clock`` (``testing.FakeClock`` in tests).
"""

from __future__ import annotations

import dataclasses
import math

from ..errors import RateLimited
from ..supervisor.clock import Clock, SystemClock


@dataclasses.dataclass(frozen=True, slots=True)
class Rate:
    """At most ``burst`` attempts at once, refilled at ``per_s`` attempts per second."""

    burst: int
    per_s: float


@dataclasses.dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # clock time of the last refill (s)

    def refill(self, rate: Rate, now: float) -> None:
        self.tokens = min(rate.burst, self.tokens + (now - self.at) * rate.per_s)
        self.at = now

    def wait_s(self, rate: Rate) -> float:
        """Seconds until one token is available (0 if now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate.per_s


class RateLimiter:
    """One bucket per key (e.g. client address) and, optionally, one for everybody.

    Args:
        per_key: the rate of each key.
        overall: the rate of all keys together (None: no shared limit).
        clock: time source (default: the system's monotonic clock).
        what: words for messages, e.g. ``"join attempts"``.
        scope: words for a key's own limit, e.g. ``"from your address"``.
        max_keys: buckets kept; beyond that, full (idle) buckets are forgotten.
    """

    def __init__(self, per_key: Rate, overall: Rate | None, clock: Clock | None = None,
                 what: str = "attempts", max_keys: int = 10_000,
                 scope: str = "from your address") -> None:
        self.per_key, self.overall = per_key, overall
        self.clock = clock or SystemClock()
        self.what, self.max_keys, self.scope = what, max_keys, scope
        now = self.clock.monotonic()
        self._all = _Bucket(overall.burst, now) if overall is not None else None
        self._keys: dict[str, _Bucket] = {}

    def _buckets(self, key: str) -> list[tuple[_Bucket, Rate]]:
        now = self.clock.monotonic()
        bucket = self._keys.get(key)
        if bucket is None:
            if len(self._keys) >= self.max_keys:
                self._forget_idle(now)
            bucket = self._keys[key] = _Bucket(self.per_key.burst, now)
        found = [(bucket, self.per_key)]
        if self._all is not None and self.overall is not None:
            found.append((self._all, self.overall))
        for b, rate in found:
            b.refill(rate, now)
        return found

    def _forget_idle(self, now: float) -> None:
        for key, bucket in list(self._keys.items()):
            bucket.refill(self.per_key, now)
            if bucket.tokens >= self.per_key.burst:
                del self._keys[key]

    def check(self, key: str) -> None:
        """Raise if ``key`` has no attempt left now (consumes nothing).

        Raises:
            RateLimited: with the wait in ``retry_after_s``.
        """
        buckets = self._buckets(key)
        wait = max(b.wait_s(rate) for b, rate in buckets)
        if wait > 0:
            scope = self.scope if buckets[0][0].tokens < 1 else "overall"
            raise RateLimited(f"too many {self.what} {scope}; try again in "
                              f"{math.ceil(wait)} s", wait)

    def take(self, key: str) -> None:
        """Use one attempt of ``key`` (and of the overall budget).

        Raises:
            RateLimited: none left; nothing is consumed then.
        """
        self.check(key)
        self.charge(key)

    def charge(self, key: str) -> None:
        """Use one attempt even if none is left (failures count, never refused)."""
        for bucket, _rate in self._buckets(key):
            bucket.tokens = max(0.0, bucket.tokens - 1)


JOINS_PER_ADDRESS = Rate(burst=10, per_s=1 / 6)  # 10 at once, then 10 a minute
JOINS_OVERALL = Rate(burst=60, per_s=1.0)
FAILURES_PER_ADDRESS = Rate(burst=5, per_s=1 / 12)  # 5 wrong secrets, then 5 a minute
CHECKS_PER_CREDENTIAL = Rate(burst=60, per_s=2.0)  # a guest's own calls and reconnects


class AuthGuard:
    """The rate limits of the party's public endpoints.

    ``before_join(address)`` uses a join attempt and refuses addresses whose failed
    checks are exhausted; ``before_check(address)`` only does the latter (websocket
    hello, guest REST calls); ``failed(address)`` records a failed credential check;
    ``accepted(member_id)`` uses one of that credential's own checks. Every method
    raises ``RateLimited`` when over budget.
    """

    def __init__(self, clock: Clock | None = None, *, joins: tuple[Rate, Rate] = (
            JOINS_PER_ADDRESS, JOINS_OVERALL), failures: Rate = FAILURES_PER_ADDRESS,
            checks: Rate = CHECKS_PER_CREDENTIAL) -> None:
        self.joins = RateLimiter(*joins, clock=clock, what="join attempts")
        self.failures = RateLimiter(failures, None, clock=clock,
                                    what="failed party credentials")
        self.checks = RateLimiter(checks, None, clock=clock, what="requests",
                                  scope="with your credential")

    def before_join(self, address: str) -> None:
        """Raises ``RateLimited`` if ``address`` may not try to join now."""
        self.failures.check(address)
        self.joins.take(address)

    def before_check(self, address: str) -> None:
        """Raises ``RateLimited`` if ``address`` failed too often recently."""
        self.failures.check(address)

    def failed(self, address: str) -> None:
        """Count one failed credential check of ``address``."""
        self.failures.charge(address)

    def accepted(self, member_id: str) -> None:
        """Use one accepted check of member ``member_id``'s credential.

        Raises:
            RateLimited: that credential alone made too many calls recently.
        """
        self.checks.take(member_id)
