"""Loop guards: stop an agent that spins before it spends (orcha's guards, made explicit).

A guard trips on: the same tool error ``same_error_limit`` times in a row, no progress for
``no_progress_turns`` turns (progress = a successful tool call not seen before), the
``max_model_calls`` budget, the ``max_cost_usd`` budget or the ``max_tokens`` budget
(input + output tokens; both checked before each call).
A tripped guard gives a human reason; the agent stops with it and the engine turns it into
a question for the host.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True, slots=True)
class LoopLimits:
    """Budgets of one prompt's tool loop (costs in USD, tokens = input + output)."""

    max_model_calls: int = 40
    max_cost_usd: float | None = None
    max_tokens: int | None = None
    same_error_limit: int = 3
    no_progress_turns: int = 6


class LoopGuard:
    """Tracks one prompt's loop against ``limits``; methods return a reason once tripped."""

    def __init__(self, limits: LoopLimits) -> None:
        self.limits = limits
        self.model_calls = 0
        self.cost_usd = 0.0
        self.tokens = 0
        self._last_error: str | None = None
        self._error_streak = 0
        self._idle_turns = 0
        self._seen: set[str] = set()

    def before_model_call(self) -> str | None:
        """Count a model call; a reason if a budget forbids it."""
        lim = self.limits
        if self.model_calls >= lim.max_model_calls:
            return f"model-call budget reached ({lim.max_model_calls} calls)"
        if lim.max_cost_usd is not None and self.cost_usd >= lim.max_cost_usd:
            return f"cost budget reached (${self.cost_usd:.4f} of ${lim.max_cost_usd:.4f})"
        if lim.max_tokens is not None and self.tokens >= lim.max_tokens:
            return f"token budget reached ({self.tokens} of {lim.max_tokens} tokens)"
        self.model_calls += 1
        return None

    def add_cost(self, usd: float | None, tokens: int = 0) -> None:
        """Add a turn's cost (None when the model's price is unknown) and ``tokens``."""
        self.cost_usd += usd or 0.0
        self.tokens += tokens

    def after_tools(self, outcomes: Iterable[tuple[str, dict, bool, str]]) -> str | None:
        """Record ``(tool, arguments, ok, text)`` of one turn; a reason if a guard trips."""
        progress = False
        for name, arguments, ok, text in outcomes:
            key = f"{name}:{json.dumps(arguments, sort_keys=True)}"
            if ok:
                self._last_error, self._error_streak = None, 0
                progress |= key not in self._seen
                self._seen.add(key)
            else:
                reason = self._error(f"{name}: {text[:200]}")
                if reason:
                    return reason
        self._idle_turns = 0 if progress else self._idle_turns + 1
        if self._idle_turns >= self.limits.no_progress_turns:
            return f"no progress for {self._idle_turns} turns"
        return None

    def _error(self, error: str) -> str | None:
        self._error_streak = self._error_streak + 1 if error == self._last_error else 1
        self._last_error = error
        if self._error_streak >= self.limits.same_error_limit:
            return f"the same error {self._error_streak} times in a row: {error}"
        return None
