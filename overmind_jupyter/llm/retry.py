"""One retry budget per model call, shared by the OpenAI and Gemini adapters.

The SDKs' own retries are switched off (openai ``max_retries=0``; google-genai retries
only when ``HttpRetryOptions`` ask for it, and the adapter sets ``attempts=1``), so this
module is the only place that decides whether to call again:

- retried: HTTP 408, 409, 429, 5xx, connection errors, timeouts, streams cut midway;
- not retried: every other status (400, 401, 403, 404, 422, …), anything unknown, and a
  429 that says the quota is exhausted (OpenAI ``insufficient_quota``, Gemini
  ``RESOURCE_EXHAUSTED`` for a daily or billing quota): waiting does not refill it, so the
  caller falls back or asks at once;
- delay before attempt *k+1*: the server's ``Retry-After`` (``retry-after-ms``, seconds
  or an HTTP date; capped at ``max_retry_after_s``) when it sent one, otherwise
  exponential backoff ``min(max_delay_s, base_delay_s · 2^(k-1))`` with "equal jitter"
  (half fixed, half uniform random) from Marc Brooker, "Exponential Backoff And Jitter",
  AWS Architecture Blog, 2015.

Each retry yields a ``Retrying`` item (the consumer drops the turn's text so far); when
the budget is spent the last failure becomes a ``ProviderError``. ``sleep`` is a seam
so tests never wait for real.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from .contract import ProviderError, Retrying, StreamItem

Sleep = Callable[[float], Awaitable[None]]

RETRYABLE_STATUSES = frozenset({408, 409, 429})

_KEY_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-*]{8,}"),  # OpenAI-style keys, also masked ones
    re.compile(r"AIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
)


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one call tries.

    Attributes:
        max_attempts: attempts in total, the first one included (≥ 1).
        base_delay_s: backoff before the first retry, before jitter (s).
        max_delay_s: cap of the exponential backoff (s).
        max_retry_after_s: cap applied to a server's ``Retry-After`` (s).
    """

    max_attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_retry_after_s: float = 60.0

    def backoff_s(self, attempt: int, rng: random.Random) -> float:
        """Delay after failed attempt number ``attempt`` (1-based), equal jitter (s)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def delay_s(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """The server's ``Retry-After`` (capped) if any, else the backoff (s)."""
        if retry_after_s is not None:
            return max(0.0, min(retry_after_s, self.max_retry_after_s))
        return self.backoff_s(attempt, rng)


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt, as an adapter classified it.

    Attributes:
        kind: a ``ProviderError.kind`` ("rate-limit", "server", "timeout", …).
        message: human sentence naming the provider and what to do next (no secrets).
        retryable: whether another attempt may help.
        status: HTTP status when there was one.
        retry_after_s: what the server asked us to wait (s), if it said.
    """

    kind: str
    message: str
    retryable: bool
    status: int | None = None
    retry_after_s: float | None = None


def is_retryable_status(status: int) -> bool:
    """True for 408, 409, 429 and every 5xx."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def status_failure(
    provider: str, status: int, detail: str, *, key_env: str, retry_after_s: float | None = None,
    quota: bool = False,
) -> Failure:
    """Classify an HTTP error status into a ``Failure`` with a message saying what to do.

    ``quota``: the provider said the key's quota is exhausted (a 429 never retried).
    """
    detail = f": {detail}" if detail else ""
    if status == 429 and quota:
        return Failure("quota", f"{provider} says the quota of the key in {key_env} is "
                       f"exhausted (429){detail}: add credit or raise the quota, or set "
                       "OVERMIND_FALLBACK_MODEL to another model", False, status)
    if status == 401:
        return Failure("auth", f"{provider} rejected the API key (401): check {key_env}",
                       False, status)
    if status == 403:
        return Failure("auth", f"{provider} refused access (403): check that the key in "
                       f"{key_env} may use this model{detail}", False, status)
    if status == 429:
        return Failure("rate-limit", f"{provider} is rate limiting requests (429){detail}",
                       True, status, retry_after_s)
    if status in (408, 504):
        return Failure("timeout", f"{provider} timed out ({status}){detail}", True, status,
                       retry_after_s)
    if is_retryable_status(status):
        return Failure("server", f"{provider} answered with a server error ({status}){detail}",
                       True, status, retry_after_s)
    if status == 404:
        return Failure("bad-request", f"{provider} does not know this model or endpoint (404): "
                       f"check the model name and base URL{detail}", False, status)
    return Failure("bad-request", f"{provider} rejected the request ({status}){detail}",
                   False, status)


def parse_retry_after(
    headers: Mapping[str, str] | None, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date).

    Source: RFC 9110 §10.2.3 (``Retry-After``); ``retry-after-ms`` is OpenAI's extension.
    ``now`` is wall-clock time (s since the epoch), a seam for HTTP dates. Returns None
    when absent or unparsable.
    """
    if not headers:
        return None
    millis = _header(headers, "retry-after-ms")
    if millis is not None and _is_number(millis):
        return float(millis) / 1000
    value = _header(headers, "retry-after")
    if value is None:
        return None
    if _is_number(value):
        return float(value)
    return _seconds_until_http_date(value, now)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if isinstance(value, str) else None


def _is_number(text: str) -> bool:
    try:
        return float(text) >= 0
    except ValueError:
        return False


def _seconds_until_http_date(text: str, now: Callable[[], float]) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now())


def parse_duration(text: str) -> float | None:
    """Seconds in a protobuf JSON ``Duration`` such as ``"37s"`` or ``"1.5s"`` (else None)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", text or "")
    return float(match.group(1)) if match else None


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets and anything shaped like an API key replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    for pattern in _KEY_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (no path, no user info)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def public_url(url: str) -> str:
    """``url`` without user info (``user:password@``), fit for ids, labels and logs."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


async def stream_with_retries(
    attempt: Callable[[], AsyncIterator[StreamItem]],
    classify: Callable[[BaseException], Failure | None],
    *,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> AsyncIterator[StreamItem]:
    """Run ``attempt()`` until one finishes cleanly or the budget is spent.

    ``classify`` turns an exception into a ``Failure`` (None: not a provider failure,
    re-raised as is). Yields the attempt's items and a ``Retrying`` before each retry.

    Raises:
        ProviderError: a failure that is not retryable, or the last one of the budget.
    """
    rng = rng or random.Random()
    for number in range(1, policy.max_attempts + 1):
        try:
            async for item in attempt():
                yield item
            return
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            if not failure.retryable or number == policy.max_attempts:
                raise _give_up(failure, number) from exc
            delay = policy.delay_s(number, failure.retry_after_s, rng)
        yield Retrying(attempt=number + 1, delay_s=delay, reason=failure.message)
        await sleep(delay)


def _give_up(failure: Failure, attempts: int) -> ProviderError:
    message = failure.message
    if failure.retryable:
        message = f"{message} (gave up after {attempts} attempt{'s' * (attempts > 1)})"
    return ProviderError(message, failure.kind, failure.status)


def chunks_text(count: int) -> str:
    """``"1 chunk"``, ``"3 chunks"``: for ``StreamCut`` messages."""
    return f"{count} chunk" + ("" if count == 1 else "s")


class StreamCut(Exception):
    """A streamed response ended without the provider's end-of-turn marker.

    Adapters raise it when the connection broke after the first chunk, or when the
    stream ended cleanly but no finish reason arrived; it is retried as "stream-cut".
    """
