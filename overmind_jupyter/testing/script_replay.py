"""``ScriptReplayServer``: the scripted model's role scripts served over OpenAI's wire format.

A ``scripted:DIR`` directory (``orchestrator.roles``: ``story.json``, ``scope.json``,
``planner.json``, ``evaluator.json``, ``referee.json``, ``task-<name>.json``) is replayed
by a loopback Chat Completions endpoint, so the whole pipeline can run through the real
``openai`` SDK and ``OpenAIModel`` instead of ``ScriptedModel``. Each request is routed
to a script by what the pipeline itself sends:

- the system message starting with an in-engine role's ``SYSTEM`` prompt → that role;
- a request with ``response_format`` json_schema gets the scripted call of that schema's
  tool as JSON text, as providers with structured output answer;
- the built-in agent's system prompt → ``task-<name>``, ``name`` read from the engine's
  task prompt (``working on task "NAME"``, ``orchestrator.tasks.PROMPT``).

The turn played is the number of assistant messages already in the request (stateless,
so an SDK retry of the same request gets the same turn). A turn's ``expect`` must occur
in the last user or tool message and every tool it calls must be among the request's
tools, as ``ScriptedModel`` requires; a request no script answers, or one that breaks
those rules, gets HTTP 400 and is listed in ``problems``.

Example::

    with ScriptReplayServer.from_dir(scenario.write_scripts(tmp), api_key="k") as server:
        env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": server.url}
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..agents.builtin.agent import SYSTEM_PROMPT as AGENT_SYSTEM
from ..orchestrator import evaluator, planner, referee, scope, story
from ._wire import Call, Fail, Reply, Turn
from .openai_server import OpenAIWireServer, _ChatHandler

__all__ = ["ScriptReplayServer", "Served"]

ENGINE_SYSTEMS = {story.SYSTEM: "story", scope.SYSTEM: "scope", planner.SYSTEM: "planner",
                  evaluator.SYSTEM: "evaluator", referee.SYSTEM: "referee"}
AGENT_PREFIX = AGENT_SYSTEM
TASK_NAME = re.compile(r'working on task "([^"]+)"')


@dataclasses.dataclass(frozen=True, slots=True)
class Served:
    """One replayed turn: the ``script`` (role or ``task-<name>``), its 0-based ``turn``
    and the ``tokens`` (input + output) its usage chunk reported."""

    script: str
    turn: int
    tokens: int


class ScriptReplayServer(OpenAIWireServer):
    """A loopback OpenAI endpoint answering each request from its role's script.

    Args:
        scripts: script name (``story`` … ``task-<name>``) → turns in the scripted model's
            JSON form (``llm.scripted``: ``text``, ``tool_calls``, ``usage``, ``expect``).
        api_key: when set, requests with another bearer key get 401.

    Attributes:
        served: every turn answered, in order. ``problems``: why requests got 400.
    """

    def __init__(self, scripts: Mapping[str, Sequence[Mapping[str, Any]]],
                 api_key: str | None = None) -> None:
        super().__init__(api_key)
        self.scripts = {name: list(turns) for name, turns in scripts.items()}
        self.served: list[Served] = []
        self.problems: list[str] = []
        self._replay_lock = threading.Lock()

    @classmethod
    def from_dir(cls, directory: Path, api_key: str | None = None) -> ScriptReplayServer:
        """Load every ``*.json`` script of a ``scripted:DIR`` directory."""
        return cls({p.stem: json.loads(p.read_text())["turns"]
                    for p in sorted(Path(directory).glob("*.json"))}, api_key)

    def handlers(self) -> list[tuple[str, type, dict]]:
        """The chat completions route, answered by replay."""
        return [(r"/v1/chat/completions", _ReplayHandler, {"server": self})]

    @property
    def tokens(self) -> int:
        """Tokens (input + output) reported in the usage chunks of every served turn."""
        with self._replay_lock:
            return sum(s.tokens for s in self.served)

    def replay(self, body: Mapping[str, Any]) -> Reply:
        """The reply to one chat completions request ``body`` (module docstring)."""
        messages = list(body.get("messages") or [])
        name = script_for(messages)
        index = sum(1 for m in messages if m.get("role") == "assistant")
        turns = self.scripts.get(name or "", [])
        if name is None or index >= len(turns):
            what = "no script recognises its system prompt" if name is None else \
                f"script {name} has {len(turns)} turn(s), this is turn {index + 1}"
            return self._refuse(what)
        turn = _as_json_text(turns[index], body.get("response_format"))
        problem = _mismatch(turn, messages, body.get("tools") or [])
        if problem:
            return self._refuse(f"{name} turn {index + 1}: {problem}")
        reply = to_turn(turn, f"{name}_{index}")
        with self._replay_lock:
            self.served.append(Served(name, index, reply.usage[0] + reply.usage[1]))
        return reply

    def _refuse(self, problem: str) -> Fail:
        with self._replay_lock:
            self.problems.append(problem)
        return Fail(400, f"script replay: {problem}")


class _ReplayHandler(_ChatHandler):
    server: ScriptReplayServer

    def _reply(self) -> Reply:
        expected = self.server.api_key
        if expected is not None and \
                self.request.headers.get("Authorization", "") != f"Bearer {expected}":
            return Fail(401, "Incorrect API key provided.")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = {}
        return self.server.replay(body if isinstance(body, dict) else {})


def script_for(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The script a conversation belongs to (``story`` … ``task-<name>``), or None."""
    system = next((_text(m) for m in messages if m.get("role") == "system"), "")
    role = next((r for s, r in ENGINE_SYSTEMS.items() if system.startswith(s + "\n")), None)
    if role is not None:  # ``structured.ask`` adds how to answer after the role's prompt
        return role
    if not system.startswith(AGENT_PREFIX):
        return None
    first = next((_text(m) for m in messages if m.get("role") == "user"), "")
    found = TASK_NAME.search(first)
    return f"task-{found.group(1)}" if found else "task"


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts: join the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _mismatch(turn: Mapping[str, Any], messages: Sequence[Mapping[str, Any]],
              tools: Sequence[Mapping[str, Any]]) -> str:
    """Why ``turn`` may not answer this request (``""`` when it may)."""
    expect = turn.get("expect")
    last = next((_text(m) for m in reversed(messages) if m.get("role") in ("user", "tool")), "")
    if expect is not None and expect not in last:
        return f"expected {expect!r} in the last user/tool message, got {last[-300:]!r}"
    offered = {t.get("function", {}).get("name") for t in tools}
    missing = [c["name"] for c in turn.get("tool_calls") or [] if c["name"] not in offered]
    return f"calls {', '.join(missing)}, not among the offered tools" if missing else ""


def _as_json_text(turn: Mapping[str, Any], response_format: Any) -> Mapping[str, Any]:
    """A scripted call of the requested schema's tool as the JSON text a provider with
    ``response_format`` json_schema sends (the scripts answer structured requests with
    a call of the tool ``respond``)."""
    schema = response_format.get("json_schema") if isinstance(response_format, dict) else None
    name = schema.get("name") if isinstance(schema, dict) else None
    calls = turn.get("tool_calls") or []
    if not name or [c["name"] for c in calls] != [name]:
        return turn
    return {**turn, "tool_calls": [], "text": json.dumps(calls[0].get("arguments") or {})}


def to_turn(turn: Mapping[str, Any], call_prefix: str) -> Turn:
    """A scripted-model turn as a wire ``Turn`` (call ids ``call_<prefix>_<k>``)."""
    usage = turn.get("usage") or {}
    calls = [Call(c["name"], c.get("arguments") or {}, id=f"call_{call_prefix}_{k}")
             for k, c in enumerate(turn.get("tool_calls") or [])]
    return Turn(text=turn.get("text") or "", tool_calls=calls,
                usage=(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)),
                       int(usage.get("cached_tokens", 0))))
