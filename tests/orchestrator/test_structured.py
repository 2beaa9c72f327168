"""``structured.ask``: one validated answer from a model, retried once with the error."""

from __future__ import annotations

import json
from typing import Literal

import pydantic
import pytest
from planning_helpers import respond, run, scripted

from overmind_jupyter.llm.contract import ProviderError, Usage
from overmind_jupyter.llm.registry import resolve_model
from overmind_jupyter.orchestrator.structured import PlanningError, ask
from overmind_jupyter.testing.openai_server import OpenAIWireServer, Turn

pytestmark = pytest.mark.timeout(60)


class Weather(pydantic.BaseModel):
    city: str
    degrees: int
    sky: Literal["clear", "cloudy"]


GOOD = {"city": "Oslo", "degrees": 4, "sky": "cloudy"}


def test_a_valid_tool_call_is_the_answer(tmp_path):
    model = scripted(tmp_path, respond(GOOD, usage=(120, 30)))
    answer = run(ask(model, "Answer by calling the tool respond.", "Weather in Oslo?", Weather))
    assert answer.value == Weather(city="Oslo", degrees=4, sky="cloudy")
    assert answer.spent.usage == Usage(120, 30, 0)
    assert (answer.spent.model, answer.spent.calls) == ("scripted model", 1)
    messages, tools = model.calls[0]
    assert [m.role for m in messages] == ["system", "user"]
    assert [t.name for t in tools] == ["respond"]
    assert tools[0].parameters == Weather.model_json_schema()
    model.assert_complete()


def test_invalid_arguments_are_retried_with_the_validation_error(tmp_path):
    bad = {"city": "Oslo", "degrees": "warm", "sky": "pink"}
    model = scripted(tmp_path, respond(bad), respond(GOOD, expect="degrees"))
    answer = run(ask(model, "system", "Weather in Oslo?", Weather))
    assert answer.value.degrees == 4
    assert answer.spent.usage == Usage(200, 40, 0) and answer.spent.calls == 2
    retry = model.calls[1][0]
    assert retry[-2].role == "assistant" and retry[-2].tool_calls[0].arguments == bad
    assert retry[-1].role == "tool" and retry[-1].tool_call_id == retry[-2].tool_calls[0].id
    assert "sky" in retry[-1].content and "call the tool respond" in retry[-1].content.lower()
    model.assert_complete()


def test_a_model_that_never_calls_the_tool_raises_planning_error(tmp_path):
    model = scripted(tmp_path, {"text": "It is sunny, I think.", "usage": {"input_tokens": 50}},
                     {"text": "Still sunny.", "expect": "did not call the tool respond"})
    with pytest.raises(PlanningError) as caught:
        run(ask(model, "system", "Weather?", Weather))
    assert "scripted model gave no valid Weather in 2 attempt(s)" in caught.value.message
    assert caught.value.spent.calls == 2 and caught.value.spent.usage.input_tokens == 50
    assert model.calls[1][0][-1].role == "user"
    model.assert_complete()


def test_a_single_attempt_is_not_retried(tmp_path):
    model = scripted(tmp_path, respond({"city": "Oslo"}))
    with pytest.raises(PlanningError, match="degrees"):
        run(ask(model, "system", "Weather?", Weather, attempts=1))
    model.assert_complete()


@pytest.mark.parametrize("text", [
    'Here it is:\n```json\n{"city": "Oslo", "degrees": 4, "sky": "cloudy"}\n```\nBye.',
    '  {"city": "Oslo", "degrees": 4, "sky": "cloudy"}\n',
])
def test_a_json_text_reply_is_accepted(tmp_path, text):
    model = scripted(tmp_path, {"text": text})
    assert run(ask(model, "system", "Weather?", Weather)).value == Weather(**GOOD)


def test_calling_another_tool_is_corrected(tmp_path):
    model = scripted(tmp_path, respond(GOOD, name="get_weather"),
                     respond(GOOD, name="answer", expect="the only tool is answer"))
    value = run(ask(model, "system", "Weather?", Weather, tool_name="answer")).value
    assert value.city == "Oslo"


def test_provider_errors_pass_through(tmp_path):
    model = scripted(tmp_path, {"error": {"kind": "rate-limit", "message": "quota exhausted"}})
    with pytest.raises(ProviderError) as caught:
        run(ask(model, "system", "Weather?", Weather))
    assert caught.value.kind == "rate-limit"


def test_structured_output_over_the_openai_wire():
    """Through the real ``openai`` SDK: the schema goes as ``response_format`` (no tools);
    malformed JSON text gets one repair turn quoting the error, then a valid answer."""
    with OpenAIWireServer() as server:
        server.script(Turn(text='{"city": "Oslo", "degr'),
                      Turn(text=json.dumps(GOOD), usage=(30, 9, 0)))
        model = resolve_model(f"openai:gpt-4.1@{server.url}", env={})
        answer = run(ask(model, "You report the weather.", "Weather?", Weather))
    assert answer.value == Weather(**GOOD)
    assert answer.spent.calls == 2 and answer.spent.cost_usd is None
    first, second = (r.body for r in server.requests)
    assert "tools" not in first
    fmt = first["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "respond"
    assert fmt["json_schema"]["schema"] == Weather.model_json_schema()
    assert first["messages"][0]["content"].startswith("You report the weather.\n")
    repair = second["messages"][-1]
    assert repair["role"] == "user" and "not accepted" in repair["content"]
    assert "did not call" not in repair["content"]
