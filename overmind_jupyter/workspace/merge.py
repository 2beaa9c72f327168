"""The merge queue: changes land on their target branch one at a time, in tiers.

Tiers (Overstory's tiered merge): (1) ``git merge`` without conflicts; (2) a referee agent
proposes a resolution per conflicted file with a confidence, accepted only when the text
has no conflict markers, parses (``validate.py``) and the confidence is at least
``min_confidence``; (3) otherwise the conflicts go back to a human, whose answer
(``resolutions``) passes the same checks except confidence.

Every merge happens in a scratch worktree detached at the target's tip
(``merge_scratch.py``); the merged result is committed there as
``Merge change <id>: <title>`` with ``Overmind-Change`` / ``Overmind-Author`` trailers and
verified (``verify.py``) before the target moves to that commit. The host's uncommitted
changes and other branches are never touched: where the target is checked out, git moves
it with ``--ff-only`` or refuses (``blocked``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import NotFound, UsageError
from .git import GitError, git, git_status, rev_parse
from .merge_scratch import ConflictedFile, Scratch, advance
from .validate import validation_problem
from .verify import VerificationResult, detect_test_command, run_verification

__all__ = ["ConflictReport", "ConflictedFile", "MergeOutcome", "MergeQueue", "MergeRequest",
           "Referee", "Resolution", "VerificationResult", "detect_test_command"]

MergeState = Literal["merged", "conflicted", "verification-failed", "blocked"]


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

    ``merge_commit`` is the commit the target now points at (None unless ``merged``, and
    None for a branch the target already contained); ``verification`` is None when no
    command ran; ``message`` is one line for humans: what happened and what to do.
    """

    state: MergeState
    tier: int
    merge_commit: str | None
    conflicts: tuple[ConflictReport, ...]
    verification: VerificationResult | None
    message: str


@dataclass(frozen=True, slots=True)
class _Retry:
    """The target moved while merging: merge again from its new tip (else ``outcome``)."""

    outcome: MergeOutcome


class MergeQueue:
    """Merges changes into branches of the repository at ``repo``, one at a time.

    Args:
        repo: a directory of the repository (its top level is used).
        referee: tier 2; None sends every conflict to a human.
        verify_command: argv run on the merged result; ``"auto"`` detects the repository's
            tests (``detect_test_command``) in the merged tree; None skips verification.
        min_confidence: the lowest referee confidence accepted, in [0, 1].
        verify_timeout_s: seconds the verification command may run.

    Raises:
        UsageError: an empty ``verify_command`` or a ``min_confidence`` outside [0, 1].
    """

    def __init__(self, repo: Path, *, referee: Referee | None = None,
                 verify_command: list[str] | Literal["auto"] | None = "auto",
                 min_confidence: float = 0.8, verify_timeout_s: float = 900) -> None:
        if verify_command is not None and not verify_command:
            raise UsageError("verify_command is empty: give an argv, 'auto' or None")
        if not 0 <= min_confidence <= 1:
            raise UsageError(f"min_confidence {min_confidence} is outside [0, 1]")
        self.repo, self.referee = Path(repo), referee
        self.verify_command, self.min_confidence = verify_command, min_confidence
        self.verify_timeout_s = verify_timeout_s
        self._lock = asyncio.Lock()

    async def merge(self, request: MergeRequest,
                    resolutions: dict[str, str] | None = None) -> MergeOutcome:
        """Land ``request`` (waiting for merges queued before it).

        ``resolutions`` maps a conflicted path to the text a human chose (tier 3 answer).
        When the target moves during the merge, the merge is redone once from its new tip.

        Raises:
            NotFound: the branch or the target does not exist.
            UsageError: branch and target are the same branch.
            GitError: git failed for a reason other than a conflict.
        """
        if request.branch == request.target:
            raise UsageError(f"cannot merge {request.branch} into itself; name another target")
        async with self._lock:
            top = Path((await git("rev-parse", "--show-toplevel", cwd=self.repo)).strip())
            outcome = await self._attempt(top, request, resolutions or {})
            if isinstance(outcome, _Retry):
                outcome = await self._attempt(top, request, resolutions or {})
            return outcome.outcome if isinstance(outcome, _Retry) else outcome

    async def _attempt(self, top: Path, request: MergeRequest,
                       resolutions: dict[str, str]) -> MergeOutcome | _Retry:
        old = await _tip(top, request.target)
        theirs = await _tip(top, request.branch)
        if await _contains(top, old, theirs):
            return MergeOutcome("merged", 1, None, (), None,
                                f"{request.target} already contains {request.branch}; "
                                "nothing to merge")
        scratch = await Scratch.create(top, old)
        try:
            return await self._merge_in(scratch, request, (old, theirs), resolutions)
        finally:
            await scratch.remove()

    async def _merge_in(self, scratch: Scratch, request: MergeRequest, tips: tuple[str, str],
                        resolutions: dict[str, str]) -> MergeOutcome | _Retry:
        old, theirs = tips
        paths = await scratch.merge(theirs, (request.target, request.branch))
        tier, reports = await self._resolve(scratch, paths, resolutions)
        if reports:
            return MergeOutcome("conflicted", 3, None, tuple(reports), None,
                                _conflict_message(request, reports))
        commit = await scratch.commit(_commit_message(request))
        verification = await self._verify(scratch.path)
        if verification is not None and not verification.ok:
            return MergeOutcome("verification-failed", tier, None, (), verification,
                                _failure_message(request, verification))
        blocked = await advance(scratch.top, request.target, old, commit, scratch.env)
        if blocked is not None:
            outcome = MergeOutcome("blocked", tier, None, (), verification, blocked.reason)
            return _Retry(outcome) if blocked.retry else outcome
        return MergeOutcome("merged", tier, commit, (), verification,
                            _merged_message(request, tier, commit, verification))

    async def _resolve(self, scratch: Scratch, paths: Sequence[str],
                       resolutions: dict[str, str]) -> tuple[int, list[ConflictReport]]:
        """Apply an accepted proposal to each conflicted path; (tier reached, rejections)."""
        files = [await scratch.conflicted_file(path) for path in paths]
        proposals = await asyncio.gather(*(self._proposal(f, resolutions) for f in files))
        tier, reports = (2 if files else 1), []
        for file, (text, problem, by_human) in zip(files, proposals, strict=True):
            if problem is not None:
                reports.append(ConflictReport(file.path, problem, file.merged_with_markers, text))
                continue
            assert text is not None
            await scratch.resolve(file.path, text)
            tier = 3 if by_human else tier
        if files and not reports and await scratch.unmerged():
            raise GitError(("merge",), 1, "paths still unmerged after resolution")
        return tier, reports

    async def _proposal(self, file: ConflictedFile, resolutions: dict[str, str]
                        ) -> tuple[str | None, str | None, bool]:
        """(proposed text, why it is rejected or None, whether a human proposed it)."""
        if file.path in resolutions:
            text = resolutions[file.path]
            return text, validation_problem(file.path, text), True
        if _is_binary(file):
            return None, "binary file: merge it on the branch, then merge again", False
        if self.referee is None:
            return None, "no referee", False
        try:
            resolution = await self.referee(file)
        except Exception as exc:  # the referee is an agent: its failure becomes a question
            return None, f"referee failed: {type(exc).__name__}: {exc}"[:300], False
        if resolution is None:
            return None, "the referee proposed nothing", False
        return resolution.text, self._rejection(file.path, resolution), False

    def _rejection(self, path: str, resolution: Resolution) -> str | None:
        problem = validation_problem(path, resolution.text)
        if problem is None and resolution.confidence < self.min_confidence:
            problem = f"confidence {resolution.confidence:g} < {self.min_confidence:g}"
        return problem

    async def _verify(self, merged: Path) -> VerificationResult | None:
        command = self.verify_command
        if command == "auto":
            command = detect_test_command(merged)
        if command is None:
            return None
        return await run_verification(list(command), merged, self.verify_timeout_s)


async def _tip(top: Path, branch: str) -> str:
    try:
        return await rev_parse(f"refs/heads/{branch}", top)
    except GitError:
        raise NotFound(f"there is no branch {branch!r} in {top}; check the change's branch "
                       "and target") from None


async def _contains(top: Path, tip: str, commit: str) -> bool:
    code, _, _ = await git_status("merge-base", "--is-ancestor", commit, tip, cwd=top)
    return code == 0


def _is_binary(file: ConflictedFile) -> bool:
    return any("\0" in side for side in (file.base, file.ours, file.theirs))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _commit_message(request: MergeRequest) -> str:
    change = _one_line(request.change_id)
    return (f"Merge change {change}: {_one_line(request.title)}\n\n"
            f"Overmind-Change: {change}\nOvermind-Author: {_one_line(request.author)}\n")


def _conflict_message(request: MergeRequest, reports: Sequence[ConflictReport]) -> str:
    shown = "; ".join(f"{r.path}: {r.rejected_reason}" for r in reports[:3])
    more = f" and {len(reports) - 3} more" if len(reports) > 3 else ""
    return (f"change {request.change_id} conflicts with {request.target} in "
            f"{len(reports)} file(s) ({shown}{more}); {request.target} is untouched: answer "
            "with a resolution for each file")


def _failure_message(request: MergeRequest, result: VerificationResult) -> str:
    how = f"exit status {result.exit_code}" if result.exit_code is not None else "no exit"
    return (f"verification `{' '.join(result.command)}` failed on the merge of change "
            f"{request.change_id} ({how}, {result.duration_s:g} s); {request.target} is "
            "untouched: fix the change's branch, then merge again")


def _merged_message(request: MergeRequest, tier: int, commit: str,
                    verification: VerificationResult | None) -> str:
    how = {1: "by git", 2: "with the referee's resolutions", 3: "with your resolutions"}[tier]
    checked = (f"; verification passed in {verification.duration_s:g} s" if verification
               else "; no verification command")
    return (f"merged change {request.change_id} into {request.target} {how} as "
            f"{commit[:12]}{checked}")
