"""``GeminiModel`` through the real ``google-genai`` SDK against the loopback wire server."""

from __future__ import annotations

import base64
import socket
import time

import pytest
from llm_helpers import KEY, RecordingSleep, collect, collect_until_error

from overmind_jupyter.llm.contract import (
    Message,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    TurnEnd,
    Usage,
)
from overmind_jupyter.llm.gemini_model import GeminiModel
from overmind_jupyter.llm.retry import RetryPolicy
from overmind_jupyter.testing.gemini_server import Call, Fail, GeminiWireServer, Hang, Turn

pytestmark = pytest.mark.timeout(60)

ASK = [Message("system", "You read files."), Message("user", "What is in a.txt?")]
READ = ToolSpec("read_file", "Read a file.",
                {"type": "object", "properties": {"path": {"type": "string"}},
                 "required": ["path"]})


def make_model(server: GeminiWireServer, sleep: RecordingSleep, *, key: str = KEY,
               attempts: int = 3, timeout_s: float = 5.0, **kw) -> GeminiModel:
    return GeminiModel("gemini-2.5-pro", api_key=key, base_url=server.url, timeout_s=timeout_s,
                       policy=RetryPolicy(max_attempts=attempts), sleep=sleep, **kw)


def kinds(items: list) -> list[str]:
    return [type(item).__name__ for item in items]


def test_streams_text_then_usage_and_turn_end(gemini_server, sleep):
    gemini_server.script(Turn(text=["It ", "says hi."], usage=(300, 25, 200)))
    items = collect(make_model(gemini_server, sleep), ASK)
    assert items == [TextDelta("It "), TextDelta("says hi."), Usage(300, 25, 200),
                     TurnEnd("end_turn")]
    request = gemini_server.requests[0]
    assert request.path == "/v1/models/gemini-2.5-pro:streamGenerateContent"
    assert request.query == {"alt": "sse"}
    assert request.headers["x-goog-api-key"] == KEY
    assert request.body["contents"] == [{"role": "user",
                                         "parts": [{"text": "What is in a.txt?"}]}]
    assert request.body["systemInstruction"]["parts"] == [{"text": "You read files."}]
    assert "tools" not in request.body


def test_timeout_reaches_the_sdk_in_milliseconds(gemini_server, sleep):
    gemini_server.script(Turn(text="ok"))
    collect(make_model(gemini_server, sleep, timeout_s=2.5), ASK)
    # google-genai turns HttpOptions.timeout (ms) into seconds for this header: ceil(2.5)
    assert gemini_server.requests[0].headers["x-server-timeout"] == "3"


def test_function_calls_are_surfaced_at_the_clean_end(gemini_server, sleep):
    gemini_server.script(Turn(text="Reading.", tool_calls=[
        Call("read_file", {"path": "a.txt"}), Call("read_file", {"path": "b.txt"}, id="g-7")]))
    items = collect(make_model(gemini_server, sleep), ASK, [READ])
    assert items == [TextDelta("Reading."),
                     ToolCallReady(ToolCall("gemini-call-1", "read_file", {"path": "a.txt"})),
                     ToolCallReady(ToolCall("g-7", "read_file", {"path": "b.txt"})),
                     Usage(12, 7, 0), TurnEnd("tool_use")]
    declaration = gemini_server.requests[0].body["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "read_file"
    assert declaration["description"] == "Read a file."
    schema = declaration.get("parametersJsonSchema", declaration.get("parameters_json_schema"))
    assert schema == READ.parameters


def test_tool_results_go_back_as_function_responses_with_signatures(gemini_server, sleep):
    signature = base64.b64encode(b"opaque-thought").decode()
    gemini_server.script(
        Turn(tool_calls=[Call("read_file", {"path": "a.txt"}, thought_signature=signature)]),
        Turn(text="a.txt says hi."))
    model = make_model(gemini_server, sleep)
    call = collect(model, ASK, [READ])[0].call
    history = [*ASK, Message("assistant", "", tool_calls=(call,)),
               Message("tool", "hi", tool_call_id=call.id)]  # no name: found from the call
    collect(model, history, [READ])
    contents = gemini_server.requests[1].body["contents"]
    assert contents[1]["role"] == "model"
    part = contents[1]["parts"][0]
    assert part["functionCall"] == {"name": "read_file", "args": {"path": "a.txt"}}
    assert part["thoughtSignature"] == signature
    assert contents[2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "read_file", "response": {"result": "hi"}}}]}


def test_429_waits_what_retry_after_says(gemini_server, sleep):
    gemini_server.script(Fail(429, "quota", retry_after="6"), Turn(text="ok"))
    items = collect(make_model(gemini_server, sleep), ASK)
    assert sleep.delays == [6.0]
    assert kinds(items) == ["Retrying", "TextDelta", "Usage", "TurnEnd"]
    assert items[0].delay_s == 6.0 and "429" in items[0].reason


def test_429_honours_google_retry_info(gemini_server, sleep):
    gemini_server.script(Fail(429, "quota", retry_info="4.5s"), Turn(text="ok"))
    collect(make_model(gemini_server, sleep), ASK)
    assert sleep.delays == [4.5]


def test_a_daily_quota_is_never_retried(gemini_server, sleep):
    gemini_server.script(Fail(429, "You exceeded your current quota.",
                              quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
                         Turn(text="no"))
    items, error = collect_until_error(make_model(gemini_server, sleep), ASK)
    assert (error.kind, error.status) == ("quota", 429)
    assert items == [] and sleep.delays == [] and len(gemini_server.requests) == 1


def test_a_per_minute_limit_is_still_retried(gemini_server, sleep):
    gemini_server.script(Fail(429, "You exceeded your current quota.", retry_info="2s",
                              quota_id="GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
                         Turn(text="ok"))
    collect(make_model(gemini_server, sleep), ASK)
    assert sleep.delays == [2.0]


def test_server_errors_are_retried_then_succeed(gemini_server, sleep):
    gemini_server.script(Fail(500), Fail(503), Turn(text="fine"))
    items = collect(make_model(gemini_server, sleep), ASK)
    assert kinds(items) == ["Retrying", "Retrying", "TextDelta", "Usage", "TurnEnd"]
    assert len(sleep.delays) == 2 and len(gemini_server.requests) == 3


def test_401_is_not_retried_and_says_which_variable(gemini_server, sleep):
    gemini_server.script(Fail(401, "Request had invalid authentication credentials."))
    items, error = collect_until_error(make_model(gemini_server, sleep), ASK)
    assert error.message == "Gemini rejected the API key (401): check GEMINI_API_KEY"
    assert (error.kind, error.status) == ("auth", 401)
    assert items == [] and sleep.delays == []


def test_a_bad_key_answered_with_400_is_an_auth_error(gemini_server, sleep):
    model = make_model(gemini_server, sleep, key="AIzaWrongWrongWrongWrongWrong12",
                       key_env="GOOGLE_API_KEY")
    _, error = collect_until_error(model, ASK)
    assert error.message == "Gemini rejected the API key (400): check GOOGLE_API_KEY"
    assert error.kind == "auth"
    assert len(gemini_server.requests) == 1


def test_400_is_not_retried_with_a_clear_message(gemini_server, sleep):
    gemini_server.script(Fail(400, "Invalid JSON payload received."))
    _, error = collect_until_error(make_model(gemini_server, sleep), ASK)
    assert error.message == "Gemini rejected the request (400): Invalid JSON payload received."
    assert error.kind == "bad-request" and sleep.delays == []


def test_a_hanging_server_times_out_within_the_timeout(gemini_server, sleep):
    gemini_server.script(Hang(30), Hang(30))
    model = make_model(gemini_server, sleep, attempts=2, timeout_s=0.5)
    started = time.monotonic()
    items, error = collect_until_error(model, ASK)
    elapsed = time.monotonic() - started
    assert error.kind == "timeout" and "did not answer within 0.5 s" in error.message
    assert 0.9 <= elapsed < 8.0  # two attempts of 0.5 s, not the 30 s hang
    assert kinds(items) == ["Retrying"]


def test_a_stream_cut_midway_never_yields_the_call(gemini_server, sleep):
    # events: "Reading", the functionCall event — then the connection drops before the end
    calls = [Call("read_file", {"path": "a.txt"})]
    gemini_server.script(Turn(text="Reading", tool_calls=calls, cut_after=2),
                         Turn(text="Again", tool_calls=calls))
    items = collect(make_model(gemini_server, sleep), ASK, [READ])
    assert kinds(items) == ["TextDelta", "Retrying", "TextDelta", "ToolCallReady", "Usage",
                            "TurnEnd"]
    assert "cut the stream midway" in items[1].reason


def test_a_stream_ending_without_finish_reason_is_a_cut(gemini_server, sleep):
    calls = [Call("read_file", {"path": "a.txt"})]
    gemini_server.script(Turn(tool_calls=calls, cut_after=1, cut_mode="eof"), Turn(text="ok"))
    items = collect(make_model(gemini_server, sleep), ASK, [READ])
    assert kinds(items) == ["Retrying", "TextDelta", "Usage", "TurnEnd"]
    assert "without a finish reason" in items[0].reason


def test_cuts_until_the_budget_is_spent_raise_stream_cut(gemini_server, sleep):
    cut = Turn(tool_calls=[Call("read_file", {"path": "a.txt"})], cut_after=1)
    gemini_server.script(cut, cut)
    items, error = collect_until_error(make_model(gemini_server, sleep, attempts=2), ASK, [READ])
    assert error.kind == "stream-cut"
    assert not any(isinstance(item, ToolCallReady) for item in items)


def test_max_tokens_finish(gemini_server, sleep):
    gemini_server.script(Turn(text="trunc", finish="MAX_TOKENS"))
    items = collect(make_model(gemini_server, sleep, max_output_tokens=3), ASK)
    assert items[-1] == TurnEnd("max_tokens")
    assert gemini_server.requests[0].body["generationConfig"]["maxOutputTokens"] == 3


def test_an_unreachable_endpoint_is_a_connection_error(sleep):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = GeminiModel("gemini-2.5-pro", api_key=KEY, base_url=f"http://127.0.0.1:{port}/",
                        sleep=sleep, policy=RetryPolicy(max_attempts=2), timeout_s=2.0)
    items, error = collect_until_error(model, ASK)
    assert error.kind == "connection"
    assert f"Gemini could not be reached at http://127.0.0.1:{port}" in error.message
    assert kinds(items) == ["Retrying"]


def test_an_exhausted_server_script_is_a_clear_500(gemini_server, sleep):
    _, error = collect_until_error(make_model(gemini_server, sleep, attempts=1), ASK)
    assert error.kind == "server" and "script exhausted" in error.message
