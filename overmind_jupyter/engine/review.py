"""The engine's review service (``ReviewService``): changes listed, diffed (as text and
as data for the diff view), merged through the merge queue, closed, reopened, and
requested changes (a follow-up task of the change's objective)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..errors import AmbiguousReference, NotFound
from ..orchestrator.changes import UNDER_REVIEW, Changes
from ..orchestrator.followup import FollowUps
from ..orchestrator.objectives import Orchestrator
from ..orchestrator.questions import Questions
from ..store.records import Records
from ..workspace import filediff


class ReviewService:
    """Review of the changes of one repository.

    Args:
        root: the repository. records, changes, orchestrator: the objective pipeline's
            (a requested change becomes a follow-up task of the change's objective).
    """

    def __init__(self, root: Path, records: Records, changes: Changes,
                 orchestrator: Orchestrator, questions: Questions) -> None:
        self.root, self.records, self.questions = root, records, questions
        self.changes_, self.orchestrator = changes, orchestrator

    async def needs_you(self) -> list[dict[str, Any]]:
        """What waits on a person, oldest first: open questions and changes not yet
        merged or closed.

        Returns ``[{kind: "question" | "change", id, objective, title, detail, since}]``:
        ``title`` the question's first line or the change's title, ``detail`` the
        question's kind or the change's state, ``since`` when it began waiting (epoch s).
        """
        asked = [{"kind": "question", "id": q.id, "objective": q.objective,
                  "title": q.text.strip().splitlines()[0] if q.text.strip() else q.kind,
                  "detail": q.kind, "since": q.asked_at} for q in self.questions.open()]
        changes = [{"kind": "change", "id": c.id, "objective": c.parent,
                    "title": c.data.title or c.data.branch, "detail": c.state,
                    "since": c.created_at} for c in self.changes_.list(None)
                   if c.state in UNDER_REVIEW]
        return sorted(asked + changes, key=lambda item: item["since"])

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

    async def check_change(self, ref: str) -> dict[str, Any]:
        """Run the pre-review check again (``Changes.check``: the change merged onto its
        target's current tip, the project's tests, nothing lands); the change with its
        ``check``.

        Raises:
            UsageError: a merged or closed change. NotFound / AmbiguousReference.
        """
        return (await self.changes_.check(ref)).to_dict()

    async def close_change(self, ref: str, by: str = "the host") -> dict[str, Any]:
        """Close a change (its branch is kept; reopen with ``reopen_change``); ``by``:
        who closed it (a party's reviewer, or the host)."""
        return (await self.changes_.close(ref, f"closed by {by}")).to_dict()

    async def reopen_change(self, ref: str) -> dict[str, Any]:
        """Reopen a closed change."""
        return self.changes_.reopen(ref).to_dict()

    # -- review ---------------------------------------------------------------------
    async def change_files(self, ref: str) -> dict[str, Any]:
        """A change's diff for the diff view.

        Returns ``{"change": id, "base": commit, "head": commit, "files": [file]}``, a file
        as ``workspace.filediff.file_diffs`` gives it (hunks, or cells for notebooks).

        Raises:
            NotFound / AmbiguousReference: no or several changes match ``ref``; its
                commits are gone from the repository.
        """
        rec = self.changes_.resolve(ref)
        head = rec.data.head or rec.data.branch
        files = await filediff.file_diffs(self.root, rec.data.base_commit, head)
        return {"change": rec.id, "base": rec.data.base_commit, "head": head,
                "files": files}

    async def request_changes(self, ref: str, text: str, member: str = "host"
                              ) -> dict[str, Any]:
        """Close a change and give its objective a follow-up task with the review ``text``
        (see ``orchestrator.followup``).

        Returns ``{"change": closed change, "task": the new task}`` (record dicts).

        Raises:
            UsageError: empty text, a merged/closed change or one of no objective.
            NotFound / AmbiguousReference: as ``change``.
        """
        closed, task = await FollowUps(self.records, self.changes_,
                                       self.orchestrator).request(ref, text, member)
        return {"change": closed.to_dict(), "task": task.to_dict()}
