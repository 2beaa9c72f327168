"""The evaluator: after a round's tasks end, is the objective done, or is a re-plan due?

The model reads the objective and each task's end state, summary, changed files and the
start of its change's diff (a small model cannot judge "added a test" from a summary that
only says so), and answers ``done`` (the objective is met), or not done with
``follow_up`` (another planning round with its ``feedback`` should finish it) or without
(re-planning will not help: a human must look). Rounds are bounded: at ``round >=
max_rounds`` a verdict never asks for a re-plan; the feedback then says the limit was
reached, and the caller pauses or fails the objective.
"""

from __future__ import annotations

import dataclasses

import pydantic

from ..errors import UsageError
from ..llm.contract import ChatModel
from .structured import Spent, ask, clip

SUMMARY_MAX_CHARS = 2_000  # per task result sent to the model
FILES_MAX = 40  # changed files listed per task
DIFF_MAX_CHARS = 4_000  # of each task's diff sent to the model

SYSTEM = """You review the work of AI coding agents on one objective.
Given the objective and how each task ended (state, summary, files changed, its diff),
decide:
done=true when the objective is fully met; otherwise done=false with feedback saying
precisely what is missing or wrong, and follow_up=true when another planning round of
agent tasks can fix it, follow_up=false when it needs a human (unclear request, missing
access, repeated failure)."""


@dataclasses.dataclass(frozen=True, slots=True)
class TaskResult:
    """How one task ended: ``state`` (done | failed | cancelled | paused), the agent's
    ``summary``, the repo-relative ``files_changed``, its ``change`` id (None: it made no
    change) and that change's unified ``diff`` (``""`` when not read)."""

    name: str
    state: str
    summary: str
    files_changed: tuple[str, ...] = ()
    change: str | None = None
    diff: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """``done``: the objective is met. Else ``follow_up``: re-plan with ``feedback``; neither:
    a human must decide (``feedback`` says why). ``spent``: tokens and cost."""

    done: bool
    feedback: str
    follow_up: bool
    spent: Spent = dataclasses.field(default_factory=Spent)


class _VerdictAnswer(pydantic.BaseModel):
    done: bool
    feedback: str = pydantic.Field(default="", max_length=8_000)
    follow_up: bool = False


async def evaluate(model: ChatModel, objective_text: str, results: list[TaskResult],
                   round: int, max_rounds: int) -> Verdict:
    """Judge round ``round`` (1-based) of at most ``max_rounds``.

    Raises:
        UsageError: ``round`` or ``max_rounds`` below 1.
        PlanningError: the model gave no valid verdict.
        ProviderError: the provider failed.
    """
    if round < 1 or max_rounds < 1:
        raise UsageError(f"evaluation round {round} of {max_rounds}: both must be ≥ 1")
    answer = await ask(model, SYSTEM, _request(objective_text, results, round, max_rounds),
                       _VerdictAnswer)
    value = answer.value
    if value.done:
        return Verdict(True, value.feedback.strip(), False, answer.spent)
    feedback = value.feedback.strip() or "the reviewer gave no reason"
    if round >= max_rounds:
        return Verdict(False, f"{feedback} (round {round} of {max_rounds}: the re-plan limit is "
                              "reached; a human must decide how to continue)", False,
                       answer.spent)
    return Verdict(False, feedback, value.follow_up, answer.spent)


def _request(objective: str, results: list[TaskResult], round: int, max_rounds: int) -> str:
    tasks = "\n\n".join(_describe(r) for r in results) or "(no tasks ran)"
    return (f"Objective:\n{objective.strip()}\n\nRound {round} of at most {max_rounds}. "
            f"Task results:\n{tasks}")


def _describe(result: TaskResult) -> str:
    files = ", ".join(result.files_changed[:FILES_MAX]) or "(none)"
    if len(result.files_changed) > FILES_MAX:
        files += f" … and {len(result.files_changed) - FILES_MAX} more"
    text = (f"task {result.name}: {result.state}\nfiles changed: {files}\nsummary:\n"
            f"{clip(result.summary, SUMMARY_MAX_CHARS) or '(no summary)'}")
    if result.diff:
        cut = result.diff[:DIFF_MAX_CHARS]
        more = f"\n[… {len(result.diff) - len(cut)} more characters]" \
            if len(result.diff) > len(cut) else ""
        text += f"\ndiff:\n```diff\n{cut}\n```{more}"
    return text


__all__ = ["SYSTEM", "TaskResult", "Verdict", "evaluate"]
