"""Per-objective budgets: tokens and USD, charged from every model call of the objective.

In-engine roles are charged from what they report (``Spent``); agent missions from their
``agent-usage`` events (the orchestrator maps their missions to objectives); the roles'
spending is recorded as ``agent-usage`` events of the objective too (scope ``role``). ``gate``
runs before each in-engine model call and before each task starts: over budget, the
objective pauses with a ``budget`` question — ``raise`` doubles the limits and goes on,
``stop`` ends the objective. Agents are also started with their share of what remains
(``OVERMIND_MAX_COST_USD`` / ``OVERMIND_MAX_TOKENS``), so a single agent stops itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..config import MAX_COST_USD_ENV, MAX_TOKENS_ENV
from ..errors import OvermindError
from ..events import Event
from ..llm.contract import Usage
from ..store.records import Record, Records
from .questions import Questions
from .structured import Spent

KIND = "objective"
SetState = Callable[[str, str, str], Record]  # (objective id, state, reason)


class BudgetStop(OvermindError):
    """The host chose to stop an objective that reached its budget."""

    reason = "budget"
    http_status = 409


class Budget:
    """Budgets of every objective (limits and spending live in the objective record).

    Args:
        records: the objectives' records.
        questions: where a reached budget asks the host.
        set_state: moves an objective to a state (the orchestrator's, validated, with its
            event): a budget pauses and resumes objectives.
    """

    def __init__(self, records: Records, questions: Questions, set_state: SetState) -> None:
        self.records, self.questions = records, questions
        self.set_state = set_state  # the orchestrator's (validated, with events)
        self.missions: dict[str, str] = {}  # agent mission id → objective id
        self._pauses: dict[str, asyncio.Future[None]] = {}

    def charge(self, oid: str, usage: Usage | None, cost_usd: float | None) -> None:
        """Add ``usage`` (tokens) and ``cost_usd`` (USD) to objective ``oid``'s spending."""
        tokens = (usage.input_tokens + usage.output_tokens) if usage else 0
        if not tokens and not cost_usd:
            return
        spent = dict(self.records.get(KIND, oid).data.spent)
        spent["tokens"] += tokens
        spent["cost_usd"] = round(spent["cost_usd"] + (cost_usd or 0.0), 6)
        self.records.update(KIND, oid, spent=spent)

    def charge_role(self, oid: str, role: str, spent: Spent) -> None:
        """Charge an in-engine role's model calls (story, scope, planner, evaluator) to
        ``oid`` and record them (``role_usage``)."""
        self.charge(oid, spent.usage, spent.cost_usd)
        self.role_usage(oid, role, spent)

    def role_usage(self, oid: str, role: str, spent: Spent) -> None:
        """Record what an in-engine role spent as an ``agent-usage`` event of objective
        ``oid`` (scope ``role``, no mission): with its agents' ``agent-usage`` events the
        views add up the objective's ``spent``, live, and can show planning apart."""
        u = spent.usage
        if not (u.input_tokens or u.output_tokens or spent.cost_usd):
            return
        self.records.store.append_event("agent-usage", {
            "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
            "cached_tokens": u.cached_tokens, "cost_usd": spent.cost_usd,
            "model": spent.model or None, "scope": "role", "role": role}, objective=oid)

    def on_events(self, batch: list[Event]) -> None:
        """Engine listener: map spawned agents to objectives; charge their usage."""
        for event in batch:
            if event["type"] == "agent-spawned" and event["objective"]:
                self.missions[event["mission"]] = event["objective"]
            elif event["type"] == "agent-usage" and event["mission"] in self.missions:
                d = event["data"]
                self.charge(self.missions[event["mission"]],
                            Usage(d.get("input_tokens", 0), d.get("output_tokens", 0)),
                            d.get("cost_usd"))

    @staticmethod
    def exceeded(rec: Record) -> str | None:
        """Why objective ``rec`` is over budget, or None."""
        limit, spent = rec.data.budget, rec.data.spent
        if limit.get("max_tokens") is not None and spent["tokens"] >= limit["max_tokens"]:
            return f"token budget reached ({spent['tokens']} of {limit['max_tokens']} tokens)"
        if limit.get("max_cost_usd") is not None and spent["cost_usd"] >= limit["max_cost_usd"]:
            return (f"cost budget reached (${spent['cost_usd']:.4f} of "
                    f"${limit['max_cost_usd']:.4f})")
        return None

    def env(self, oid: str) -> dict[str, str]:
        """Environment for a new agent of ``oid``: what remains of its budgets."""
        rec = self.records.get(KIND, oid)
        limit, spent, env = rec.data.budget, rec.data.spent, {}
        if limit.get("max_cost_usd") is not None:
            left = max(limit["max_cost_usd"] - spent["cost_usd"], 0.0)
            env[MAX_COST_USD_ENV] = f"{left:.6f}"
        if limit.get("max_tokens") is not None:
            env[MAX_TOKENS_ENV] = str(max(limit["max_tokens"] - spent["tokens"], 0))
        return env

    async def gate(self, rec: Record) -> None:
        """Return at once when within budget; else pause the objective and ask the host.

        Concurrent callers for one objective share one question.

        Raises:
            BudgetStop: the host answered ``stop``.
        """
        rec = self.records.get(KIND, rec.id)
        if self.exceeded(rec) is None:
            return
        pause = self._pauses.get(rec.id)
        if pause is None:
            pause = asyncio.ensure_future(self._pause(rec))
            self._pauses[rec.id] = pause
            pause.add_done_callback(lambda _: self._pauses.pop(rec.id, None))
        await asyncio.shield(pause)

    async def _pause(self, rec: Record) -> None:
        why = self.exceeded(rec)
        resume_to = rec.state
        self.set_state(rec.id, "paused", why)
        answer = await self.questions.ask(
            "budget", f"Objective {rec.data.title!r} paused: {why}. Answer `raise` to "
            "double its budget and go on, or `stop` to end it.", objective=rec.id,
            options=("raise", "stop"), data={"spent": rec.data.spent,
                                             "budget": rec.data.budget})
        if answer == "stop":
            raise BudgetStop(f"stopped by the host at its budget: {why}")
        now = self.records.get(KIND, rec.id)
        limit = {k: (None if v is None else max(v * 2, now.data.spent[_SPENT[k]] * 2))
                 for k, v in now.data.budget.items()}
        self.records.update(KIND, rec.id, budget=limit)
        self.set_state(rec.id, resume_to, "budget raised by the host")


_SPENT = {"max_tokens": "tokens", "max_cost_usd": "cost_usd"}
