"""The engine's review methods: a change's diff as data and requested changes
(``ReviewFacade``, mixed into ``Engine`` beside ``WorkFacade``, whose ``changes_``,
``records`` and ``orchestrator`` it uses). Same interface over REST (``client_work.py``).
"""

from __future__ import annotations

from typing import Any

from .orchestrator.followup import FollowUps
from .workspace import filediff


class ReviewFacade:
    """Review half of the engine (needs ``self.root``, ``self.records``,
    ``self.changes_`` and ``self.orchestrator`` from ``WorkFacade``)."""

    async def change_files(self, ref: str) -> dict[str, Any]:
        """A change's diff for the diff view.

        Returns ``{"change": id, "base": commit, "head": commit, "files": [file]}``, a file
        as ``workspace.filediff.file_diffs`` gives it (hunks, or cells for notebooks).

        Raises:
            NotFound / AmbiguousReference: no or several changes match ``ref``; its
                commits are gone from the repository.
        """
        rec = self.changes_.resolve(ref)
        head = rec.data.get("head") or rec.data["branch"]
        files = await filediff.file_diffs(self.root, rec.data["base_commit"], head)
        return {"change": rec.id, "base": rec.data["base_commit"], "head": head,
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
