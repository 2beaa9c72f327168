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
    "engine-started",  # data: {adopted, lost, sandbox: {available, reason, …}}
    "engine-stopping",  # data: {}
    # agents (ACP runtime)
    "agent-session",  # data: {session_id, agent, title, loaded}
    "agent-prompt",  # data: {text}   (the text only reaches submitter and host)
    "agent-thinking", "agent-message",  # data: {text}
    "agent-progress",  # data: {text, percent?}   (an agent's report_progress over MCP)
    "tool-use", "tool-result",  # data: {id, title, kind, status, input?, paths?, output?}
    "agent-plan",  # data: {entries: [{content, status, priority}]}
    # one model turn (scope "turn") or, for agents that report no turns, one prompt
    "agent-usage",  # data: {input_tokens, output_tokens, cached_tokens, cost_usd?, model,
    #                        scope: "turn" | "prompt"}   (tokens; cost in USD)
    "agent-context",  # data: {used_tokens, size_tokens}   (ACP usage_update)
    "agent-liveness",  # data: {state: working|waiting|idle|done|dead}
    "agent-finished",  # data: {stop_reason, changed, guard?, error?, usage?: totals}
    # questions and the mailbox
    "question-asked", "question-answered",  # data: Question.to_dict() / {id, answer, by}
    "message",  # data: {id, sender, recipient, text}   (agents ⇄ agents ⇄ humans)
    # party (party field set; prompt text only in the submitter's and host's views)
    "party-opened", "party-closed",  # data: {name, host}
    "member-joined", "member-approved", "member-left", "member-kicked",  # data: {member}
    "member-presence",  # data: {member, name, role, state, connected}  (party websocket)
    "invite-created", "invite-revoked",  # data: {id, code, expires_at}   (never a secret)
    "prompt-queued", "prompt-status",  # data: {id, member, status, text?}
    # orchestration (Overmind multiplayer vocabulary)
    "objective-created",  # data: {id, title, prompts, story}
    "objective-status",  # data: {state, previous, reason}
    "scope-ready",  # data: {files: [path], complexity: low|medium|high}
    "plan-ready",  # data: {round, tasks: [{id, name, description, scope, depends_on, agent}]}
    "task-status",  # data: {task, name, state, previous, reason}
    "agent-spawned",  # data: {task, name, agent, workspace, branch}
    "change-status",  # data: {change, task (name), state, previous, reason, merge_commit?}
    "verification",  # data: {change, command, ok, exit_code, output_tail}
    "run-complete",  # data: {objective, tasks, changes, merged, not_merged, failed_tasks,
    #                         outcome: "done" | "done, N not merged" | …, usage}
    "run-error",  # data: {objective, error}
    # after a crash (issue 15)
    "mission-orphan",  # data: {reason}   (a re-adopted agent without its ACP pipe, stopped)
    "objectives-reconciled",  # data: {orphans, tasks, changes, resumed, asked, duration_ms}
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
