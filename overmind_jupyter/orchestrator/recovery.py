"""Objectives after a crash: what an engine that died (kill -9) left unfinished is
resumed from its last durable step, or ends with a question.

Missions are reconciled with the processes at start-up (``supervisor.reconcile``);
this does the same for the records of the objective pipeline, right after:

- scratch merge worktrees of the dead engine (``merge-<pid>-*``) go, and the
  verification commands still running in them are stopped (``workspace.merge.scratch``);
- every task not ended is settled by ``TaskRunner.recover``: its agent is stopped; work
  Overmind committed on its branch becomes (or stays) its change; otherwise it fails,
  and a worktree with uncommitted edits is kept for the host;
- a change left ``approved`` by an interrupted merge goes back to ``open``, unless its
  objective's merge resumes;
- an objective that was ``merging`` merges again (no model call; the merge queue finds
  what landed already); any other unfinished objective is ``paused`` with an
  ``interrupted`` question saying what happened: ``retry`` resumes it (from the
  evaluation of its last round when every task of it ended, else from the start);
  ``close`` ends it ``cancelled``. Its tasks' changes are kept either way.

The report is the ``objectives-reconciled`` event (``duration_ms`` included).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..store import kinds
from ..store.records import Record, Records
from ..workspace.git import git
from ..workspace.merge.scratch import remove_orphans
from .changes import Changes
from .objectives import Orchestrator
from .questions import Question, Questions
from .tasks import TaskRunner

log = logging.getLogger("overmind.recovery")
KIND = "interrupted"  # the question's kind


@dataclasses.dataclass(slots=True)
class Report:
    """What recovery did (the ``objectives-reconciled`` event's data)."""

    orphans: list[str] = dataclasses.field(default_factory=list)
    tasks: list[str] = dataclasses.field(default_factory=list)
    changes: list[str] = dataclasses.field(default_factory=list)
    resumed: list[str] = dataclasses.field(default_factory=list)
    asked: list[str] = dataclasses.field(default_factory=list)
    duration_ms: float = 0.0


class Recovery:
    """Recovers the objective pipeline of one engine (see the module docstring).

    Args:
        repo: the host's repository.
        records, questions, changes: the engine's records, inbox and changes.
        orchestrator: resumes objectives.
        runner: settles interrupted tasks.
        start_pool: starts the worktree pool (it reconciles the worktrees on disk).
    """

    def __init__(self, repo: Path, records: Records, questions: Questions, changes: Changes,
                 orchestrator: Orchestrator, runner: TaskRunner,
                 start_pool: Callable[[], Awaitable[None]]) -> None:
        self.repo, self.records, self.questions = repo, records, questions
        self.changes, self.orchestrator, self.runner = changes, orchestrator, runner
        self.start_pool = start_pool
        questions.handle(KIND, self._answered)

    async def run(self) -> Report:
        """Recover everything an earlier engine left unfinished; return the report."""
        began, report = time.monotonic(), Report()
        objectives = [o for o in self.records.list("objective")
                      if o.state not in kinds.OBJECTIVE_TERMINAL]
        tasks = [t for t in self.records.list("task")
                 if t.state not in kinds.TASK_TERMINAL]
        approved = [c for c in self.changes.list() if c.state == "approved"]
        if objectives or tasks or approved:
            top = (await git("rev-parse", "--show-toplevel", cwd=self.repo)).strip()
            report.orphans = await remove_orphans(Path(top))
        if tasks:
            await self.start_pool()
        report.tasks = [await self.runner.recover(t) for t in tasks]
        merging = {o.id for o in objectives if o.state in ("merging", "checking")}
        for change in approved:
            if change.parent not in merging:
                self.changes.set_state(change, "open", "its merge was interrupted by an "
                                       "engine restart; merge it again")
                report.changes.append(change.id)
        for objective in objectives:
            self._objective(objective, report)
        report.duration_ms = round((time.monotonic() - began) * 1000, 1)
        if objectives or tasks or approved:
            self.records.store.append_event("objectives-reconciled",
                                            dataclasses.asdict(report))
        return report

    def _objective(self, rec: Record, report: Report) -> None:
        if rec.state in ("merging", "checking"):
            self.orchestrator.resume_merge(rec.id)
            report.resumed.append(rec.id)
            return
        if any(q.kind == KIND and q.objective == rec.id for q in self.questions.open()):
            return  # asked after an earlier restart, not answered yet
        if rec.state != "paused":
            self.orchestrator.set_state(rec.id, "paused", f"interrupted while {rec.state}: "
                                        "the engine stopped")
        self.questions.post(KIND, _question_text(self.records, rec), objective=rec.id,
                            options=("retry", "close"),
                            data={"objective": rec.id, "state": rec.state,
                                  "round": self.orchestrator.resumable_round(rec.id)})
        report.asked.append(rec.id)

    async def _answered(self, question: Question, answer: str) -> None:
        """``retry`` resumes the objective; ``close`` ends it ``cancelled``."""
        oid = question.data["objective"]
        if answer == "close":
            self.orchestrator.cancel(oid, "closed by the host after an engine restart "
                                          "interrupted it")
            return
        self.orchestrator.resume(oid, question.data.get("round"))


def _question_text(records: Records, rec: Record) -> str:
    tasks = records.list("task", parent=rec.id)
    counts: dict[str, int] = {}
    for t in tasks:
        counts[t.state] = counts.get(t.state, 0) + 1
    done = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no tasks yet"
    kept = [t.data.name for t in tasks if "uncommitted edits are kept" in
            (t.data.error or "")]
    changes = [c.id for c in records.list("change", parent=rec.id)]
    parts: list[Any] = [
        f"Objective {rec.data.title!r} was interrupted while {rec.state} when the "
        f"engine stopped. Tasks: {done}."]
    if changes:
        parts.append(f"Its changes are kept: {', '.join(changes)}.")
    if kept:
        parts.append(f"Uncommitted edits are kept in the worktrees of {', '.join(kept)}.")
    parts.append("Answer `retry` to resume it, or `close` to end it.")
    return " ".join(parts)
