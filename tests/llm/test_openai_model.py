"""``OpenAIModel`` through the real ``openai`` SDK against the loopback wire server."""

from __future__ import annotations

import socket
import time

import pytest
from llm_helpers import KEY, RecordingSleep, collect, collect_until_error

from overmind_jupyter.llm.contract import (
    Message,
    Retrying,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    TurnEnd,
    Usage,
)
from overmind_jupyter.llm.openai_model import OpenAIModel
from overmind_jupyter.llm.retry import RetryPolicy
from overmind_jupyter.testing.openai_server import Call, Fail, Hang, OpenAIWireServer, Turn

pytestmark = pytest.mark.timeout(60)

ASK = [Message("system", "You write files."), Message("user", "Add a README")]
WRITE = ToolSpec("write_file", "Write a file in the workspace.",
                 {"type": "object", "properties": {"path": {"type": "string"},
                                                   "content": {"type": "string"}},
                  "required": ["path", "content"]})


def make_model(server: OpenAIWireServer, sleep: RecordingSleep, *, key: str = KEY,
               attempts: int = 3, timeout_s: float = 5.0, **kw) -> OpenAIModel:
    return OpenAIModel("gpt-4.1", api_key=key, base_url=server.url, timeout_s=timeout_s,
                       policy=RetryPolicy(max_attempts=attempts), sleep=sleep, **kw)


def kinds(items: list) -> list[str]:
    return [type(item).__name__ for item in items]


def test_streams_text_then_usage_and_turn_end(openai_server, sleep):
    openai_server.script(Turn(text=["Hel", "lo", "!"], usage=(100, 20, 40)))
    items = collect(make_model(openai_server, sleep), ASK)
    assert items == [TextDelta("Hel"), TextDelta("lo"), TextDelta("!"),
                     Usage(input_tokens=100, output_tokens=20, cached_tokens=40),
                     TurnEnd("end_turn")]
    body = openai_server.requests[0].body
    assert body["model"] == "gpt-4.1"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [{"role": "system", "content": "You write files."},
                                {"role": "user", "content": "Add a README"}]
    assert "tools" not in body
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_tool_call_fragments_are_assembled_by_index(openai_server, sleep):
    first = {"path": "README.md", "content": "# Demo\nA longer body, split in many pieces."}
    second = {"path": "docs/a b.md", "content": "ünïcode ✓", "nested": {"list": [1, 2, 3]}}
    openai_server.script(Turn(text="Writing.", tool_calls=[
        Call("write_file", first, id="call_A"), Call("write_file", second, id="call_B")]))
    items = collect(make_model(openai_server, sleep), ASK, [WRITE])
    assert items == [TextDelta("Writing."),
                     ToolCallReady(ToolCall("call_A", "write_file", first)),
                     ToolCallReady(ToolCall("call_B", "write_file", second)),
                     Usage(12, 7, 0), TurnEnd("tool_use")]
    assert openai_server.requests[0].body["tools"] == [{
        "type": "function",
        "function": {"name": "write_file", "description": WRITE.description,
                     "parameters": WRITE.parameters}}]


def test_history_with_tool_calls_is_sent_in_openai_format(openai_server, sleep):
    call = ToolCall("call_1", "write_file", {"path": "a.txt", "content": "x"})
    history = [*ASK, Message("assistant", "", tool_calls=(call,)),
               Message("tool", "wrote 1 byte", tool_call_id="call_1", name="write_file")]
    openai_server.script(Turn(text="Done."))
    collect(make_model(openai_server, sleep), history, [WRITE])
    sent = openai_server.requests[0].body["messages"]
    assert sent[2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "write_file", "arguments": '{"path": "a.txt", "content": "x"}'}}]}
    assert sent[3] == {"role": "tool", "tool_call_id": "call_1", "content": "wrote 1 byte"}


def test_malformed_arguments_become_an_arguments_error(openai_server, sleep):
    openai_server.script(Turn(tool_calls=[Call("write_file", '{"path": "a.txt", "content"')]))
    items = collect(make_model(openai_server, sleep), ASK, [WRITE])
    call = items[0].call
    assert call.arguments == {}
    assert "not valid JSON" in call.arguments_error
    assert items[-1] == TurnEnd("tool_use")


def test_length_finish_is_max_tokens(openai_server, sleep):
    openai_server.script(Turn(text="cut", finish="length"))
    items = collect(make_model(openai_server, sleep, max_output_tokens=5), ASK)
    assert items[-1] == TurnEnd("max_tokens")
    assert openai_server.requests[0].body["max_tokens"] == 5


def test_429_waits_what_retry_after_says(openai_server, sleep):
    openai_server.script(Fail(429, "slow down", retry_after="7"), Turn(text="ok"))
    items = collect(make_model(openai_server, sleep), ASK)
    assert sleep.delays == [7.0]
    assert isinstance(items[0], Retrying)
    assert items[0].attempt == 2 and items[0].delay_s == 7.0
    assert "429" in items[0].reason
    assert items[1:] == [TextDelta("ok"), Usage(12, 7, 0), TurnEnd("end_turn")]
    assert len(openai_server.requests) == 2


def test_retry_after_is_capped(openai_server, sleep):
    openai_server.script(Fail(429, retry_after="3600"), Turn(text="ok"))
    model = OpenAIModel("gpt-4.1", api_key=KEY, base_url=openai_server.url, sleep=sleep,
                        policy=RetryPolicy(max_retry_after_s=20.0))
    collect(model, ASK)
    assert sleep.delays == [20.0]


def test_server_errors_are_retried_with_backoff_then_succeed(openai_server, sleep):
    openai_server.script(Fail(500), Fail(503), Turn(text="finally"))
    items = collect(make_model(openai_server, sleep), ASK)
    assert kinds(items) == ["Retrying", "Retrying", "TextDelta", "Usage", "TurnEnd"]
    first, second = sleep.delays
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0  # equal jitter around 1 s, 2 s
    assert len(openai_server.requests) == 3


def test_rate_limit_budget_spent_raises_rate_limit(openai_server, sleep):
    openai_server.script(*[Fail(429, retry_after="1")] * 3)
    items, error = collect_until_error(make_model(openai_server, sleep), ASK)
    assert error.kind == "rate-limit" and error.status == 429
    assert "gave up after 3 attempts" in error.message
    assert kinds(items) == ["Retrying", "Retrying"]


def test_insufficient_quota_is_never_retried(openai_server, sleep):
    """An exhausted quota (the issue's 429 ``insufficient_quota``, retried 4 times before)
    fails at once with kind ``quota``: waiting does not refill it."""
    openai_server.script(Fail(429, "You exceeded your current quota, please check your plan "
                              "and billing details.", code="insufficient_quota"), Turn(text="no"))
    items, error = collect_until_error(make_model(openai_server, sleep), ASK)
    assert (error.kind, error.status) == ("quota", 429)
    assert "quota" in error.message and "OVERMIND_FALLBACK_MODEL" in error.message
    assert items == [] and sleep.delays == [] and len(openai_server.requests) == 1


def test_401_is_not_retried_and_says_which_variable(openai_server, sleep):
    model = make_model(openai_server, sleep, key="sk-wrong-secret-value", provider="OpenAI")
    items, error = collect_until_error(model, ASK)
    assert error.message == "OpenAI rejected the API key (401): check OPENAI_API_KEY"
    assert (error.kind, error.status) == ("auth", 401)
    assert items == [] and sleep.delays == []
    assert len(openai_server.requests) == 1


def test_400_is_not_retried_and_keys_are_redacted(openai_server, sleep):
    openai_server.script(Fail(400, f"Invalid schema for tool; key {KEY} and sk-abcdefghijkl"))
    _, error = collect_until_error(make_model(openai_server, sleep), ASK)
    assert error.kind == "bad-request" and error.status == 400
    assert "rejected the request (400): Invalid schema for tool" in error.message
    assert KEY not in error.message and "sk-abcdefghijkl" not in error.message
    assert KEY not in repr(make_model(openai_server, sleep))
    assert len(openai_server.requests) == 1


def test_a_hanging_server_times_out_within_the_timeout(openai_server, sleep):
    openai_server.script(Hang(30), Hang(30))
    model = make_model(openai_server, sleep, attempts=2, timeout_s=0.5)
    started = time.monotonic()
    items, error = collect_until_error(model, ASK)
    elapsed = time.monotonic() - started
    assert error.kind == "timeout"
    assert "did not answer within 0.5 s" in error.message
    assert 0.9 <= elapsed < 8.0  # two attempts of 0.5 s each, no real sleeping (30 s hangs)
    assert kinds(items) == ["Retrying"]


def test_a_stream_cut_midway_never_yields_the_partial_call(openai_server, sleep):
    args = {"path": "README.md", "content": "a long content " * 5}
    # events: role, text, call header, 2 argument fragments — then the connection drops
    openai_server.script(Turn(text="Writing", tool_calls=[Call("write_file", args)], cut_after=5),
                         Turn(text="Again", tool_calls=[Call("write_file", args, id="c2")]))
    items = collect(make_model(openai_server, sleep), ASK, [WRITE])
    assert kinds(items) == ["TextDelta", "Retrying", "TextDelta", "ToolCallReady", "Usage",
                            "TurnEnd"]
    assert "cut the stream midway" in items[1].reason
    assert items[3] == ToolCallReady(ToolCall("c2", "write_file", args))
    assert len(openai_server.requests) == 2


def test_a_stream_ending_without_finish_reason_is_a_cut(openai_server, sleep):
    openai_server.script(Turn(tool_calls=[Call("write_file", {"path": "x"})], cut_after=3,
                              cut_mode="eof"), Turn(text="ok"))
    items = collect(make_model(openai_server, sleep), ASK, [WRITE])
    assert kinds(items) == ["Retrying", "TextDelta", "Usage", "TurnEnd"]
    assert "without a finish reason" in items[0].reason


def test_cuts_until_the_budget_is_spent_raise_stream_cut(openai_server, sleep):
    cut = Turn(tool_calls=[Call("write_file", {"path": "x", "content": "y" * 40})], cut_after=4)
    openai_server.script(cut, cut)
    items, error = collect_until_error(make_model(openai_server, sleep, attempts=2), ASK, [WRITE])
    assert error.kind == "stream-cut"
    assert not any(isinstance(item, ToolCallReady) for item in items)


def test_an_unreachable_endpoint_is_a_connection_error(sleep):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = OpenAIModel("m", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", sleep=sleep,
                        policy=RetryPolicy(max_attempts=2), timeout_s=2.0)
    items, error = collect_until_error(model, ASK)
    assert error.kind == "connection"
    assert f"127.0.0.1:{port}" in error.message
    assert kinds(items) == ["Retrying"]


def test_label_and_model_id():
    local = OpenAIModel("llama3.1", api_key="x", base_url="http://user:pw@127.0.0.1:11434/v1")
    assert local.label == "llama3.1 (http://127.0.0.1:11434)"
    assert local.model_id == "openai:llama3.1@http://127.0.0.1:11434/v1"  # no credentials
    hosted = OpenAIModel("gpt-4.1", api_key="x")
    assert (hosted.label, hosted.model_id) == ("gpt-4.1 (OpenAI)", "openai:gpt-4.1")
