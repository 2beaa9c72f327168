"""The engine's work service: prompts, objectives, changes and the mailbox (``WorkService``).

A prompt becomes (part of) an objective that the orchestrator plans, runs, evaluates and
merges (``orchestrator.objectives``); a party prompt does so once approved, and is marked
``done`` when its objective ends — also when that happens under a later engine
(``resume_prompts``, ``on_events``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..agents.adapters import Adapter
from ..errors import NotFound, UsageError
from ..events import Event
from ..model import NO_CHOICES, PromptOptions
from ..orchestrator.changes import UNDER_REVIEW, Changes
from ..orchestrator.command_tasks import CommandChanges
from ..orchestrator.mailbox import Mailbox
from ..orchestrator.objectives import Orchestrator
from ..orchestrator.questions import Questions
from ..orchestrator.tasks import TaskRunner
from ..party.party import Party
from ..store import Store, kinds
from ..store.records import Record, Records
from ..workspace.sandbox import Sandbox
from ..workspace.worktrees import WorktreePool
from .models import Models
from .party import PartyService

log = logging.getLogger("overmind.engine")


def objective_of_prompt(orchestrator: Orchestrator) -> Callable[[Record], asyncio.Future[str]]:
    """The party's ``on_prompt_approved``: an approved prompt joins an objective with the
    agent and workspace choice its submitter made; the future gives that objective's id
    (the party marks the prompt ``grouped`` then; ``WorkService`` marks it ``done`` when
    the objective ends)."""
    def approved(prompt: Record) -> asyncio.Future[str]:
        d = prompt.data
        return orchestrator.enqueue(prompt.id, d.name, d.text, PromptOptions(
            d.agent, bool(d.shared), d.auto_merge, d.max_tokens, d.max_cost_usd))
    return approved


def followed(events: list[Event]) -> list[dict[str, Any]]:
    """Objectives of a party's host as its mirrored events tell them (see ``objectives``)."""
    rows: dict[str, dict[str, Any]] = {}
    for e in events:
        oid, d = e["objective"] or "", e["data"]
        if e["type"] == "objective-created":
            rows[oid] = {"id": oid, "title": d.get("title", ""), "state": "queued",
                         "created_at": e["ts"], "members": d.get("members", []),
                         "mirror": {k: d["mirror"][k] for k in ("host", "via")}}
        elif oid in rows:
            rows[oid]["state"] = d.get("state", rows[oid]["state"])
    return list(rows.values())


def kept_worktrees(records: Records, command_changes: CommandChanges) -> set[Path]:
    """Worktrees of changes still under review and of live worktree missions (what the
    pool's reconciliation keeps)."""
    return {Path(c.data.workspace) for c in records.list("change")
            if c.state in UNDER_REVIEW and c.data.workspace
            } | command_changes.live_worktrees()


class WorkService:
    """Prompts, objectives, changes and mail of one engine (see the module docstring).

    Args:
        store, records, questions, mailbox: the engine's store and its records.
        party: the hosted party (its prompt queue); guest: the joined parties (a guest's
            prompt goes to its host).
        orchestrator, changes, task_runner, pool: the objective pipeline.
        models: which model answers (checked before a prompt is accepted).
        adapters: the configured agents by name (a prompt's ``agent``).
    """

    def __init__(self, store: Store, records: Records, questions: Questions, mailbox: Mailbox,
                 *, party: Party, guest: PartyService, orchestrator: Orchestrator,
                 changes: Changes, task_runner: TaskRunner, pool: LazyPool, models: Models,
                 adapters: Mapping[str, Adapter]) -> None:
        self.store, self.records, self.questions, self.mailbox = store, records, questions, mailbox
        self.party, self.guest, self.orchestrator = party, guest, orchestrator
        self.changes, self.task_runner, self.pool = changes, task_runner, pool
        self.models, self.adapters = models, adapters

    # -- party prompts across engine lives ----------------------------------------------
    def resume_prompts(self) -> None:
        """Party prompts an earlier engine was working on: an ``approved`` one (the engine
        died while grouping it) is grouped again; a ``grouped`` one whose objective ended
        meanwhile is ``done`` (otherwise ``on_events`` will see to it)."""
        for prompt in self.records.list("prompt", states=("approved", "grouped")):
            if prompt.state == "approved":
                self.party.rehook(prompt)
                continue
            with contextlib.suppress(NotFound):
                ended = self.records.get("objective", prompt.data.objective or "")
                if ended.state in kinds.OBJECTIVE_TERMINAL:
                    self._prompt_done(prompt.id, ended.state)

    def on_events(self, batch: list[Event]) -> None:
        """Event listener: an objective ended; its prompts still ``grouped`` (their
        waiter died with an earlier engine) are ``done``."""
        for event in batch:
            if event["type"] == "objective-status" and \
                    event["data"]["state"] in kinds.OBJECTIVE_TERMINAL:
                asyncio.get_running_loop().call_soon(
                    self._prompts_of_ended, event["objective"] or "", event["data"]["state"])

    def _prompts_of_ended(self, oid: str, state: str) -> None:
        if self.store.closed:
            return  # the engine closed meanwhile
        for prompt in self.records.list("prompt", states=("grouped",)):
            if prompt.data.objective == oid:
                self._prompt_done(prompt.id, state)

    def _prompt_done(self, prompt_id: str, outcome: str) -> None:
        if self.records.get("prompt", prompt_id).state == "grouped":
            self.party.advance_prompt(prompt_id, "done", outcome=outcome)

    # -- prompts and objectives -----------------------------------------------------
    async def prompt(self, text: str, options: PromptOptions = NO_CHOICES,
                     wait: bool = False, member: str = "host") -> dict[str, Any]:
        """Submit a prompt; it joins an objective (story agent) that plans and runs.

        Returns the objective (``objective`` shape); with ``wait``, once it has ended.
        ``options``: agent, workspace, review and budget choices (``PromptOptions``).

        A guest (this engine joined a party and hosts none) sends it to the host's queue
        and gets the queued prompt back; the host checks ``agent`` against its own agents.

        Raises:
            UsageError: empty prompt, no model configured, not a git repository, an
                unknown agent.
        """
        agent = options.agent
        if self.party.current() is None and self.guest.joined():
            return await self.guest.party_prompt(text, agent=agent)  # the host's party plans it
        if agent is not None and agent not in self.adapters:
            raise UsageError(f"unknown agent {agent!r}; known agents: "
                             f"{', '.join(self.adapters)}")
        self.models.roles()  # fail now, not in the background, when no model is configured
        await self.pool.start()  # spares get prepared while the planners think
        party = self.party.current()
        if party is not None:  # the host's prompt queues like any other (as the host, even
            rec = self.party.submit_prompt(party.data.host, text,  # if joined as a guest)
                                           options)
            approved = self.party.objective_of(rec.id)  # the host's prompts: at once
            assert approved is not None, rec.state
            oid = await approved
        else:
            oid = await self.orchestrator.enqueue(secrets.token_hex(4), member, text,
                                                  options)
        if wait:  # until it ends, or needs a human (a question would otherwise block)
            await self.orchestrator.wait(oid, or_question=True)
        return await self.objective(oid)

    async def objectives(self) -> list[dict[str, Any]]:
        """Every objective, oldest first (``objective`` shape without tasks/changes), then
        those followed in a joined party (``{id, title, state, created_at, members,
        mirror: {host, via}}``, from the events mirrored from its host)."""
        return [r.to_dict() for r in self.records.list("objective")] + followed(
            self.store.mirrored_objective_events())

    async def objective(self, ref: str) -> dict[str, Any]:
        """One objective with its ``tasks``, ``changes`` and open ``questions``.

        Raises:
            NotFound / AmbiguousReference.
        """
        rec = self.orchestrator.resolve(ref)
        return {**rec.to_dict(),
                "tasks": [t.to_dict() for t in self.records.list("task", parent=rec.id)],
                "changes": [c.to_dict() for c in self.changes.list(rec.id)],
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


class LazyPool:
    """The ``WorktreePool`` of the engine's root, created and started at first use, so an
    engine whose root is not a git repository (or never plans) pays nothing."""

    def __init__(self, root: Path, kept: Callable[[], set[Path]],
                 sandbox: Sandbox | None = None) -> None:
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

    async def _started(self) -> WorktreePool:
        await self.start()
        assert self.pool is not None
        return self.pool

    async def acquire(self, *args: Any, **kwargs: Any) -> Any:
        """See ``WorktreePool.acquire``."""
        return await (await self._started()).acquire(*args, **kwargs)

    async def release(self, *args: Any, **kwargs: Any) -> None:
        """See ``WorktreePool.release`` (a change recorded by an earlier engine may be
        released before anything started the pool)."""
        await (await self._started()).release(*args, **kwargs)

    async def copied(self, ws: Any) -> frozenset[str]:
        """See ``WorktreePool.copied``."""
        return await (await self._started()).copied(ws)

    async def close(self) -> None:
        """Close the pool if it was started."""
        if self.pool is not None:
            await self.pool.close()
