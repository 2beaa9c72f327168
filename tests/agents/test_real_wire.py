"""What the real adapters sent (``wire/*.jsonl``, recorded by ``record_wire.py`` from
Claude Code 0.101.0, Codex 2.6.0 and Gemini CLI 0.61.0) read the way the runtime reads it:
auth methods, session modes, permission requests and their options, usage and cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from acp.schema import (
    InitializeResponse,
    NewSessionResponse,
    PromptResponse,
    RequestPermissionRequest,
    UsageUpdate,
)

from overmind_jupyter.agents import auth
from overmind_jupyter.agents.permissions import Answer, command_of, judge, option_for
from overmind_jupyter.agents.policy import DEFAULT_POLICY, Decision
from overmind_jupyter.agents.runtime import asking_mode
from overmind_jupyter.agents.updates import prompt_usage, spent

WIRE = Path(__file__).parent / "wire"
AGENTS = ("claude", "codex", "gemini")


def messages(name: str) -> list[dict]:
    return [json.loads(line)["msg"] for line in (WIRE / f"{name}.jsonl").open()]


def result_of(name: str, method: str) -> list[dict]:
    """Results of the client's ``method`` requests, in order."""
    sent = messages(name)
    ids = [m["id"] for m in sent if m.get("method") == method and "id" in m]
    return [m["result"] for m in sent if "result" in m and m.get("id") in ids
            and "method" not in m and _answers_client(sent, m)]


def _answers_client(sent: list[dict], reply: dict) -> bool:
    """A reply to our request, not our reply to the agent's (ids overlap)."""
    index = sent.index(reply)
    request = next(m for m in reversed(sent[:index]) if m.get("id") == reply["id"]
                   and "method" in m)
    return request["method"] != "session/request_permission"


def permission_requests(name: str) -> list[RequestPermissionRequest]:
    return [RequestPermissionRequest.model_validate(m["params"]) for m in messages(name)
            if m.get("method") == "session/request_permission"]


@pytest.mark.parametrize("name,env,method", [
    ("claude", {"ANTHROPIC_API_KEY": "k"}, None),  # no authMethods without terminal auth
    ("codex", {"OPENAI_API_KEY": "k"}, "api-key"),
    ("gemini", {"GEMINI_API_KEY": "k"}, "gemini-api-key")])
def test_auth_method_is_the_one_whose_key_is_set(name, env, method):
    init = InitializeResponse.model_validate(result_of(name, "initialize")[0])
    choice = auth.choose(init.auth_methods, env)
    assert (choice.method_id if choice else None) == method
    assert auth.choose(init.auth_methods, {}) is None
    if method:
        assert list(env) == auth.wanted(init.auth_methods)[:1]


@pytest.mark.parametrize("name,start,switched", [("claude", "auto", "default"),
                                                 ("codex", "agent", "read-only"),
                                                 ("gemini", "default", None)])
def test_sessions_are_moved_to_the_mode_that_asks(name, start, switched):
    session = NewSessionResponse.model_validate(result_of(name, "session/new")[0])
    assert session.modes.current_mode_id == start
    assert asking_mode(session.modes) == switched


@pytest.mark.parametrize("name,allow,deny", [("claude", "allow-once", "reject"),
                                             ("codex", "allow_once", "cancel"),
                                             ("gemini", "proceed_once", "cancel")])
def test_permission_requests_are_judged_and_answered_by_kind(name, allow, deny):
    denied, allowed = permission_requests(name)
    assert judge(DEFAULT_POLICY, command_of(denied.tool_call))[0] is Decision.DENY
    assert command_of(allowed.tool_call).text == "touch made-by-agent.txt"
    assert judge(DEFAULT_POLICY, command_of(allowed.tool_call))[0] is Decision.ASK
    assert option_for(Answer.ALLOW, allowed.options) == allow
    assert option_for(Answer.DENY, allowed.options) == deny
    kinds = {o.option_id: str(o.kind) for o in allowed.options}
    expected = "allow_always" if "allow_always" in kinds.values() else "allow_once"
    assert kinds[option_for(Answer.ALWAYS, allowed.options)] == expected


@pytest.mark.parametrize("name", AGENTS)
def test_every_prompts_tokens_are_read(name):
    answers = [PromptResponse.model_validate(r) for r in result_of(name, "session/prompt")]
    totals = [prompt_usage(r, {}, None) for r in answers]
    assert len(totals) == 3
    assert all(t is not None and t["input_tokens"] >= 12 and t["output_tokens"] >= 7
               for t in totals), totals


def test_claudes_cumulative_cost_becomes_each_prompts_cost():
    costs = [UsageUpdate.model_validate(m["params"]["update"]).cost.amount
             for m in messages("claude") if m.get("method") == "session/update"
             and m["params"]["update"].get("cost")]
    assert len(costs) == 3 and costs == sorted(costs)
    per_prompt = [spent(a, b) for a, b in zip([None, *costs], costs, strict=False)]
    assert all(c > 0 for c in per_prompt)
    assert sum(per_prompt) == pytest.approx(costs[-1])
