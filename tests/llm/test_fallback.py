"""``FallbackModel``: switching to the alternative when the primary is exhausted."""

from __future__ import annotations

import pytest
from llm_helpers import KEY, collect, collect_until_error

from overmind_jupyter.llm.contract import Message, ProviderError, Retrying, TextDelta, TurnEnd
from overmind_jupyter.llm.fallback import FallbackModel
from overmind_jupyter.llm.gemini_model import GeminiModel
from overmind_jupyter.llm.openai_model import OpenAIModel
from overmind_jupyter.llm.retry import RetryPolicy
from overmind_jupyter.llm.scripted import ScriptedModel
from overmind_jupyter.testing.gemini_server import Turn as GeminiTurn
from overmind_jupyter.testing.openai_server import Fail

pytestmark = pytest.mark.timeout(60)

ASK = [Message("user", "hello")]


def scripted(*turns: dict, name: str) -> ScriptedModel:
    model = ScriptedModel.from_data({"turns": list(turns)}, model_id=f"scripted:{name}")
    model.label = name
    return model


def failing(kind: str) -> dict:
    return {"error": {"kind": kind, "message": f"{kind} trouble"}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("kind", ["rate-limit", "server", "timeout", "connection",
                                  "stream-cut"])
def test_switches_on_exhaustion_and_says_so(kind):
    primary = scripted(failing(kind), name="primary")
    alternative = scripted({"text": "from alt"}, name="alt")
    model = FallbackModel(primary, alternative)
    items = collect(model, ASK)
    assert isinstance(items[0], Retrying)
    assert "switching to alt" in items[0].reason and f"{kind} trouble" in items[0].reason
    assert items[1] == TextDelta("from alt") and items[-1] == TurnEnd("end_turn")
    assert model.served_by is alternative
    alternative.assert_complete()


@pytest.mark.parametrize("kind", ["auth", "bad-request"])
def test_does_not_switch_on_errors_that_are_not_exhaustion(kind):
    alternative = scripted({"text": "unused"}, name="alt")
    model = FallbackModel(scripted(failing(kind), name="primary"), alternative)
    items, error = collect_until_error(model, ASK)
    assert error.kind == kind and items == []
    assert alternative.remaining == 1


def test_primary_success_does_not_touch_the_alternative():
    alternative = scripted({"text": "unused"}, name="alt")
    model = FallbackModel(scripted({"text": "primary"}, name="primary"), alternative)
    assert collect(model, ASK)[0] == TextDelta("primary")
    assert model.served_by is model.primary and alternative.remaining == 1


def test_stays_on_the_alternative_for_a_while_then_tries_the_primary_again():
    clock = Clock()
    primary = scripted(failing("rate-limit"), {"text": "primary is back"}, name="primary")
    alternative = scripted({"text": "alt 1"}, {"text": "alt 2"}, name="alt")
    model = FallbackModel(primary, alternative, stay_s=60.0, clock=clock)
    collect(model, ASK)
    clock.now = 59.0
    assert collect(model, ASK)[0] == TextDelta("alt 2")  # primary not asked again
    assert primary.remaining == 1
    clock.now = 61.0
    assert collect(model, ASK)[0] == TextDelta("primary is back")


def test_alternative_errors_propagate():
    model = FallbackModel(scripted(failing("server"), name="p"),
                          scripted(failing("server"), name="a"))
    with pytest.raises(ProviderError, match="server trouble"):
        collect(model, ASK)


def test_real_adapters_fall_back_from_openai_to_gemini(openai_server, gemini_server, sleep):
    openai_server.script(Fail(429, retry_after="1"), Fail(429, retry_after="1"))
    gemini_server.script(GeminiTurn(text="gemini here"))
    primary = OpenAIModel("gpt-4.1", api_key=KEY, base_url=openai_server.url, sleep=sleep,
                          policy=RetryPolicy(max_attempts=2))
    alternative = GeminiModel("gemini-2.5-flash", api_key=KEY, base_url=gemini_server.url,
                              sleep=sleep)
    items = collect(FallbackModel(primary, alternative), ASK)
    assert [type(i).__name__ for i in items] == ["Retrying", "Retrying", "TextDelta", "Usage",
                                                 "TurnEnd"]
    assert "switching to gemini-2.5-flash (Gemini)" in items[1].reason
    assert items[2] == TextDelta("gemini here")
    assert sleep.delays == [1.0]
