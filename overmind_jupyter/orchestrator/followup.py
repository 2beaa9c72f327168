"""Request changes: a reviewer's answer to a change that is not ready to land.

The change is closed (its branch is kept) and its objective gets one more task, planned
from the reviewer's text: the task's worktree starts from the closed change's head, its
description quotes the review and the previous diff, and it ends as a new change to review
(diffed against the objective's base: the reviewer sees everything that would land).
The task runs through the objective's scheduler like any planned task (budget gate,
caps, worktree, commit, change), so it needs no pipeline of its own; the objective's
state is not touched (a ``done`` objective stays done and gains a reviewable change).
A change of no objective (a worktree command mission's) has no plan to extend: that is
a ``UsageError`` naming the branch to edit instead.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import UsageError
from ..store.records import EventSpec, Record, Records
from .changes import UNDER_REVIEW, Changes
from .scheduler import TaskNode

MAX_DIFF_CHARS = 20_000  # characters of the previous diff quoted to the agent
DESCRIPTION = """Address the review of change {change} ("{title}").

The reviewer ({member}) requested changes:
{text}

This checkout starts from the previous attempt: branch {branch} (commit {head}), closed
unmerged. Apply the requested changes on top of it. Its diff against the base:
{diff}"""


class FollowUps:
    """Turns a review's requested changes into a follow-up task (module docstring).

    Args:
        records: durable records (changes, objectives, tasks).
        changes: the changes (``close``, ``diff``).
        orchestrator: the ``Orchestrator`` whose scheduler runs the task.
    """

    def __init__(self, records: Records, changes: Changes, orchestrator: Any) -> None:
        self.records, self.changes, self.orchestrator = records, changes, orchestrator

    async def request(self, ref: str, text: str, member: str = "host") -> tuple[Record, Record]:
        """Close change ``ref`` and schedule its follow-up task.

        Returns the closed change and the new task (state ``pending``).

        Raises:
            UsageError: empty ``text``; the change is merged or closed; it has no objective.
            NotFound / AmbiguousReference: no or several changes match ``ref``.
        """
        if not text.strip():
            raise UsageError("say what should change: the review text is empty")
        rec = self.changes.resolve(ref)
        if rec.state not in UNDER_REVIEW:
            raise UsageError(f"change {rec.id} is {rec.state}; only an open, approved or "
                             "conflicted change can get requested changes")
        if rec.parent is None:
            raise UsageError(f"change {rec.id} belongs to no objective, so no agent can take "
                             f"the review; edit its branch {rec.data.branch} yourself or "
                             "submit a prompt")
        previous = await self.changes.diff(rec.id)
        closed = await self.changes.close(rec.id, f"changes requested: {_first_line(text)}")
        task = self._add_task(closed, text.strip(), previous, member)
        objective = self.records.get("objective", rec.parent)
        shared = "host checkout" if objective.data.shared else None
        self.orchestrator.scheduler.add([TaskNode(task.id, task.data.name, objective.id,
                                                  workspace=shared)])
        return closed, task

    def _add_task(self, change: Record, text: str, previous: str, member: str) -> Record:
        """Record the follow-up task, announced as a one-task plan (``plan-ready``)."""
        objective = self.records.get("objective", change.parent)
        diff = previous if len(previous) <= MAX_DIFF_CHARS else (
            previous[:MAX_DIFF_CHARS] + f"\n… ({len(previous) - MAX_DIFF_CHARS} more "
            "characters: see the branch)")
        description = DESCRIPTION.format(
            change=change.id, title=change.data.title, member=member, text=text,
            branch=change.data.branch, head=change.data.head or "?", diff=diff)
        tid = secrets.token_hex(4)
        round_ = int(objective.data.round or 0) + 1
        doc = {"name": f"{change.data.task}-review", "description": description,
               "scope": list(change.data.files or []), "depends_on": [],
               "agent": self._agent(change), "round": round_, "follows": change.id,
               **({"base_commit": change.data.head} if change.data.head else {})}
        plan = {"round": round_, "notes": [f"changes requested on change {change.id}"],
                "tasks": [{"id": tid, **{k: doc[k] for k in (
                    "name", "description", "scope", "depends_on", "agent")}}]}
        return self.records.insert("task", tid, "pending", doc, parent=objective.id,
                                   event=EventSpec("plan-ready", plan, objective=objective.id))

    def _agent(self, change: Record) -> str | None:
        """The agent of the task that made the change (None: the objective's default)."""
        for task in self.records.list("task", parent=change.parent):
            if task.data.change == change.id:
                return task.data.agent
        return None


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0][:200]
