"""Wire schema of events: the append-only, sequenced record every UI renders.

An event on the wire (REST, websocket, store row) is one JSON object::

    {"seq": int, "ts": float, "type": EventType, "mission": str | None,
     "objective": str | None, "party": str | None, "data": {...}}

``seq`` increases by one per appended event and is assigned before broadcast, so a client
that resumes from ``?after=<seq>`` misses nothing. ``ts`` is wall-clock epoch seconds.
The TypeScript mirror lives in ``labextension/src/events.ts``.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, get_args

EventType = Literal[
    # missions (supervisor)
    "mission-created",  # data: {name, kind, command, parent}
    "mission-status",  # data: {status, previous, reason, pid?, exit?}
    "mission-restart",  # data: {attempt, delay_s, reason}
    "mission-adopted",  # data: {pid, note}
    "mission-stalled",  # data: {idle_s}
    "mission-child-failed",  # data: {child, reason}  (sent to the parent mission)
    "engine-started",  # data: {adopted, lost}
    "engine-stopping",  # data: {}
    # agents (ACP runtime)
    "agent-session",  # data: {session_id, agent, title, loaded}
    "agent-prompt",  # data: {text}   (the text only reaches submitter and host)
    "agent-thinking", "agent-message",  # data: {text}
    "tool-use", "tool-result",  # data: {id, title, kind, status, input?, paths?, output?}
    "agent-plan",  # data: {entries: [{content, status, priority}]}
    # one model turn (scope "turn") or, for agents that report no turns, one prompt
    "agent-usage",  # data: {input_tokens, output_tokens, cached_tokens, cost_usd?, model,
    #                        scope: "turn" | "prompt"}   (tokens; cost in USD)
    "agent-context",  # data: {used_tokens, size_tokens}   (ACP usage_update)
    "agent-liveness",  # data: {state: working|waiting|idle|done|dead}
    "agent-finished",  # data: {stop_reason, changed, guard?, error?, usage?: totals}
    # questions
    "question-asked", "question-answered",
    # orchestration (Overmind multiplayer vocabulary)
    "plan-ready", "agent-spawned", "run-complete", "run-error",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))


class Event(TypedDict):
    """One event as stored and sent; see the module docstring for field meanings."""

    seq: int
    ts: float
    type: EventType
    mission: str | None
    objective: str | None
    party: str | None
    data: dict[str, Any]
