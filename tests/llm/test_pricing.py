"""Cost of a turn from ``pricing.toml``."""

from __future__ import annotations

import re

import pytest

from overmind_jupyter.llm.contract import Usage
from overmind_jupyter.llm.pricing import cost_usd, find_price, price_source, price_table

pytestmark = pytest.mark.timeout(60)

M = 1_000_000


def test_openai_cost_math():
    # gpt-4.1: $2.00 input, $0.50 cached input, $8.00 output per 1M tokens
    assert cost_usd("openai:gpt-4.1", Usage(M, M, 0)) == pytest.approx(10.0)
    usage = Usage(input_tokens=10_000, output_tokens=2_000, cached_tokens=4_000)
    expected = (6_000 * 2.00 + 4_000 * 0.50 + 2_000 * 8.00) / M
    assert cost_usd("openai:gpt-4.1", usage) == pytest.approx(expected)
    assert cost_usd("gpt-4.1-mini", Usage(M, 0, 0)) == pytest.approx(0.40)


def test_dated_snapshots_cost_as_their_model():
    assert cost_usd("openai:gpt-4.1-2025-04-14", Usage(M, 0, 0)) == pytest.approx(2.00)


def test_gemini_long_context_tier_applies_to_the_whole_request():
    short = Usage(input_tokens=200_000, output_tokens=1_000, cached_tokens=0)
    long = Usage(input_tokens=200_001, output_tokens=1_000, cached_tokens=100_000)
    assert cost_usd("gemini:gemini-2.5-pro", short) == pytest.approx(
        (200_000 * 1.25 + 1_000 * 10.00) / M)
    assert cost_usd("gemini:gemini-2.5-pro", long) == pytest.approx(
        (100_001 * 2.50 + 100_000 * 0.25 + 1_000 * 15.00) / M)
    assert cost_usd("gemini:models/gemini-2.5-flash", Usage(M, M, 0)) == pytest.approx(2.80)


@pytest.mark.parametrize("model_id", [
    "openai:gpt-9-ultra", "gemini:gemini-0.1", "scripted:/tmp/s.json", "llama3:8b",
    "openai:gpt-4.1@http://127.0.0.1:11434/v1",  # a compatible endpoint is not OpenAI
    "gemini:gpt-4.1",  # right model, wrong provider
])
def test_unknown_models_cost_none(model_id):
    assert cost_usd(model_id, Usage(1000, 1000, 0)) is None


def test_cached_tokens_never_exceed_input():
    assert cost_usd("openai:gpt-4.1", Usage(100, 0, 500)) == pytest.approx(100 * 0.50 / M)


def test_table_is_sane_and_sourced():
    table = price_table()
    assert {"openai", "gemini"} <= set(table)
    for provider, models in table.items():
        url, as_of = price_source(provider)
        assert url.startswith("https://") and re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of)
        for name, price in models.items():
            assert 0 < price.cached_input <= price.input, name
            assert price.output > 0, name
    assert find_price("gpt-4o") is table["openai"]["gpt-4o"]
