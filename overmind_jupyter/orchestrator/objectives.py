"""The objective pipeline: prompts → story → objective → scope → plan → tasks → evaluator
→ merges (after Overmind multiplayer's story/scope/plan agents and orcha's manager).

Approved prompts become objectives at the intake (``intake.Intake``: the story window and
the story agent). Each objective then runs on its own: the scope extractor, the planner (with
its overlap check), the scheduler running one agent mission per task, the evaluator
(which may re-plan, at most ``max_rounds`` rounds by itself; past that, or when it says
re-planning will not help, the objective pauses with a ``review`` question: another round,
accept, or stop), and — when ``auto_merge`` — the merge queue. Budgets (tokens, USD) are
checked before every in-engine model call and before every task starts; reaching one
pauses the objective with a question.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import OvermindError, UsageError
from ..model import NO_CHOICES, PromptOptions
from ..store import kinds
from ..store.records import EventSpec, Record, Records, only
from ..supervisor.clock import Clock, SystemClock
from ..workspace.git import GitError, current_branch, rev_parse
from . import evaluator, planner, scope
from .budget import Budget, BudgetStop
from .changes import Changes
from .intake import Intake
from .questions import Questions
from .roles import RoleModels
from .scheduler import Scheduler, TaskNode
from .structured import PlanningError, Spent

log = logging.getLogger("overmind.objectives")
KIND = "objective"


Runner = Callable[[TaskNode], Awaitable[str]]


class ReviewStop(OvermindError):
    """The host ended an objective whose result the evaluator did not accept."""

    reason = "review"
    http_status = 409


class Orchestrator:
    """Objectives of one engine (see the module docstring).

    Args:
        repo: the host's repository.
        records, questions, changes: durable records, the inbox, the changes.
        runner: runs one task (a ``TaskRunner``), behind the budget gate.
        roles: returns the current ``RoleModels``.
        settings: defaults for new objectives and the scheduler's caps.
        known_agents: the configured agent names (a plan naming another gets the
            objective's agent); None: names are not checked.
        clock: the time of the story window (default: the system's).
    """

    def __init__(self, repo: Path, records: Records, questions: Questions, changes: Changes,
                 runner: Runner, roles: Callable[[], RoleModels],
                 settings: Settings | None = None,
                 known_agents: Callable[[], Collection[str]] | None = None,
                 clock: Clock | None = None) -> None:
        self.repo, self.records, self.questions = repo, records, questions
        self.clock = clock or SystemClock()
        self.known_agents = known_agents or (lambda: None)
        self.changes, self.runner, self.roles = changes, runner, roles
        self.settings = settings or Settings()
        self.budget = Budget(records, questions, self.set_state)
        self.scheduler = Scheduler(self._run_task, self._task_state,
                                   max_parallel=self.settings.max_parallel,
                                   per_objective=self.settings.per_objective)
        self.intake = Intake(records, roles, self.create, self.settings.story_window_s,
                             self.clock)
        self.runs: dict[str, asyncio.Task[None]] = {}

    def enqueue(self, prompt_id: str, member: str, text: str,
                options: PromptOptions = NO_CHOICES) -> asyncio.Future[str]:
        """See ``Intake.enqueue``."""
        return self.intake.enqueue(prompt_id, member, text, options)

    # -- objectives -----------------------------------------------------------------
    async def create(self, title: str, summary: str, prompts: list[dict[str, Any]],
                     spent: Spent | None = None) -> str:
        """Record an objective for ``prompts`` and start its pipeline; return its id.
        ``spent``: model use already made on its behalf (the story agent's call).

        Raises:
            UsageError: the project is not a git repository with a checked-out branch.
        """
        oid = secrets.token_hex(4)
        base, target = await _base(self.repo)
        text = "\n\n".join(p["text"] for p in prompts)
        s, chosen = self.settings, [p["options"] for p in prompts]
        doc = {"name": oid, "title": title, "summary": summary, "text": text,
               "prompts": [p["id"] for p in prompts],
               "members": sorted({p["member"] for p in prompts}),
               "agent": next((o.agent for o in chosen if o.agent), s.agent),
               "shared": any(o.shared for o in chosen),
               "story": self.intake.story(), "base_commit": base, "target": target, "round": 0,
               "budget": _budget(chosen, s), "spent": _spent_doc(spent),
               "auto_merge": _auto_merge(chosen, s.auto_merge),
               "runs_on": next((o.target for o in chosen if o.target), None),
               "agent_model": next((o.model for o in chosen if o.model), None),
               "model": self.roles().model_id, "scripted": self.roles().scripted}
        self.records.insert(KIND, oid, "queued", doc, event=EventSpec(
            "objective-created", {"id": oid, "title": title, "prompts": doc["prompts"],
                                  "members": doc["members"], "model": doc["model"],
                                  "scripted": doc["scripted"]}, objective=oid))
        if spent is not None:
            self.budget.role_usage(oid, "story", spent)  # charged above, in ``spent``
        self.runs[oid] = asyncio.get_running_loop().create_task(self._run(oid),
                                                                name=f"objective-{oid}")
        return oid

    def resolve(self, ref: str) -> Record:
        """The objective with id prefix ``ref``.

        Raises:
            NotFound / AmbiguousReference.
        """
        return only(self.records.find(KIND, ref), "objective", ref, "overmind objectives")

    def set_state(self, oid: str, state: str, reason: str = "", **changes: Any) -> Record:
        """Move objective ``oid`` to ``state`` (validated) with an ``objective-status`` event."""
        old = self.records.get(KIND, oid)
        return self.records.transition(KIND, oid, state, **changes,
                                       event=EventSpec("objective-status", {
                                           "state": state, "previous": old.state,
                                           "reason": reason}, objective=oid))

    async def wait(self, oid: str, timeout_s: float | None = None, *,
                   or_question: bool = False) -> Record:
        """Wait until objective ``oid``'s pipeline has finished (``or_question``: or until
        it waits on a human, one of its questions open), at most ``timeout_s`` s; return
        its record."""
        run = self.runs.get(oid)
        if run is None:
            return self.records.get(KIND, oid)
        asked = self.questions.asked_for(oid) if or_question else None
        await self._first({run} | ({asked} if asked else set()), timeout_s)
        if asked is not None:
            asked.cancel()
        return self.records.get(KIND, oid)

    async def _first(self, waits: set[asyncio.Future[Any]], timeout_s: float | None) -> None:
        """Until the first of ``waits`` is done or ``timeout_s`` s passed on the clock."""
        timer = None if timeout_s is None else \
            asyncio.ensure_future(self.clock.sleep(timeout_s))
        try:
            await asyncio.wait(waits | ({timer} if timer else set()),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            if timer is not None:
                timer.cancel()

    def cancel(self, ref: str, reason: str = "cancelled by the host") -> Record:
        """Cancel an objective: its tasks stop, its open questions are withdrawn."""
        rec = self.resolve(ref)
        if rec.state in kinds.OBJECTIVE_TERMINAL:
            raise UsageError(f"objective {rec.id} is {rec.state} already")
        self.scheduler.cancel(rec.id, reason)
        run = self.runs.get(rec.id)
        if run is not None:
            run.cancel(reason)
        self.questions.cancel_for(objective=rec.id, reason=reason)
        return self.set_state(rec.id, "cancelled", reason)

    async def drain(self, reason: str, timeout_s: float = 30.0) -> None:
        """Cancel every pipeline and running task and wait (at most ``timeout_s`` s) until
        they have wound down: their agents stopped and worktrees released while the pool
        is still open (the engine closes next). Records keep their states: a restart
        resumes them (``recovery``)."""
        pending = {t for t in (*self.runs.values(), *self.scheduler.close(),
                               self.intake.close())
                   if t is not None and not t.done()}
        for task in pending:
            task.cancel(reason)
        deadline = self.clock.monotonic() + timeout_s
        while pending and (left := deadline - self.clock.monotonic()) > 0:
            await self._first(set(pending), left)  # all of them, one at a time
            pending = {t for t in pending if not t.done()}

    # -- tasks ----------------------------------------------------------------------
    async def _run_task(self, node: TaskNode) -> str:
        await self.budget.gate(self.records.get(KIND, node.objective))
        return await self.runner(node)

    def _task_state(self, node: TaskNode, state: str, reason: str) -> None:
        old = self.records.get("task", node.id)
        with contextlib.suppress(OvermindError):  # e.g. a late end after a cancel
            self.records.transition("task", node.id, state, reason=reason,
                                    event=EventSpec("task-status", {
                                        "task": node.id, "name": node.name, "state": state,
                                        "previous": old.state, "reason": reason},
                                        objective=node.objective))

    # -- the pipeline -----------------------------------------------------------------
    async def _run(self, oid: str, body: Callable[[], Awaitable[None]] | None = None) -> None:
        try:
            while not await self._attempt(oid, body):
                body = None  # a retry after a planning question runs the whole pipeline
        except asyncio.CancelledError:
            return
        except (BudgetStop, ReviewStop) as exc:
            self._fail(oid, str(exc), "cancelled")
        except Exception as exc:  # any failure ends the objective visibly, never silently
            log.exception("objective %s failed", oid)
            self._fail(oid, str(exc) if isinstance(exc, OvermindError)
                       else f"{type(exc).__name__}: {exc}")

    async def _attempt(self, oid: str, body: Callable[[], Awaitable[None]] | None = None
                       ) -> bool:
        """Run ``body`` (default: the pipeline) once; True when it ended. A role that got no
        valid answer from its model (``PlanningError``) pauses the objective with a
        ``planning`` question: ``retry`` runs the pipeline again (False), ``stop`` ends it
        failed (True)."""
        try:
            await (body() if body is not None else self._pipeline(oid))
            return True
        except PlanningError as exc:
            self.records.store.append_event("run-error", {
                "objective": oid, "error": exc.message, "raw": exc.raw}, objective=oid)
            self.set_state(oid, "paused", exc.message[:300])
            answer = await self.questions.ask(
                "planning", f"{exc.message} — answer `retry` to run the objective's planning "
                "again, or `stop` to end it.", objective=oid, options=("retry", "stop"),
                data={"raw": exc.raw})
            if answer == "stop":
                self._fail(oid, f"stopped by the host: {exc.message}")
                return True
            return False  # the pipeline starts again: paused → planning

    def _fail(self, oid: str, error: str, state: str = "failed") -> None:
        with contextlib.suppress(OvermindError):
            self.set_state(oid, state, error, error=error)
        self.records.store.append_event("run-error", {"objective": oid, "error": error},
                                        objective=oid)

    async def _pipeline(self, oid: str, resume_round: int | None = None) -> None:
        """scope → (plan → run → evaluate)* → merge; with ``resume_round``, start at the
        evaluation of that round's recorded task results (after an engine restart)."""
        if resume_round is None:  # a retry after a restart plans a round of its own
            round_ = (self.records.get(KIND, oid).data.round or 0) + 1
            self.set_state(oid, "planning", "scoping")
            found = await self._scope(oid)
            feedback = None
            results = await self._round(oid, found, round_, feedback)
        else:
            found = _saved_scope(self.records.get(KIND, oid))
            round_ = resume_round
            self.set_state(oid, "evaluating", "resumed after an engine restart")
            results = [_task_result(t) for t in self._round_tasks(oid, round_)]
        while True:
            results = await self._with_diffs(results)
            verdict = self._nothing_changed(oid, await self._model_call(
                oid, "evaluator", lambda m, o, r=results, n=round_: evaluator.evaluate(
                    m, o.data.text, r, n, self.settings.max_rounds)), round_)
            if verdict.done:
                break
            if not (verdict.follow_up and round_ < self.settings.max_rounds) and \
                    not await self._review(oid, round_, verdict.feedback):
                break  # the host accepts the result as it is
            feedback = verdict.feedback
            self.set_state(oid, "planning", f"re-plan: {feedback[:200]}")
            round_ += 1
            results = await self._round(oid, found, round_, feedback)
        await self._merge_all(oid)

    def _nothing_changed(self, oid: str, verdict: evaluator.Verdict, round_: int
                         ) -> evaluator.Verdict:
        """``verdict``, unless it accepts a round whose tasks ended done without any change
        to the objective's files (a small real model accepted two tasks that had edited
        nothing): then another round is asked for, or past the bound the host is asked.
        Objectives run in the host's own checkout make no changes to count."""
        rec = self.records.get(KIND, oid)
        if not verdict.done or rec.data.shared or self.changes.list(oid) or \
                not any(t.state == "done" for t in self._round_tasks(oid, round_)):
            return verdict
        return dataclasses.replace(verdict, done=False, follow_up=round_ < self.settings
                                   .max_rounds, feedback="no task changed any file: make the "
                                   "change itself with the file tools, not a description of it")

    async def _scope(self, oid: str) -> scope.Scope:
        found = await self._model_call(oid, "scope", lambda m, o: scope.extract(
            m, self.repo, o.data.text, o.data.story))
        self.records.update(KIND, oid, scope=list(found.files), complexity=found.complexity,
                            event=EventSpec("scope-ready", {
                                "files": list(found.files), "complexity": found.complexity,
                                "rationale": found.rationale}, objective=oid))
        return found

    def _round_tasks(self, oid: str, round_: int) -> list[Record]:
        return [t for t in self.records.list("task", parent=oid)
                if t.data.round == round_]

    # -- after an engine restart -----------------------------------------------------
    def resume(self, oid: str, resume_round: int | None = None) -> None:
        """Run objective ``oid``'s pipeline again (it is ``paused``): from the start, or
        from the evaluation of round ``resume_round``."""
        self.runs[oid] = asyncio.get_running_loop().create_task(
            self._run(oid, lambda: self._pipeline(oid, resume_round)), name=f"objective-{oid}")

    def resume_merge(self, oid: str) -> None:
        """Land (or check, when held for review) objective ``oid``'s changes again (it was
        ``merging`` or ``checking`` when the engine died; the merge queue finds what
        landed already) and complete it."""
        self.runs[oid] = asyncio.get_running_loop().create_task(
            self._run(oid, lambda: self._merge_all(oid)), name=f"objective-{oid}")

    def resumable_round(self, oid: str) -> int | None:
        """The round whose every task has ended, at least one ``done`` (its evaluation is
        the last durable step), or None (the objective must be planned again)."""
        round_ = self.records.get(KIND, oid).data.round or 0
        tasks = self._round_tasks(oid, round_) if round_ else []
        ended = all(t.state in kinds.TASK_TERMINAL for t in tasks)
        return round_ if tasks and ended and any(t.state == "done" for t in tasks) else None

    async def _review(self, oid: str, round_: int, feedback: str) -> bool:
        """The evaluator wants what re-planning cannot give, or the rounds are used up:
        the objective pauses with a ``review`` question. True: ``round`` (one more
        planning round with the evaluator's feedback); False: ``accept`` (merge what the
        tasks produced).

        Raises:
            ReviewStop: ``stop`` (the objective ends cancelled).
        """
        rec = self.set_state(oid, "paused", f"the evaluator did not accept round {round_}")
        answer = await self.questions.ask(
            "review", f"Objective {rec.data.title!r}: the evaluator did not accept round "
            f"{round_} (at most {self.settings.max_rounds} by itself): {feedback[:2000]} — "
            "answer `round` for another planning round with that feedback, `accept` to "
            "merge what the tasks produced, or `stop` to end the objective.",
            objective=oid, options=("round", "accept", "stop"),
            data={"round": round_, "feedback": feedback[:8000]})
        if answer == "stop":
            raise ReviewStop(f"stopped by the host after round {round_}: {feedback[:500]}")
        self.set_state(oid, "evaluating", f"{answer} (the host's review)")
        return answer == "round"

    async def _round(self, oid: str, found: scope.Scope, round_: int,
                     feedback: str | None) -> list[evaluator.TaskResult]:
        plan = await self._model_call(oid, "planner", lambda m, o: planner.plan(
            m, o.data.text, found, o.data.story, round=round_, feedback=feedback,
            agents=self.known_agents()))
        nodes = self._record_plan(oid, plan, round_)
        self.set_state(oid, "running", f"{len(nodes)} tasks", round=round_)
        self.scheduler.add(nodes)
        await self.scheduler.wait(oid)
        self.set_state(oid, "evaluating", "tasks ended")
        return [self._result(n) for n in nodes]

    def _record_plan(self, oid: str, plan: planner.Plan, round_: int) -> list[TaskNode]:
        ids = {t.name: secrets.token_hex(4) for t in plan.tasks}
        nodes = []
        for t in plan.tasks:
            self.records.insert("task", ids[t.name], "pending", {
                "name": t.name, "description": t.description, "scope": list(t.scope),
                "depends_on": [ids[d] for d in t.depends_on], "agent": t.agent,
                "round": round_}, parent=oid)
            shared = self.records.get(KIND, oid).data.shared
            nodes.append(TaskNode(ids[t.name], t.name, oid,
                                  frozenset(ids[d] for d in t.depends_on),
                                  workspace="host checkout" if shared else None))
        self.records.store.append_event("plan-ready", {
            "round": round_, "notes": list(plan.notes), "tasks": [
                {"id": ids[t.name], "name": t.name, "description": t.description,
                 "scope": list(t.scope), "depends_on": [ids[d] for d in t.depends_on],
                 "agent": t.agent} for t in plan.tasks]}, objective=oid)
        return nodes

    def _result(self, node: TaskNode) -> evaluator.TaskResult:
        return _task_result(self.records.get("task", node.id))

    async def _with_diffs(self, results: list[evaluator.TaskResult]
                          ) -> list[evaluator.TaskResult]:
        """``results`` with each change's diff, for the evaluator (unreadable: none)."""
        out = []
        for result in results:
            diff = result.diff
            if result.change and not diff:
                with contextlib.suppress(OvermindError, OSError):
                    diff = await self.changes.diff(result.change)
            out.append(dataclasses.replace(result, diff=diff))
        return out

    async def _model_call(self, oid: str, role: str, call: Callable[..., Any]) -> Any:
        """Check the budget, run one in-engine model role, charge what it spent."""
        await self.budget.gate(self.records.get(KIND, oid))
        result = await call(self.roles().engine_model(role), self.records.get(KIND, oid))
        self.budget.charge_role(oid, role, result.spent)
        return result

    async def _merge_all(self, oid: str) -> None:
        rec = self.records.get(KIND, oid)
        opened = [c for c in self.changes.list(oid) if c.state in ("open", "approved")]
        if not opened:
            self._complete(oid, merged=0)
        elif not rec.data.auto_merge:
            await self._check_all(oid, opened)
        else:
            if rec.state != "merging":  # merging already: resumed after an engine restart
                self.set_state(oid, "merging", f"{len(opened)} changes")
            outcomes = await self.changes.merge_many([c.id for c in opened])
            self._complete(oid, sum(o.state == "merged" for o in outcomes))

    async def _check_all(self, oid: str, opened: list[Record]) -> None:
        """Held for review: try each change on the target's tip with the project's tests
        (``Changes.check``), so the reviewer sees the result before deciding."""
        if self.records.get(KIND, oid).state != "checking":
            self.set_state(oid, "checking", f"testing {len(opened)} change(s) on "
                           f"{opened[0].data.target} before review")
        for change in opened:
            try:
                await self.changes.check(change.id)
            except OvermindError as exc:  # the review still happens, without a result
                log.warning("pre-review check of %s failed: %s", change.id, exc)
        self._complete(oid, merged=0)

    def _complete(self, oid: str, merged: int) -> None:
        """End objective ``oid`` truthfully: ``failed`` when every task of its last round
        failed; else ``done`` with a summary that names what did not land
        (``done, 1 not merged``, ``done, 1 of 2 tasks failed``) — see ``Delivered``."""
        rec = self.records.get(KIND, oid)
        tasks = self.records.list("task", parent=oid)
        last = [t for t in tasks if t.data.round == rec.data.round] or tasks
        changes = self.changes.list(oid)
        out = Delivered.of(last, changes, held=not rec.data.auto_merge)
        if last and out.failed_tasks == len(last):
            errors = [t.data.error or t.state for t in last]
            self._fail(oid, f"all {len(last)} tasks failed: {errors[0]}"[:2000])
            return
        self.set_state(oid, "done", f"{out.outcome} ({merged} of {len(changes)} "
                       "changes merged)", **dataclasses.asdict(out))
        self.records.store.append_event("run-complete", {
            "objective": oid, "tasks": {t.data.name: t.state for t in tasks},
            "changes": {c.id: c.state for c in changes}, "merged": merged,
            **dataclasses.asdict(out), "usage": rec.data.spent}, objective=oid)


@dataclasses.dataclass(frozen=True, slots=True)
class Delivered:
    """What an ended objective delivered (stored on it, sent in ``run-complete``).

    ``outcome``: ``"done"``, or ``"done, N wait for review"`` / ``"done, N not merged"``
    / ``"done, F of T tasks failed"`` (joined by "; "); ``awaiting_review``: changes
    held for review (open or approved, the objective not auto-merging); ``not_merged``:
    changes that did not land otherwise (conflicted, closed, or open after an
    auto-merge); ``failed_tasks``: tasks of the last round failed or cancelled.
    """

    outcome: str
    not_merged: int
    failed_tasks: int
    awaiting_review: int = 0

    @classmethod
    def of(cls, tasks: list[Record], changes: list[Record], held: bool = False
           ) -> Delivered:
        """Count ``tasks`` (the last round's) and ``changes`` (all of the objective);
        ``held``: the objective's changes wait for a reviewer (no auto-merge)."""
        failed = sum(t.state in ("failed", "cancelled") for t in tasks)
        waiting = sum(c.state in ("open", "approved") for c in changes) if held else 0
        not_merged = sum(c.state != "merged" for c in changes) - waiting
        parts = [f"{waiting} wait for review"] * bool(waiting) + \
            [f"{not_merged} not merged"] * bool(not_merged) + \
            [f"{failed} of {len(tasks)} tasks failed"] * bool(failed)
        return cls(", ".join(["done", "; ".join(parts)]) if parts else "done", not_merged,
                   failed, waiting)


def _saved_scope(rec: Record) -> scope.Scope:
    """The scope an objective recorded (``scope-ready``), for re-planning rounds."""
    files = tuple(rec.data.scope or ())
    return scope.Scope(files=files, complexity=rec.data.complexity or "medium",
                       rationale="recorded before an engine restart")


def _task_result(rec: Record) -> evaluator.TaskResult:
    return evaluator.TaskResult(rec.data.name, rec.state, rec.data.summary or
                                rec.data.error or "",
                                tuple(rec.data.files_changed or ()),
                                rec.data.change or None)


async def _base(repo: Path) -> tuple[str, str]:
    """The host's current HEAD commit and branch (the default base and merge target).

    Raises:
        UsageError: not a git repository, no commit yet, or a detached HEAD.
    """
    try:
        commit, branch = await rev_parse("HEAD", repo), await current_branch(repo)
    except (GitError, OSError):
        commit = branch = None
    if not commit or not branch:
        raise UsageError(f"{repo} is not a git repository with a checked-out branch and a "
                         "commit; objectives need one (git init && git commit)")
    return commit, branch


def _spent_doc(spent: Spent | None) -> dict[str, Any]:
    """An objective's ``spent`` (tokens, USD) starting from ``spent`` (None: nothing)."""
    if spent is None:
        return {"tokens": 0, "cost_usd": 0.0}
    return {"tokens": spent.usage.input_tokens + spent.usage.output_tokens,
            "cost_usd": spent.cost_usd or 0.0}


def _auto_merge(chosen: list[PromptOptions], default: bool) -> bool:
    """Whether an objective's changes land without review: held when any of its prompts
    asks for review, auto-merged when one opts in (and none holds), else ``default``."""
    asked = {o.auto_merge for o in chosen} - {None}
    return False if False in asked else True if asked else default


def _budget(chosen: list[PromptOptions], s: Settings) -> dict[str, Any]:
    """An objective's budget: the tightest its prompts asked for, else the configured."""
    tokens = [o.max_tokens for o in chosen if o.max_tokens is not None]
    usd = [o.max_cost_usd for o in chosen if o.max_cost_usd is not None]
    return {"max_tokens": min(tokens) if tokens else s.max_tokens,
            "max_cost_usd": min(usd) if usd else s.max_cost_usd}
