"""Changes: a task's result as a reviewable local pull request, landed by the merge queue.

A change is a record (kind ``change``, parent = its objective) holding the task's branch,
the base commit it started from, the diff stat, author (agent + member who asked) and its
state (``open → approved → merged | closed | conflicted``, see ``kinds.CHANGE``).
``merge`` approves and hands it to the ``MergeQueue``; a conflict no referee could settle
or a failing verification becomes a question whose answer (``retry`` / ``close``) comes
back through ``Questions.handle``, so it survives an engine restart.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Protocol

from ..errors import UsageError
from ..store.records import EventSpec, Record, Records, only
from ..workspace import diff
from ..workspace.git import rev_parse
from ..workspace.merge import CheckResult, MergeOutcome, MergeQueue, MergeRequest
from ..workspace.worktrees import Workspace
from . import resolutions
from .questions import Question, Questions

KIND = "change"
UNDER_REVIEW = ("open", "approved", "conflicted")  # states that can still merge or close
class Pool(Protocol):
    """What changes need of the worktree pool (``workspace.worktrees.WorktreePool``)."""

    async def release(self, ws: Workspace, *, delete_branch: bool = False,
                      force: bool = False) -> None: ...


class Changes:
    """Every change of one engine.

    Args:
        repo: the host's repository.
        records: durable records.
        questions: the inbox (conflicts and failed verifications become questions).
        queue: the merge queue (one merge at a time).
        pool: releases a change's worktree once it is merged (branch deleted) or closed
            (branch kept); None: worktrees are left alone.
    """

    def __init__(self, repo: Path, records: Records, questions: Questions, queue: MergeQueue,
                 pool: Pool | None = None) -> None:
        self.repo, self.records, self.questions, self.queue = repo, records, questions, queue
        self.pool = pool
        self._kept: dict[str, Workspace] = {}  # change id → its worktree, held for review
        questions.handle("conflict", self._answered, self._check_answer)
        questions.handle("verification", self._answered)

    async def create(self, cid: str, *, objective: str | None, task: str, title: str,
                     branch: str,
                     base_commit: str, target: str, author: str, requested_by: str,
                     workspace: Workspace | None) -> Record:
        """Record a new open change for ``branch`` (diff stat computed against its base);
        ``objective`` None: a change of no objective (a worktree command mission's);
        ``workspace``: the worktree it was made in, held until the change settles."""
        stat = [dataclasses.asdict(s) for s in await diff.diff_stat(self.repo, base_commit,
                                                                     branch)]
        head = await rev_parse(branch, self.repo)  # the diff outlives the branch
        doc = {"name": task, "task": task, "title": title, "branch": branch, "head": head,
               "base_commit": base_commit, "target": target, "author": author,
               "requested_by": requested_by, "stat": stat,
               "workspace": None if workspace is None else str(workspace.path),
               "files": [s["path"] for s in stat], "merge_commit": None}
        if workspace is not None:
            self._kept[cid] = workspace
        return self.records.insert(KIND, cid, "open", doc, parent=objective, event=EventSpec(
            "change-status", {"change": cid, "task": task, "state": "open", "previous": None,
                              "reason": f"task {task} finished", "files": doc["files"]},
            objective=objective))

    def resolve(self, ref: str) -> Record:
        """The change with id prefix or task name ``ref``.

        Raises:
            NotFound: none matches (see `overmind changes`).
            AmbiguousReference: several match.
        """
        return only(self.records.find(KIND, ref), "change", ref, "overmind changes")

    def list(self, objective: str | None = None) -> list[Record]:
        """Changes (of one objective), oldest first."""
        return self.records.list(KIND, parent=objective)

    async def diff(self, ref: str, path: str | None = None) -> str:
        """The change's full unified diff against its base (one file with ``path``)."""
        rec = self.resolve(ref)
        return await diff.full_diff(self.repo, rec.data.base_commit,
                                    rec.data.head or rec.data.branch, path)

    def set_state(self, rec: Record, state: str, reason: str, **changes: Any) -> Record:
        """Move ``rec`` to ``state`` (validated) with a ``change-status`` event."""
        data = {"change": rec.id, "task": rec.data.task, "state": state,
                "previous": rec.state, "reason": reason}
        data.update({k: v for k, v in changes.items() if k == "merge_commit"})
        return self.records.transition(KIND, rec.id, state, **changes,
                                       event=EventSpec("change-status", data,
                                                       objective=rec.parent))

    async def close(self, ref: str, reason: str = "closed by the host") -> Record:
        """Close an open, approved or conflicted change (its branch is kept)."""
        rec = self.set_state(self.resolve(ref), "closed", reason)
        self.questions.cancel_matching(lambda q: q.data.get("change") == rec.id, reason)
        await self._settled(rec)
        return rec

    def reopen(self, ref: str) -> Record:
        """Reopen a closed change."""
        return self.set_state(self.resolve(ref), "open", "reopened by the host")

    async def merge(self, ref: str, resolutions: dict[str, str] | None = None) -> MergeOutcome:
        """Approve and merge a change through the merge queue.

        Raises:
            UsageError: the change is merged or closed already.
        """
        rec = self.resolve(ref)
        if rec.state in ("merged", "closed"):
            raise UsageError(f"change {rec.id} is {rec.state}; "
                             + ("nothing to merge" if rec.state == "merged"
                                else "reopen it first: `overmind reopen " + rec.id + "`"))
        if rec.state != "approved":
            rec = self.set_state(rec, "approved", "merge requested")
        outcome = await self.queue.merge(_request(rec), resolutions)
        await self._after_merge(rec, outcome)
        return outcome

    async def check(self, ref: str) -> Record:
        """Run the pre-review check (``MergeQueue.check``: the change merged onto its
        target's current tip, the project's tests run, nothing lands) and record it on
        the change (``check``) with a ``change-checked`` event; the change as it is now.

        Raises:
            UsageError: the change is merged or closed.
            NotFound / AmbiguousReference: as ``resolve``; its branch or target is gone.
        """
        rec = self.resolve(ref)
        if rec.state in ("merged", "closed"):
            raise UsageError(f"change {rec.id} is {rec.state}; only an undecided change "
                             "is checked before review")
        result = await self.queue.check(_request(rec))
        check = _check_doc(result)
        return self.records.update(KIND, rec.id, check=check, event=EventSpec(
            "change-checked", {"change": rec.id, **{k: check[k] for k in (
                "state", "target", "target_commit", "message", "conflicts")}},
            objective=rec.parent))

    async def merge_many(self, refs: list[str]) -> list[MergeOutcome]:
        """Approve and land several changes as one merge train (one verification run for
        all; see ``MergeQueue.merge_many``); outcomes in the order of ``refs``."""
        recs = [self.resolve(ref) for ref in refs]
        recs = [r if r.state == "approved" else self.set_state(r, "approved", "merge requested")
                for r in recs]
        outcomes = await self.queue.merge_many([_request(r) for r in recs])
        for rec, outcome in zip(recs, outcomes, strict=True):
            await self._after_merge(rec, outcome)
        return outcomes

    async def _after_merge(self, rec: Record, outcome: MergeOutcome) -> None:
        verification = dataclasses.asdict(outcome.verification) if outcome.verification else None
        if verification is not None:
            self.records.update(KIND, rec.id, verification=verification, event=EventSpec(
                "verification", {"change": rec.id, **verification}, objective=rec.parent))
        if outcome.state == "merged":
            rec = self.set_state(rec, "merged", outcome.message, tier=outcome.tier,
                                 merge_commit=outcome.merge_commit)
            await self._settled(rec)
            return
        conflicts = [dataclasses.asdict(c) for c in outcome.conflicts]
        rec = self.set_state(rec, "conflicted", outcome.message, conflicts=conflicts,
                             outcome=outcome.state)
        kind = "verification" if outcome.state == "verification-failed" else "conflict"
        human = outcome.state == "conflicted"  # the human tier: resolutions are answers
        how = f"; {resolutions.how_to_answer(rec.data.workspace)}" if human else ""
        self.questions.post(kind, f"Change {rec.data.title!r} did not land: "
                            f"{outcome.message}{how}", objective=rec.parent,
                            options=("retry", "close", "done") if human else ("retry", "close"),
                            data={"change": rec.id, "outcome": outcome.state,
                                  "conflicts": conflicts, "verification": verification})

    def _check_answer(self, question: Question, answer: str) -> None:
        """Accept resolutions (``resolutions.parse``) for a conflict left to a human.

        Raises:
            UsageError: not a resolution of every conflicted file that passes the checks.
        """
        if answer in ("retry", "close"):
            return
        if question.data.get("outcome") != "conflicted":
            raise UsageError(f"answer one of: {', '.join(question.options)}")
        self._resolutions(question, answer)

    def _resolutions(self, question: Question, answer: str) -> dict[str, str]:
        rec = self.records.get(KIND, question.data["change"])
        paths = [c["path"] for c in question.data.get("conflicts") or []]
        return resolutions.parse(answer, paths, rec.data.workspace)

    async def _answered(self, question: Question, answer: str) -> None:
        """``retry`` merges again (after the host fixed the target); ``close`` closes;
        resolutions (``done`` included) merge with them (tier 3)."""
        cid = question.data["change"]
        if answer == "close":
            await self.close(cid, "closed after the merge question")
        elif answer == "retry":
            await self.merge(cid)
        else:
            await self.merge(cid, self._resolutions(question, answer))

    async def _settled(self, rec: Record) -> None:
        """Merged or closed: its worktree goes (found by its record when an earlier engine
        made it), its branch too once merged."""
        ws = self._kept.pop(rec.id, None)
        data = rec.data
        if ws is None and data.workspace and data.branch:
            ws = Workspace(Path(data.workspace), data.branch, data.base_commit, ())
        if ws is not None and self.pool is not None:
            await self.pool.release(ws, delete_branch=rec.state == "merged", force=True)


def _request(rec: Record) -> MergeRequest:
    """The merge queue's request for change ``rec``."""
    return MergeRequest(rec.id, rec.data.branch, rec.data.target or "", rec.data.title,
                        rec.data.author or "")


def _check_doc(result: CheckResult) -> dict[str, Any]:
    """``result`` as the change's ``check`` field (``kinds.ChangeCheck``)."""
    v = result.verification
    return {"state": result.state, "target": result.target,
            "target_commit": result.target_commit, "message": result.message,
            "conflicts": list(result.conflicts), "exit_code": v.exit_code if v else None,
            "output_tail": v.output_tail if v else "",
            "duration_s": v.duration_s if v else None, "checked_at": time.time()}
