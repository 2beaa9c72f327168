"""The engine's orchestration methods: prompts, objectives, changes (``WorkFacade``).

Mixed into ``Engine`` (same interface in-process and over REST, see ``client.py``).
Built on start from the engine's store: the worktree pool, the merge queue with a
referee on the configured model, the task runner and the orchestrator.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import lifecycles
from .agents import adapters
from .errors import AmbiguousReference, NotFound, OvermindError, UsageError
from .llm.contract import ChatModel
from .llm.registry import describe_model
from .model import Mission, MissionSpec
from .orchestrator import referee as referee_mod
from .orchestrator.changes import UNDER_REVIEW, Changes
from .orchestrator.command_tasks import CommandChanges
from .orchestrator.objectives import Orchestrator, Settings
from .orchestrator.recovery import Recovery
from .orchestrator.roles import RoleModels
from .orchestrator.tasks import TaskRunner
from .store.records import Record
from .workspace.merge import MergeQueue
from .workspace.worktrees import WorktreePool

log = logging.getLogger("overmind.engine")


class WorkFacade:
    """Orchestration half of the engine (its services are built by ``_assemble_work``,
    which ``Engine._assemble`` calls)."""

    work_settings: Settings
    orchestrator: Orchestrator | None = None

    def _assemble_work(self) -> None:
        """The orchestration services (``Engine._assemble`` calls this, before the
        reconciliation): worktree pool, merge queue, changes, worktree command missions,
        task runner, orchestrator, recovery."""
        self.pool = _LazyPool(self.root, self._kept_worktrees, self.sandbox)
        queue = MergeQueue(self.root, referee=self._referee, sandbox=self.sandbox)
        self.changes_ = Changes(self.root, self.records, self.questions, queue, pool=self.pool)
        self.command_changes = CommandChanges(self.root, self.pool, self.changes_,
                                              self.records, self.store)
        self.supervisor.listen(self.command_changes)
        self.subscribe(self.command_changes.on_events)
        self.task_runner = TaskRunner(self.records, self.store, self.pool, self.changes_,
                                      self.roles, launcher=self, budget_env=self._budget_env,
                                      work_done=self.agents.work_done)
        self.orchestrator = Orchestrator(self.root, self.records, self.questions,
                                         self.changes_, self.task_runner, self.roles,
                                         self.work_settings,
                                         known_agents=self._installed_agents,
                                         clock=self._clock)
        self.subscribe(self.orchestrator.budget.on_events)
        self.recovery = Recovery(self.root, self.records, self.questions, self.changes_,
                                 self.orchestrator, self.task_runner, self.pool.start)
        self.subscribe(self._objectives_ended)

    def _budget_env(self, oid: str) -> dict[str, str]:
        """What an objective's agents get of its remaining budget (see ``Budget.env``)."""
        assert self.orchestrator is not None
        return self.orchestrator.budget.env(oid)

    def _resume_prompts(self) -> None:
        """Party prompts an earlier engine was working on: an ``approved`` one (the engine
        died while grouping it) is grouped again; a ``grouped`` one whose objective ended
        meanwhile is ``done`` (otherwise ``_objectives_ended`` will see to it)."""
        for prompt in self.records.list("prompt", states=("approved", "grouped")):
            if prompt.state == "approved":
                self.party.rehook(prompt)
                continue
            with contextlib.suppress(NotFound):
                ended = self.records.get("objective", prompt.data.get("objective") or "")
                if ended.state in lifecycles.OBJECTIVE_TERMINAL:
                    self._prompt_done(prompt.id, ended.state)

    def _objectives_ended(self, batch: list[Any]) -> None:
        """Event listener: an objective ended; its prompts still ``grouped`` (their
        waiter died with an earlier engine) are ``done``."""
        for event in batch:
            if event["type"] == "objective-status" and \
                    event["data"]["state"] in lifecycles.OBJECTIVE_TERMINAL:
                asyncio.get_running_loop().call_soon(self._prompts_of_ended, event["objective"],
                                                     event["data"]["state"])

    def _prompts_of_ended(self, oid: str, state: str) -> None:
        if self.store is None:
            return  # the engine closed meanwhile
        for prompt in self.records.list("prompt", states=("grouped",)):
            if prompt.data.get("objective") == oid:
                self._prompt_done(prompt.id, state)

    def _prompt_done(self, prompt_id: str, outcome: str) -> None:
        if self.records.get("prompt", prompt_id).state == "grouped":
            self.party.advance_prompt(prompt_id, "done", outcome=outcome)

    def _installed_agents(self) -> tuple[str, ...]:
        """Names of the agents a plan may give a task: configured and installed."""
        return tuple(name for name, a in self.adapters.items() if a.installed())

    def _prompt_approved(self, prompt: Record) -> asyncio.Future[str]:
        """A party prompt was approved: it joins an objective with the agent and workspace
        choice its submitter made; returns the future of that objective's id (the party
        marks it ``grouped`` then; ``_objectives_ended`` marks it ``done`` at the end)."""
        assert self.orchestrator is not None
        return self.orchestrator.enqueue(prompt.id, prompt.data["name"], prompt.data["text"],
                                         prompt.data.get("agent"),
                                         bool(prompt.data.get("shared")))

    async def _run_in_worktree(self, spec: MissionSpec) -> Mission:
        """``run`` of a ``worktree`` spec: see ``orchestrator.command_tasks``."""
        (spec,) = await self.command_changes.prepare([spec])
        try:
            return await self.run(spec)
        except BaseException:
            await self.command_changes.discard([spec])
            raise

    def _kept_worktrees(self) -> set[Path]:
        """Worktrees of changes still under review and of live worktree missions
        (reconcile keeps them)."""
        return {Path(c.data["workspace"]) for c in self.records.list("change")
                if c.state in UNDER_REVIEW and c.data.get("workspace")
                } | self.command_changes.live_worktrees()

    async def _close_work(self, stop_missions: bool = True) -> None:
        if self.orchestrator is None:
            return
        await self.orchestrator.drain("engine stopping")
        self.party.cancel_hooks()  # prompts waiting for their objective
        if stop_missions:  # while the pool is open: their worktrees go with them
            await self.supervisor.stop_many(self.command_changes.live_missions())
        await self.command_changes.close(stop_missions)
        await self.pool.close()

    def roles(self) -> RoleModels:
        """Models per role from ``OVERMIND_MODEL`` (or the provider keys present).

        Raises:
            UsageError: no model configured.
        """
        env = {**os.environ, **self.provider_env}
        model_id = adapters.default_model(env)
        cached = vars(self).get("_roles")
        if cached is None or cached.model_id != model_id:  # one model object per role, so
            cached = self._roles = RoleModels(model_id, env)  # scripts play on, not anew
        return cached

    async def model_status(self) -> dict[str, Any]:
        """Which model answers the roles and the built-in agent (``llm.registry.
        describe_model``'s shape): configured or not, provider, name, endpoint, whether it
        is scripted, and the server-side settings that change it. Keys are never included."""
        env = {**os.environ, **self.provider_env}
        try:
            model_id: str | None = adapters.default_model(env)
        except UsageError:
            model_id = None
        return describe_model(model_id, env)

    async def _referee(self, conflict: Any) -> Any:
        """Merge tier 2 on the configured model; None (→ a human) when none is usable."""
        try:
            model: ChatModel = self.roles().engine_model("referee")
        except OvermindError as exc:
            log.info("no referee model (%s): the conflict goes to a human", exc)
            return None
        return await referee_mod.referee_for(model)(conflict)

    # -- prompts and objectives -----------------------------------------------------
    async def prompt(self, text: str, agent: str | None = None, wait: bool = False,
                     member: str = "host", shared: bool = False) -> dict[str, Any]:
        """Submit a prompt; it joins an objective (story agent) that plans and runs.

        Returns the objective (``objective`` shape); with ``wait``, once it has ended.
        ``shared``: run its tasks in the host's own checkout instead of worktrees.

        A guest (this engine joined a party and hosts none) sends it to the host's queue
        and gets the queued prompt back; the host checks ``agent`` against its own agents.

        Raises:
            UsageError: empty prompt, no model configured, not a git repository, an
                unknown agent.
        """
        if self.party.current() is None and self.party_links:
            return await self.party_prompt(text, agent=agent)  # the host's party plans it
        if agent is not None and agent not in self.adapters:
            raise UsageError(f"unknown agent {agent!r}; known agents: "
                             f"{', '.join(self.adapters)}")
        self.roles()  # fail now, not in the background, when no model is configured
        await self.pool.start()  # spares get prepared while the planners think
        party = self.party.current()
        if party is not None:  # the host's prompt queues like any other (as the host, even
            rec = self.party.submit_prompt(party.data["host"], text,  # if joined as a guest)
                                           agent, shared)
            approved = self.party.objective_of(rec.id)  # the host's prompts: at once
            assert approved is not None, rec.state
            oid = await approved
        else:
            oid = await self.orchestrator.enqueue(secrets.token_hex(4), member, text, agent,
                                                  shared)
        if wait:  # until it ends, or needs a human (a question would otherwise block)
            await self.orchestrator.wait(oid, or_question=True)
        return await self.objective(oid)

    async def objectives(self) -> list[dict[str, Any]]:
        """Every objective, oldest first (``objective`` shape without tasks/changes)."""
        return [r.to_dict() for r in self.records.list("objective")]

    async def objective(self, ref: str) -> dict[str, Any]:
        """One objective with its ``tasks``, ``changes`` and open ``questions``.

        Raises:
            NotFound / AmbiguousReference.
        """
        rec = self.orchestrator.resolve(ref)
        return {**rec.to_dict(),
                "tasks": [t.to_dict() for t in self.records.list("task", parent=rec.id)],
                "changes": [c.to_dict() for c in self.changes_.list(rec.id)],
                "questions": [q.to_dict() for q in self.questions.open()
                              if q.objective == rec.id]}

    async def wait_objective(self, ref: str, timeout_s: float | None = None,
                             or_question: bool = False) -> dict[str, Any]:
        """Wait until an objective's pipeline has ended (``or_question``: or waits on one of
        its questions; at most ``timeout_s`` s)."""
        rec = self.orchestrator.resolve(ref)
        await self.orchestrator.wait(rec.id, timeout_s, or_question=or_question)
        return await self.objective(rec.id)

    async def cancel_objective(self, ref: str) -> dict[str, Any]:
        """Cancel an objective: its tasks stop, its questions are withdrawn, and the
        worktrees its tasks left (not those of its changes) are released."""
        rec = self.orchestrator.cancel(ref)
        await asyncio.sleep(0)  # the scheduler's cancelled tasks release their own
        for task in self.records.list("task", parent=rec.id):
            if task.id not in self.orchestrator.scheduler.running:
                await self.task_runner.discard(task)
        return self.records.get("objective", rec.id).to_dict()

    # -- mailbox --------------------------------------------------------------------
    async def send_message(self, to: str, text: str, sender: str = "host") -> dict[str, Any]:
        """Mail ``text`` to an agent (mission or task name) or a member; see ``Mailbox``."""
        return self.mailbox.send(sender, to, text).to_dict()

    async def messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        """Every message (to ``recipient`` only, if given), oldest first."""
        return self.mailbox.all(recipient)

    # -- changes --------------------------------------------------------------------
    async def changes(self, objective: str | None = None) -> list[dict[str, Any]]:
        """Changes (of one objective), oldest first."""
        oid = self.orchestrator.resolve(objective).id if objective else None
        return [c.to_dict() for c in self.changes_.list(oid)]

    async def change(self, ref: str) -> dict[str, Any]:
        """One change (``change`` shape)."""
        return self.changes_.resolve(ref).to_dict()

    async def diff(self, ref: str, path: str | None = None) -> str:
        """The change's unified diff against its base."""
        return await self.changes_.diff(ref, path)

    async def merge(self, ref: str) -> dict[str, Any]:
        """Merge one change (or, given an objective, all its open changes).

        Returns ``{"change": change, "outcome": {state, tier, merge_commit, message,
        conflicts, verification}}`` or, for an objective, ``{"merged": [...]}``.
        """
        try:
            rec = self.changes_.resolve(ref)
        except AmbiguousReference:
            raise
        except NotFound:
            return await self._merge_objective(ref)
        outcome = await self.changes_.merge(rec.id)
        return {"change": self.changes_.resolve(rec.id).to_dict(),
                "outcome": dataclasses.asdict(outcome)}

    async def _merge_objective(self, ref: str) -> dict[str, Any]:
        obj = self.orchestrator.resolve(ref)
        results = []
        for c in self.changes_.list(obj.id):
            if c.state in ("open", "approved"):
                results.append(await self.merge(c.id))
        return {"objective": obj.id, "merged": results}

    async def close_change(self, ref: str) -> dict[str, Any]:
        """Close a change (its branch is kept; reopen with ``reopen_change``)."""
        return (await self.changes_.close(ref)).to_dict()

    async def reopen_change(self, ref: str) -> dict[str, Any]:
        """Reopen a closed change."""
        return self.changes_.reopen(ref).to_dict()



class _LazyPool:
    """The ``WorktreePool`` of the engine's root, created and started at first use, so an
    engine whose root is not a git repository (or never plans) pays nothing."""

    def __init__(self, root: Any, kept: Callable[[], set[Path]], sandbox: Any = None) -> None:
        self.root, self.kept, self.sandbox = root, kept, sandbox
        self.pool: WorktreePool | None = None

    async def start(self) -> None:
        """Create and start the pool (once), then reconcile the worktrees on disk with
        the store: leftovers of ended tasks go if clean; dirty ones are kept, reported.

        Raises:
            UsageError: a bad ``overmind.toml``. WorkspaceError: not a git repository.
        """
        if self.pool is None:
            pool = WorktreePool(self.root, sandbox=self.sandbox)
            await pool.start()
            self.pool = pool
            report = await pool.reconcile(self.kept())
            if report.get("removed") or report.get("kept_dirty"):
                log.info("worktrees reconciled: %s", report)

    async def acquire(self, *args: Any, **kwargs: Any) -> Any:
        """See ``WorktreePool.acquire``."""
        await self.start()
        return await self.pool.acquire(*args, **kwargs)

    async def release(self, *args: Any, **kwargs: Any) -> None:
        """See ``WorktreePool.release`` (a change recorded by an earlier engine may be
        released before anything started the pool)."""
        await self.start()
        await self.pool.release(*args, **kwargs)

    async def copied(self, ws: Any) -> frozenset[str]:
        """See ``WorktreePool.copied``."""
        await self.start()
        return await self.pool.copied(ws)

    async def close(self) -> None:
        """Close the pool if it was started."""
        if self.pool is not None:
            await self.pool.close()
