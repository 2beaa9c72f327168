"""A scripted model for real agent CLIs behind the loopback wire servers.

Real CLIs make calls no fixed reply queue foresees (Gemini CLI's model router, Claude
Code's titles and quota checks), so this model answers each request from the prompt it
carries (a ``responder`` of ``_wire.LoopbackServer``). The last line of the form
``SCRIPT: VERB ARGS`` in the conversation's last message (the user's prompt) says what to
do:

- ``write PATH TEXT``: call the CLI's file-write tool (``Tools.write``)
- ``call TOOL JSON``: call the offered tool named ``TOOL``, or ending in ``__TOOL`` (how
  CLIs name an MCP server's tools: Claude Code ``mcp__overmind__ask_user``), with the JSON
  object as its arguments
- ``run COMMAND``: call the CLI's shell tool (``Tools.run``)
- ``fail``: answer HTTP 400 (a turn that ends in an error; 400 is not retried)
- ``slow``: hang 30 s (for cancel tests)
- ``say TEXT``: answer TEXT

Once the conversation's last message is a tool result the model answers
``done: <the result's first line>``; a request whose last message has no ``SCRIPT:``
line (a side call, a CLI's own continuation) gets ``ok``. Usage is the ``Turn``
default (12 tokens in, 7 out).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from collections.abc import Callable
from typing import Any

from ._wire import Call, Fail, Hang, RecordedRequest, Reply, Turn

__all__ = ["BUILTIN_TOOLS", "CLAUDE_TOOLS", "CODEX_TOOLS", "GEMINI_TOOLS", "Exchange",
           "ScriptedModel", "Tools"]

_SCRIPT = re.compile(r"SCRIPT: *(\w+) *([^\n]*)")


@dataclasses.dataclass(frozen=True)
class Tools:
    """How one CLI's tools are called: ``write(path, text)`` and ``run(command)``."""

    write: Callable[[str, str], Call]
    run: Callable[[str], Call]


GEMINI_TOOLS = Tools(
    write=lambda path, text: Call("write_file", {"file_path": path, "content": text}),
    run=lambda command: Call("run_shell_command", {"command": command}))
BUILTIN_TOOLS = Tools(
    write=lambda path, text: Call("write_file", {"path": path, "content": text}),
    run=lambda command: Call("run_command", {"command": command}))
# Codex 2.x offers exec_command (no apply_patch for unknown models); its commands run in
# Codex's own sandbox unless the model asks to escalate, which is what reaches the client
CODEX_TOOLS = Tools(
    write=lambda path, text: _codex_exec(f"printf %s {shlex.quote(text)} > {shlex.quote(path)}"),
    run=lambda command: _codex_exec(command))
CLAUDE_TOOLS = Tools(
    write=lambda path, text: Call("Write", {"file_path": path, "content": text}),
    run=lambda command: Call("Bash", {"command": command, "description": "scripted"}))


def _codex_exec(command: str) -> Call:
    return Call("exec_command", {"cmd": command, "sandbox_permissions": "require_escalated",
                                 "justification": "scripted test step"})


@dataclasses.dataclass(frozen=True)
class Exchange:
    """What the model needs of a request: its last message.

    Attributes:
        text: the last message's text (its blocks joined).
        tool_result: the last message's tool result when it is one, else None.
        tools: the names of the tools the request offers.
    """

    text: str
    tool_result: str | None
    tools: tuple[str, ...] = ()


class ScriptedModel:
    """A responder: ``reader`` turns a provider's request body into an ``Exchange``.

    ``turns`` counts the requests answered from a ``SCRIPT:`` line.
    """

    def __init__(self, tools: Tools, reader: Callable[[Any], Exchange]) -> None:
        self.tools, self.reader = tools, reader
        self.turns = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        exchange = self.reader(request.body)
        found = _SCRIPT.findall(exchange.text)
        if not found:
            return Turn(text="ok")
        self.turns += 1
        if exchange.tool_result is not None:
            first = (exchange.tool_result.strip().splitlines() or [""])[0]
            return Turn(text=f"done: {first[:120]}")
        verb, args = found[-1]
        if verb == "call":
            return _call(exchange.tools, args.strip())
        return self._act(verb, args.strip())

    def _act(self, verb: str, args: str) -> Reply:
        if verb == "write" and len(args.split(" ", 1)) == 2:
            path, text = args.split(" ", 1)
            return Turn(tool_calls=[self.tools.write(path, text + "\n")])
        if verb == "run" and args:
            return Turn(tool_calls=[self.tools.run(args)])
        if verb == "fail":
            return Fail(400, "scripted failure: the request was refused")
        if verb == "slow":
            return Hang(30.0)
        return Turn(text=args or "ok")


def _call(offered: tuple[str, ...], args: str) -> Reply:
    """A call of the offered tool ``args`` names (``TOOL JSON``); text when none matches."""
    wanted, _, raw = args.partition(" ")
    name = next((t for t in offered if t == wanted or t.endswith(f"__{wanted}")), None)
    if name is None:
        return Turn(text=f"no tool {wanted} among {', '.join(offered) or 'none'}")
    return Turn(tool_calls=[Call(name, json.loads(raw or "{}"))])


def gemini_exchange(body: Any) -> Exchange:
    """``Exchange`` of a Gemini ``generateContent`` body (``contents[].parts[]``)."""
    contents = body.get("contents", []) if isinstance(body, dict) else []
    last = contents[-1].get("parts", []) if contents else []
    texts = [p.get("text", "") for p in last if isinstance(p, dict)]
    results = [p["functionResponse"] for p in last
               if isinstance(p, dict) and "functionResponse" in p]
    result = None
    if results:
        response = results[-1].get("response", {})
        result = str(response.get("output", response) if isinstance(response, dict)
                     else response)
    tools = body.get("tools", []) if isinstance(body, dict) else []
    names = [d.get("name", "") for t in tools if isinstance(t, dict)
             for d in t.get("functionDeclarations", []) if isinstance(d, dict)]
    return Exchange("\n".join(texts), result, tuple(names))


def responses_exchange(body: Any) -> Exchange:
    """``Exchange`` of an OpenAI Responses body (``input[]`` items)."""
    items = body.get("input", []) if isinstance(body, dict) else []
    items = [i for i in items if isinstance(i, dict)]
    last = items[-1] if items else {}
    texts = [_block_text({"content": last.get("content")})] if last.get("type") == "message" \
        else []
    result = None
    if last.get("type") == "function_call_output":
        output = last.get("output")
        result = output if isinstance(output, str) else _block_text({"content": output})
    return Exchange("\n".join(texts), result, _names(body))


def anthropic_exchange(body: Any) -> Exchange:
    """``Exchange`` of an Anthropic Messages body (``messages[].content`` blocks; Claude
    Code appends its environment as a ``system`` message, which is not the last turn)."""
    messages = body.get("messages", []) if isinstance(body, dict) else []
    messages = [m for m in messages if isinstance(m, dict) and m.get("role") != "system"]
    last = _blocks(messages[-1].get("content")) if messages else []
    texts = [_block_text(b) for b in last if b.get("type") != "tool_result"]
    results = [b for b in last if b.get("type") == "tool_result"]
    result = _block_text({"content": results[-1].get("content")}) if results else None
    return Exchange("\n".join(texts), result, _names(body))


def _names(body: Any) -> tuple[str, ...]:
    """The tool names of an Anthropic or Responses body (``tools[].name``)."""
    tools = body.get("tools", []) if isinstance(body, dict) else []
    return tuple(str(t["name"]) for t in tools if isinstance(t, dict) and "name" in t)


def _blocks(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def _block_text(block: dict) -> str:
    if "text" in block:
        return str(block["text"])
    inner = block.get("content")
    if isinstance(inner, str):
        return inner
    return "\n".join(_block_text(b) for b in _blocks(inner)) if inner else ""
