"""What the merge queue is asked and answers, and the one-line messages it writes.

Shared by ``merge/__init__.py`` (one change at a time) and ``merge/train.py`` (several changes, one
verification run); ``merge/__init__.py`` re-exports every public name here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..verify import VerificationResult
from .scratch import ConflictedFile

MergeState = Literal["merged", "conflicted", "verification-failed", "blocked"]
CheckState = Literal["passed", "failed", "conflicts", "untested", "merged-already"]


@dataclass(frozen=True, slots=True)
class MergeRequest:
    """Land branch ``branch`` of change ``change_id`` on branch ``target``.

    ``author`` is who made the change, e.g. ``"builtin agent for alice"``.
    """

    change_id: str
    branch: str
    target: str
    title: str
    author: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A change tried on the target's current tip before review (nothing lands).

    ``state``: ``passed`` / ``failed`` (the verification command's exit), ``conflicts``
    (git left ``conflicts`` unmerged; no referee is asked before review), ``untested`` (no
    test command found), ``merged-already`` (the target contains the branch).
    ``target_commit``: the tip it was checked on; ``verification`` None unless tests ran.
    """

    state: CheckState
    target: str
    target_commit: str
    conflicts: tuple[str, ...]
    verification: VerificationResult | None

    @property
    def message(self) -> str:
        """One line for the reviewer: what the check found on which tip."""
        on = f"on {self.target}@{self.target_commit[:8]}"
        v = self.verification
        return {"passed": f"tests passed {on} ({v.duration_s:.1f} s)" if v else "",
                "failed": f"tests failed {on} (exit {v.exit_code})" if v else "",
                "conflicts": f"conflicts {on} in {', '.join(self.conflicts)}",
                "untested": f"merges cleanly {on}; no test command found",
                "merged-already": f"already contained in {self.target}"}[self.state]


@dataclass(frozen=True, slots=True)
class Resolution:
    """A referee's proposed content of a conflicted file; ``confidence`` in [0, 1]."""

    text: str
    confidence: float
    explanation: str = ""


Referee = Callable[[ConflictedFile], Awaitable[Resolution | None]]


@dataclass(frozen=True, slots=True)
class ConflictReport:
    """A conflicted file left unresolved, and why the proposal for it was rejected.

    ``rejected_reason``: e.g. ``"conflict markers left (lines 3, 5)"``, ``"does not parse:
    …"``, ``"confidence 0.4 < 0.8"``, ``"no referee"``; ``proposal`` is the rejected text
    (None when nobody proposed one).
    """

    path: str
    rejected_reason: str
    merged_with_markers: str
    proposal: str | None = None


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """What a merge did. ``tier``: 1 git, 2 referee, 3 human.

    ``merge_commit`` is the change's own merge commit, now on the target (the target's tip
    after ``merge``; in a train, the target's tip is the last change's merge commit).
    None unless ``merged``, and None for a branch the target already contained.
    ``verification`` is None when no command ran (shared by a train's merged outcomes);
    ``message`` is one line for humans: what happened and what to do.
    """

    state: MergeState
    tier: int
    merge_commit: str | None
    conflicts: tuple[ConflictReport, ...]
    verification: VerificationResult | None
    message: str


def one_line(text: str) -> str:
    """``text`` with every run of white space (newlines too) folded to one space."""
    return " ".join(text.split())


def commit_message(request: MergeRequest) -> str:
    """``Merge change <id>: <title>`` with ``Overmind-Change`` / ``Overmind-Author``
    trailers."""
    change = one_line(request.change_id)
    return (f"Merge change {change}: {one_line(request.title)}\n\n"
            f"Overmind-Change: {change}\nOvermind-Author: {one_line(request.author)}\n")


def already_merged(request: MergeRequest) -> MergeOutcome:
    """The outcome for a branch the target already contains: merged, nothing moved."""
    return MergeOutcome("merged", 1, None, (), None,
                        f"{request.target} already contains {request.branch}; "
                        "nothing to merge")


def conflict_message(request: MergeRequest, reports: Sequence[ConflictReport]) -> str:
    """Which files conflict and why each proposal was rejected (the first three)."""
    shown = "; ".join(f"{r.path}: {r.rejected_reason}" for r in reports[:3])
    more = f" and {len(reports) - 3} more" if len(reports) > 3 else ""
    return (f"change {request.change_id} conflicts with {request.target} in "
            f"{len(reports)} file(s) ({shown}{more}); {request.target} is untouched: answer "
            "with a resolution for each file")


def failure_message(request: MergeRequest, result: VerificationResult) -> str:
    """The verification command that failed on the merge of ``request``, and how."""
    how = f"exit status {result.exit_code}" if result.exit_code is not None else "no exit"
    return (f"verification `{' '.join(result.command)}` failed on the merge of change "
            f"{request.change_id} ({how}, {result.duration_s:g} s); {request.target} is "
            "untouched: fix the change's branch, then merge again")


def merged_message(request: MergeRequest, tier: int, commit: str,
                   verification: VerificationResult | None) -> str:
    """How ``request`` landed (tier, merge commit) and what the verification said."""
    how = {1: "by git", 2: "with the referee's resolutions", 3: "with your resolutions"}[tier]
    checked = (f"; verification passed in {verification.duration_s:g} s" if verification
               else "; no verification command")
    return (f"merged change {request.change_id} into {request.target} {how} as "
            f"{commit[:12]}{checked}")
