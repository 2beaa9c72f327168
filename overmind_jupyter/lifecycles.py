"""State machines of the orchestration records (objective, task, change, prompt, member,
question, invite): ``{state: frozenset(next states)}`` tables checked by
``store.records.Records.transition`` inside the write transaction.

::

    objective  queued ─▶ planning ─▶ running ─▶ evaluating ─▶ merging ─▶ done
                   │         │          │  ▲        │  └─(re-plan)─▶ planning
                   └─────────┴──────────┴──┴─▶ paused / failed / cancelled
    task       pending ─▶ running ─▶ done | failed | cancelled;  running ⇄ paused
    change     open ─▶ approved ─▶ merged | closed | conflicted;  closed ─▶ open
    prompt     queued ─▶ approved ─▶ grouped ─▶ done;  queued ─▶ denied
    member     pending ─▶ approved ─▶ kicked | left;  pending ─▶ denied | left
    party      open ─▶ closed
    question   open ─▶ answered | cancelled
    invite     active ─▶ revoked | expired
"""

from __future__ import annotations

from collections.abc import Mapping


def _table(spec: dict[str, str]) -> Mapping[str, frozenset[str]]:
    return {state: frozenset(nexts.split()) for state, nexts in spec.items()}


_STOP = "paused failed cancelled"
OBJECTIVE = _table({
    "queued": f"planning {_STOP}",
    "planning": f"running done {_STOP}",
    "running": f"evaluating {_STOP}",
    "evaluating": f"planning merging done {_STOP}",
    "merging": f"done {_STOP}",
    "paused": "planning running evaluating merging failed cancelled",
    "done": "", "failed": "", "cancelled": ""})
OBJECTIVE_TERMINAL = frozenset({"done", "failed", "cancelled"})

TASK = _table({
    "pending": "running cancelled failed",
    "running": "paused done failed cancelled",
    "paused": "running failed cancelled",
    "done": "", "failed": "", "cancelled": ""})
TASK_TERMINAL = frozenset({"done", "failed", "cancelled"})

CHANGE = _table({
    "open": "approved closed conflicted",
    "approved": "merged closed conflicted open",
    "conflicted": "approved merged closed open",
    "closed": "open",
    "merged": ""})

PROMPT = _table({
    "queued": "approved denied",
    "approved": "grouped denied",
    "grouped": "done",
    "denied": "", "done": ""})

MEMBER = _table({"pending": "approved denied left", "approved": "kicked left", "denied": "",
                 "kicked": "", "left": ""})

PARTY = _table({"open": "closed", "closed": ""})

QUESTION = _table({"open": "answered cancelled", "answered": "", "cancelled": ""})

INVITE = _table({"active": "revoked expired", "revoked": "", "expired": ""})
