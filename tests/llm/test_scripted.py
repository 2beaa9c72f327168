"""``ScriptedModel``: replay, expectations, errors, ``assert_complete``."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from engine_harness import until
from llm_helpers import collect

from overmind_jupyter.llm.contract import (
    Message,
    ProviderError,
    StreamItem,
    TextDelta,
    ToolCall,
    ToolCallReady,
    TurnEnd,
    Usage,
)
from overmind_jupyter.llm.scripted import ScriptedModel, ScriptError

pytestmark = pytest.mark.timeout(60)

SCRIPT = {"turns": [
    {"expect": "README", "text": "I'll write it.",
     "tool_calls": [{"name": "write_file", "arguments": {"path": "README.md"}}],
     "usage": {"input_tokens": 120, "output_tokens": 30, "cached_tokens": 100}},
    {"expect": "wrote", "text": ["Do", "ne."]},
]}
ASK = [Message("system", "sys"), Message("user", "Add a README please")]
RESULT = [*ASK, Message("tool", "wrote README.md", tool_call_id="call_1_1")]


def test_replays_turns_in_order():
    model = ScriptedModel.from_data(SCRIPT)
    assert collect(model, ASK) == [
        TextDelta("I'll write it."),
        ToolCallReady(ToolCall("call_1_1", "write_file", {"path": "README.md"})),
        Usage(120, 30, 100), TurnEnd("tool_use")]
    assert collect(model, RESULT) == [TextDelta("Do"), TextDelta("ne."), Usage(),
                                      TurnEnd("end_turn")]
    model.assert_complete()
    assert model.label == "scripted model"
    assert [len(messages) for messages, _ in model.calls] == [2, 3]


def test_is_deterministic():
    first, second = ScriptedModel.from_data(SCRIPT), ScriptedModel.from_data(SCRIPT)
    assert collect(first, ASK) == collect(second, ASK)


def test_failed_expectation_is_a_clear_error():
    model = ScriptedModel.from_data(SCRIPT)
    with pytest.raises(ScriptError, match=r"turn 1 expected 'README'.*'Fix the bug'"):
        collect(model, [Message("user", "Fix the bug")])


def test_expectation_reads_the_last_user_or_tool_message():
    model = ScriptedModel.from_data({"turns": [{"expect": "hello"}]})
    history = [Message("user", "hello"), Message("assistant", "hi"), Message("user", "bye")]
    with pytest.raises(ScriptError):
        collect(model, history)


def test_played_out_script_raises_and_assert_complete_counts():
    model = ScriptedModel.from_data(SCRIPT)
    with pytest.raises(AssertionError, match="2 of 2 scripted turns were never played"):
        model.assert_complete()
    collect(model, ASK)
    collect(model, RESULT)
    with pytest.raises(ScriptError, match="played out after 2 turns"):
        collect(model, RESULT)


def test_error_turns_raise_provider_errors():
    model = ScriptedModel.from_data({"turns": [
        {"error": {"kind": "rate-limit", "message": "quota", "status": 429}}]})
    with pytest.raises(ProviderError) as caught:
        collect(model, ASK)
    assert (caught.value.kind, caught.value.status, caught.value.message) == (
        "rate-limit", 429, "quota")


def test_delay_s_holds_the_turn_back_without_blocking_the_loop():
    model = ScriptedModel.from_data({"turns": [{"text": "late", "delay_s": 0.3}]})

    async def run() -> tuple[bool, list[StreamItem], float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        turn = asyncio.ensure_future(collect_async(model, ASK))
        # the loop runs other work (this polling) while the started turn holds back
        await until(lambda: model.calls, what="the turn to start")
        early = turn.done()
        return early, await turn, loop.time() - started

    early, items, took = asyncio.run(run())
    assert not early
    assert items == [TextDelta("late"), Usage(), TurnEnd("end_turn")]
    assert took >= 0.29


async def collect_async(model: ScriptedModel, messages: list[Message]) -> list[StreamItem]:
    return [item async for item in model.stream(messages, [])]


def test_loads_json_and_yaml_files(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    model = ScriptedModel.from_file(path)
    assert model.model_id == f"scripted:{path}"
    assert collect(model, ASK)[0] == TextDelta("I'll write it.")
    yaml_path = tmp_path / "script.yaml"
    yaml_path.write_text("turns:\n  - text: from yaml\n    stop_reason: max_tokens\n")
    assert collect(ScriptedModel.from_file(yaml_path), ASK) == [
        TextDelta("from yaml"), Usage(), TurnEnd("max_tokens")]


def test_yaml_without_pyyaml_says_to_use_json(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)
    path = tmp_path / "script.yml"
    path.write_text("turns: []\n")
    with pytest.raises(ScriptError, match="PyYAML is not installed"):
        ScriptedModel.from_file(path)


@pytest.mark.parametrize(("data", "message"), [
    ({"turns": "no"}, '"turns" list'),
    ([], '"turns" list'),
    ({"turns": [{"txt": "typo"}]}, "unknown keys: \\['txt'\\]"),
    ({"turns": [{"text": 3}]}, "text must be a string"),
    ({"turns": [{"tool_calls": [{"arguments": {}}]}]}, "needs a string name"),
    ({"turns": [{"tool_calls": [{"name": "x", "arguments": [1]}]}]}, "must be an object"),
    ({"turns": [{"usage": {"tokens": 1}}]}, "usage takes only"),
    ({"turns": [{"error": "boom"}]}, "error needs a kind"),
    ({"turns": [{"delay_s": -1}]}, "turn 1: delay_s must be a number of seconds ≥ 0"),
    ({"turns": [{"delay_s": "2"}]}, "delay_s must be a number"),
    ({"turns": [{"delay_s": float("nan")}]}, "delay_s must be a number"),
])
def test_malformed_scripts_are_rejected(data, message):
    with pytest.raises(ScriptError, match=message):
        ScriptedModel.from_data(data)


def test_unreadable_files(tmp_path):
    with pytest.raises(ScriptError, match="cannot read"):
        ScriptedModel.from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ScriptError, match="not valid JSON"):
        ScriptedModel.from_file(bad)
