"""Contract messages as Gemini ``Content`` dicts (no SDK import: ``gemini_model`` owns it).

Mapping (Gemini API reference, "Function calling",
https://ai.google.dev/gemini-api/docs/function-calling):

- ``system`` messages → one ``system_instruction`` (joined by blank lines);
- ``user`` → ``{"role": "user", "parts": [{"text"}]}``;
- ``assistant`` → ``{"role": "model"}`` with a text part and one ``function_call`` part
  per tool call (``thought_signature`` re-attached when this adapter produced the call);
- ``tool`` → a ``function_response`` part ``{"name", "response": {"result"}, "id"}`` in a
  ``user`` turn; consecutive turns of the same role are merged, as Gemini expects all the
  responses to one model turn together.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from .contract import Message, ToolCall


@dataclasses.dataclass(frozen=True, slots=True)
class _Remembered:
    provider_id: str | None
    signature: bytes | None


class CallMemory:
    """What Gemini must get back about the calls it made, keyed by our ``ToolCall.id``.

    Gemini may omit call ids (we then mint ``gemini-call-N``, which is not sent back) and
    Gemini 3 attaches a ``thought_signature`` that must be returned with the call.
    """

    def __init__(self) -> None:
        self._calls: dict[str, _Remembered] = {}
        self._counter = itertools.count(1)

    def new_call(self, function_call: Any, signature: bytes | None) -> ToolCall:
        """A ``ToolCall`` for an SDK ``FunctionCall``, remembering its id and signature."""
        provider_id = getattr(function_call, "id", None)
        call_id = provider_id or f"gemini-call-{next(self._counter)}"
        self._calls[call_id] = _Remembered(provider_id, signature)
        return ToolCall(id=call_id, name=function_call.name or "",
                        arguments=dict(function_call.args or {}))

    def wire_id(self, call_id: str | None) -> str | None:
        """The id to send back for ``call_id`` (None for ids we minted)."""
        remembered = self._calls.get(call_id or "")
        return remembered.provider_id if remembered else call_id

    def signature(self, call_id: str) -> bytes | None:
        """The thought signature Gemini attached to ``call_id``, if any."""
        remembered = self._calls.get(call_id)
        return remembered.signature if remembered else None


def to_system_instruction(messages: list[Message]) -> str | None:
    """All system messages joined by blank lines, or None when there is none."""
    texts = [m.content for m in messages if m.role == "system" and m.content]
    return "\n\n".join(texts) if texts else None


def to_contents(messages: list[Message], memory: CallMemory) -> list[dict[str, Any]]:
    """The non-system messages as Gemini ``Content`` dicts, same-role turns merged."""
    names = _tool_names(messages)
    contents: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "model" if message.role == "assistant" else "user"
        parts = _parts(message, memory, names)
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _tool_names(messages: list[Message]) -> dict[str, str]:
    """Tool call id → tool name, from the assistant messages (for unnamed tool results)."""
    return {c.id: c.name for m in messages for c in m.tool_calls}


def _parts(message: Message, memory: CallMemory, names: dict[str, str]) -> list[dict]:
    if message.role == "tool":
        return [_function_response(message, memory, names)]
    parts: list[dict[str, Any]] = [{"text": message.content}] if message.content else []
    parts += [_function_call(call, memory) for call in message.tool_calls]
    return parts or [{"text": ""}]


def _function_call(call: ToolCall, memory: CallMemory) -> dict[str, Any]:
    function_call: dict[str, Any] = {"name": call.name, "args": call.arguments}
    wire_id = memory.wire_id(call.id)
    if wire_id:
        function_call["id"] = wire_id
    part: dict[str, Any] = {"function_call": function_call}
    signature = memory.signature(call.id)
    if signature:
        part["thought_signature"] = signature
    return part


def _function_response(message: Message, memory: CallMemory, names: dict[str, str]) -> dict:
    name = message.name or names.get(message.tool_call_id or "", "")
    response: dict[str, Any] = {"name": name, "response": {"result": message.content}}
    wire_id = memory.wire_id(message.tool_call_id)
    if wire_id:
        response["id"] = wire_id
    return {"function_response": response}
