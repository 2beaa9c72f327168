"""One sample ``data`` per event type of ``events.py``, in the shapes its comments give."""

from __future__ import annotations

from typing import Any

_TOOL = {"id": "call-1", "title": "run tests", "kind": "execute", "status": "completed",
         "input": {"command": "pytest -q"}, "paths": ["tests/"], "output": "3 passed"}
_QUESTION = {"id": "q1", "kind": "tool-approval", "text": "allow `pytest -q`?",
             "options": ["allow", "deny"], "mission": "m1", "objective": None,
             "asked_at": 1700000000.5, "state": "open", "answer": None, "answered_by": None,
             "data": {"command": "pytest -q"}}
_PROMPT = {"id": "p1", "member": "ada", "status": "queued", "text": "add a parser"}
_INVITE = {"id": "i1", "code": "ABCD-EFGH", "expires_at": 1700086400.0}

SAMPLES: dict[str, dict[str, Any]] = {
    "mission-created": {"name": "web", "kind": "command", "command": ["sleep", "1"],
                        "parent": None, "status": "pending"},
    "mission-status": {"status": "exited", "previous": "running", "reason": "exit 0",
                       "pid": 42, "exit": {"returncode": 0, "signal": None, "reason": "ok"}},
    "mission-restart": {"attempt": 2, "delay_s": 1.5, "reason": "exit status 3"},
    "mission-adopted": {"pid": 42, "note": "re-adopted after a restart"},
    "mission-stalled": {"idle_s": 30.0},
    "mission-child-failed": {"child": "m2", "reason": "exit status 1"},
    "engine-started": {"adopted": ["web"], "resumed": [], "lost": []},
    "engine-stopping": {},
    "agent-session": {"session_id": "s1", "agent": "builtin", "title": "Built-in",
                      "loaded": False},
    "agent-auth": {"method": "gemini-api-key", "variables": ["GEMINI_API_KEY"]},
    "agent-mode": {"from": "default", "to": "bypassPermissions"},
    "agent-prompt": {"text": "fix the failing test"},
    "agent-thinking": {"text": "the parser drops the last token"},
    "agent-message": {"text": "Fixed: <b>not markup</b> \x1b[31mred\x1b[0m"},
    "agent-progress": {"text": "parser fixed; writing the test", "percent": 60.0},
    "tool-use": {**_TOOL, "status": "in_progress", "output": None},
    "tool-result": _TOOL,
    "agent-plan": {"entries": [{"content": "read", "status": "done", "priority": "high"}]},
    "agent-usage": {"input_tokens": 1200, "output_tokens": 80, "cached_tokens": 0,
                    "cost_usd": 0.0021, "model": "gpt-4.1-mini", "scope": "turn"},
    "agent-context": {"used_tokens": 5000, "size_tokens": 128000},
    "agent-liveness": {"state": "waiting"},
    "agent-finished": {"stop_reason": "end_turn", "changed": ["a.py"], "guard": None,
                       "usage": {"input_tokens": 1200, "output_tokens": 80}},
    "question-asked": _QUESTION,
    "question-answered": {"id": "q1", "answer": "deny", "by": "host", "state": "answered"},
    "message": {"id": "msg1", "sender": "planner", "recipient": "coder", "text": "go"},
    "party-opened": {"name": "sprint", "host": "ada"},
    "party-closed": {"name": "sprint", "host": "ada"},
    "member-joined": {"member": {"id": "u1", "name": "bob", "role": "collaborator"}},
    "member-approved": {"member": {"id": "u1", "name": "bob", "role": "collaborator"}},
    "member-left": {"member": "u1"},
    "member-kicked": {"member": "u1"},
    "member-presence": {"member": "u1", "name": "bob", "role": "collaborator",
                        "state": "approved", "connected": True},
    "invite-created": _INVITE,
    "invite-revoked": _INVITE,
    "prompt-queued": _PROMPT,
    "prompt-status": {**_PROMPT, "status": "approved"},
    "objective-created": {"id": "o1", "title": "parser", "prompts": ["p1"], "story": "s1"},
    "objective-status": {"state": "running", "previous": "planned", "reason": ""},
    "scope-ready": {"files": ["parser.py"], "complexity": "low"},
    "plan-ready": {"round": 1, "tasks": [{"id": "t1", "name": "fix-parser",
                                          "description": "…", "scope": ["parser.py"],
                                          "depends_on": [], "agent": "builtin"}]},
    "task-status": {"task": "t1", "name": "fix-parser", "state": "running",
                    "previous": "ready", "reason": ""},
    "agent-spawned": {"task": "t1", "name": "fix-parser", "agent": "builtin",
                      "workspace": "/repo/.overmind/worktrees/t1", "branch": "overmind/t1"},
    "change-status": {"change": "c1", "task": "fix-parser", "state": "merged",
                      "previous": "approved", "reason": "", "merge_commit": "abc123"},
    "verification": {"change": "c1", "command": ["pytest", "-q"], "ok": True,
                     "exit_code": 0, "output_tail": "3 passed"},
    "target-status": {"target": "hub", "kind": "hub", "state": "active", "capacity": 4,
                      "claims": ["t1"], "reason": "claim"},
    "change-checked": {"change": "c1", "state": "passed", "target": "main",
                       "target_commit": "abc123", "message": "tests passed on main@abc123 "
                       "(1.2 s)", "conflicts": []},
    "run-complete": {"objective": "o1", "tasks": 1, "changes": 1, "merged": 1,
                     "usage": {"cost_usd": 0.01}},
    "run-error": {"objective": "o1", "error": "planner failed"},
    "mission-orphan": {"reason": "agent re-adopted without its ACP pipe; stopped"},
    "objectives-reconciled": {"orphans": ["removed .overmind/scratch/merge-7-ab"],
                              "tasks": ["task log: interrupted"], "changes": [],
                              "resumed": ["o1"], "asked": [], "duration_ms": 12.5},
}


def event(seq: int, type_: str, data: dict[str, Any], mission: str | None = "m1") -> dict:
    """A full event envelope around ``data``."""
    return {"seq": seq, "ts": 1700000000.0 + seq, "type": type_, "mission": mission,
            "objective": None, "party": None, "data": data}
