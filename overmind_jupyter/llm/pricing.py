"""What a turn cost in USD, from the one price table ``pricing.toml`` (shipped in the wheel).

Formula (per request, prices in USD per 1M tokens, as the providers publish them)::

    cost = ((input - cached) · input_price + cached · cached_input_price
            + output · output_price) / 1_000_000

``input`` includes ``cached`` tokens, as both OpenAI (``prompt_tokens`` ⊇
``cached_tokens``) and Gemini (``promptTokenCount`` ⊇ ``cachedContentTokenCount``)
report them. When a model has a long-context tier and ``input`` exceeds its threshold,
the long prices apply to the whole request (Gemini's rule). Unknown models, and
OpenAI-compatible endpoints that are not OpenAI (``openai:MODEL@URL``), cost ``None``:
this module never invents dollars.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from importlib import resources
from typing import Any

from .contract import Usage

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # OpenAI dated snapshots: gpt-4.1-2025-04-14
PER_TOKENS = 1_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class Price:
    """Prices of one model in USD per 1M tokens.

    Attributes:
        input: uncached prompt tokens.
        cached_input: prompt tokens served from cache.
        output: generated tokens (reasoning included).
        long_context_above: prompt size (tokens) above which the ``long_*`` prices
            apply, or None when the model has one tier.
    """

    input: float
    cached_input: float
    output: float
    long_context_above: int | None = None
    long_input: float | None = None
    long_cached_input: float | None = None
    long_output: float | None = None

    def cost_usd(self, usage: Usage) -> float:
        """USD for one request's ``usage`` (see the module docstring)."""
        long = self.long_context_above is not None and usage.input_tokens > self.long_context_above
        rates = ((self.long_input, self.long_cached_input, self.long_output) if long
                 else (self.input, self.cached_input, self.output))
        in_rate, cached_rate, out_rate = (float(r or 0.0) for r in rates)
        cached = min(usage.cached_tokens, usage.input_tokens)
        total = ((usage.input_tokens - cached) * in_rate + cached * cached_rate
                 + usage.output_tokens * out_rate)
        return total / PER_TOKENS


@functools.lru_cache(maxsize=1)
def price_table() -> dict[str, dict[str, Price]]:
    """``{provider: {model: Price}}`` from ``pricing.toml``.

    Raises:
        ValueError: the data file has a model entry with unknown or missing fields.
    """
    text = resources.files(__package__).joinpath("pricing.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {provider: {name: _price(name, entry) for name, entry in section["models"].items()}
            for provider, section in data.items()}


def price_source(provider: str) -> tuple[str, str]:
    """``(source URL, as-of date)`` noted for ``provider`` in ``pricing.toml``."""
    text = resources.files(__package__).joinpath("pricing.toml").read_text(encoding="utf-8")
    section = tomllib.loads(text)[provider]
    return section["source"], section["as_of"]


def _price(name: str, entry: dict[str, Any]) -> Price:
    try:
        price = Price(**entry)
    except TypeError as exc:
        raise ValueError(f"pricing.toml: model {name!r}: {exc}") from exc
    tiers = (price.long_input, price.long_cached_input, price.long_output)
    if price.long_context_above is not None and None in tiers:
        raise ValueError(f"pricing.toml: model {name!r} has long_context_above but not "
                         "every long_* price")
    return price


def find_price(model_id: str) -> Price | None:
    """The price of ``model_id`` (``openai:gpt-4.1``, ``gemini:gemini-2.5-pro`` or a bare
    model name), or None when unknown or served by a non-OpenAI compatible endpoint."""
    provider, _, name = model_id.partition(":") if ":" in model_id else ("", "", model_id)
    if "@" in name or provider in ("scripted",):
        return None
    name = name.removeprefix("models/")
    table = price_table()
    providers = [provider] if provider else list(table)
    for candidate in (name, _SNAPSHOT.sub("", name)):
        for section in (table.get(p, {}) for p in providers):
            if candidate in section:
                return section[candidate]
    return None


def cost_usd(model_id: str, usage: Usage) -> float | None:
    """USD for one turn of ``model_id`` with ``usage``; None for unknown models."""
    price = find_price(model_id)
    return price.cost_usd(usage) if price is not None else None
