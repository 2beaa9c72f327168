"""ACP ``session/update`` notifications → Overmind events (type, data).

Mapping (ACP update kind → event type): ``agent_message_chunk`` → ``agent-message``,
``agent_thought_chunk`` → ``agent-thinking``, ``tool_call`` → ``tool-use``,
``tool_call_update`` with a final status → ``tool-result`` (otherwise ``tool-use``),
``plan`` → ``agent-plan``, ``usage_update`` (context window fill) → ``agent-context``.
A tool call's file edits (ACP ``diff`` content) go in its event's ``diffs``.
Agent text is untrusted: it is stored as text and rendered escaped; previews are clipped
to ``PREVIEW_CHARS``.
"""

from __future__ import annotations

from typing import Any

PREVIEW_CHARS = 2000
DIFF_CHARS = 20_000


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):
        return "".join(_text(c) for c in content)
    inner = getattr(content, "content", None)
    if inner is not None and not isinstance(content, str):
        return _text(inner)
    return str(getattr(content, "text", "") or "")


def to_event(update: Any) -> tuple[str, dict[str, Any]] | None:
    """The ``(event type, data)`` for one ACP update, or None for kinds we do not record."""
    kind = getattr(update, "session_update", None)
    if kind == "agent_message_chunk":
        return "agent-message", {"text": _text(update.content)}
    if kind == "agent_thought_chunk":
        return "agent-thinking", {"text": _text(update.content)}
    if kind in ("tool_call", "tool_call_update"):
        return _tool(kind, update)
    if kind == "plan":
        return "agent-plan", {"entries": [{"content": e.content, "status": e.status,
                                           "priority": e.priority} for e in update.entries]}
    if kind == "usage_update":
        return "agent-context", {"used_tokens": update.used, "size_tokens": update.size}
    return None


def _tool(kind: str, update: Any) -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {"id": update.tool_call_id, "status": update.status}
    for field in ("title", "kind"):
        if getattr(update, field, None):
            data[field] = getattr(update, field)
    if update.raw_input is not None:
        data["input"] = update.raw_input
    if update.locations:
        data["paths"] = [loc.path for loc in update.locations]
    if diffs := _diffs(update.content):
        data["diffs"] = diffs
    final = kind == "tool_call_update" and update.status in ("completed", "failed")
    if final:
        data["output"] = _text(update.content)[:PREVIEW_CHARS]
        if update.raw_output is not None:
            data["result"] = update.raw_output
    return ("tool-result" if final else "tool-use"), data


def _diffs(content: Any) -> list[dict[str, Any]]:
    """The file edits among a tool call's content (ACP ``diff`` items: Claude's Edit and
    Write, Gemini's edits) as ``{path, old_text, new_text}``, each text clipped to
    ``DIFF_CHARS``, so views can show the edit as a diff (``old_text`` None: a new file)."""
    def clipped(text: str | None) -> str | None:
        return None if text is None else text[:DIFF_CHARS]
    return [{"path": c.path, "old_text": clipped(c.old_text), "new_text": clipped(c.new_text)}
            for c in content or () if getattr(c, "type", None) == "diff"]


def transcript(event_type: str, data: dict[str, Any]) -> str | None:
    """A human line for the mission's log (``overmind logs`` of an agent), or None."""
    if event_type == "agent-message":
        return data["text"]
    if event_type == "tool-use" and data.get("status") != "pending":
        return f"\n→ {data.get('title') or data.get('id')}\n"
    if event_type == "tool-result":
        mark = "✓" if data.get("status") == "completed" else "✗"
        first = (data.get("output") or "").strip().splitlines()[:1]
        return f"  {mark} {first[0][:160] if first else ''}\n"
    if event_type == "tool-decision" and data.get("decision") == "deny":
        return f"  ⊘ the command policy refused `{data.get('command')}`: {data.get('reason')}\n"
    if event_type == "agent-prompt":
        return f"\n» {data['text']}\n"
    if event_type == "agent-finished":
        error = f": {data['error']}" if data.get("error") else ""
        return (f"\n[finished: {data.get('stop_reason')}{error}"
                f"{_usage_line(data.get('usage'))}]\n")
    return None


def _usage_line(usage: dict[str, Any] | None) -> str:
    if not usage:
        return ""
    cost = usage.get("cost_usd")
    money = f", ${cost:.4f}" if cost is not None else ""
    return (f"; {usage.get('model') or 'model'}: {usage['input_tokens']} tokens in, "
            f"{usage['output_tokens']} out{money}")


def prompt_usage(response: Any, meta: dict[str, Any], cost_usd: float | None
                  ) -> dict[str, Any] | None:
    """A prompt's token totals and cost (USD), from whichever format the agent uses:
    ACP ``PromptResponse.usage`` (Claude, the built-in agent with its cost in
    ``_meta.overmind``), or Gemini CLI's ``_meta.quota.token_count``; None without any."""
    cost = meta.get("cost_usd", cost_usd)
    model = meta.get("model")
    usage = response.usage
    if usage is not None:
        tokens = (usage.input_tokens, usage.output_tokens, usage.cached_read_tokens or 0)
    else:
        quota = (response.field_meta or {}).get("quota")
        count = quota.get("token_count") if isinstance(quota, dict) else None
        if not isinstance(count, dict):
            if cost is None:
                return None
            count = {}
        tokens = (_count(count, "input_tokens"), _count(count, "output_tokens"), 0)
        models = quota.get("model_usage") if isinstance(quota, dict) else None
        if isinstance(models, list) and models and isinstance(models[0], dict):
            model = model or models[0].get("model")
    return {"input_tokens": tokens[0], "output_tokens": tokens[1], "cached_tokens": tokens[2],
            "cost_usd": cost, "model": model}


def _count(counts: dict[str, Any], key: str) -> int:
    value = counts.get(key)
    return value if isinstance(value, int) and value >= 0 else 0


def spent(before: float | None, after: float | None) -> float | None:
    """The cost of one prompt (USD) from the session's cumulative cost before and after."""
    if after is None:
        return None
    return round(max(0.0, after - (before or 0.0)), 6)
