"""The merge queue: changes land on their target branch one at a time, in tiers.

Tiers (Overstory's tiered merge): (1) ``git merge`` without conflicts; (2) a referee agent
proposes a resolution per conflicted file with a confidence, accepted only when the text
has no conflict markers, parses (``validate.py``) and the confidence is at least
``min_confidence``; (3) otherwise the conflicts go back to a human, whose answer
(``resolutions``) passes the same checks except confidence.

Every merge happens in a scratch worktree detached at the target's tip
(``merge/scratch.py``); the merged result is committed there as
``Merge change <id>: <title>`` with ``Overmind-Change`` / ``Overmind-Author`` trailers and
verified (``verify.py``) before the target moves to that commit. The host's uncommitted
changes and other branches are never touched: where the target is checked out, git moves
it with ``--ff-only`` or refuses (``blocked``). ``merge_many`` lands several changes with
one verification run (a merge train, ``merge/train.py``); the data types and messages
live in ``merge/types.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ...errors import UsageError
from ..git import GitError, git
from ..sandbox import Sandbox
from ..validate import validation_problem
from ..verify import VerificationResult, detect_test_command, run_verification
from .scratch import ConflictedFile, Scratch, advance, branch_tip, contains
from .train import TrainOps, run_train
from .types import (
    CheckResult,
    CheckState,
    ConflictReport,
    MergeOutcome,
    MergeRequest,
    MergeState,
    Referee,
    Resolution,
    already_merged,
    commit_message,
    conflict_message,
    failure_message,
    merged_message,
)

__all__ = ["CheckResult", "CheckState", "ConflictReport", "ConflictedFile", "MergeOutcome",
           "MergeQueue", "MergeRequest", "MergeState", "Referee", "Resolution",
           "VerificationResult", "detect_test_command"]


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
        sandbox: the OS sandbox the verification command runs in (None: unconfined).

    Raises:
        UsageError: an empty ``verify_command`` or a ``min_confidence`` outside [0, 1].
    """

    def __init__(self, repo: Path, *, referee: Referee | None = None,
                 verify_command: list[str] | Literal["auto"] | None = "auto",
                 min_confidence: float = 0.8, verify_timeout_s: float = 900,
                 sandbox: Sandbox | None = None) -> None:
        if verify_command is not None and not verify_command:
            raise UsageError("verify_command is empty: give an argv, 'auto' or None")
        if not 0 <= min_confidence <= 1:
            raise UsageError(f"min_confidence {min_confidence} is outside [0, 1]")
        self.repo, self.referee = Path(repo), referee
        self.verify_command, self.min_confidence = verify_command, min_confidence
        self.verify_timeout_s = verify_timeout_s
        self.sandbox = sandbox
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
        _check(request)
        async with self._lock:
            return await self._land(await self._top(), request, resolutions or {})

    async def merge_many(self, requests: Sequence[MergeRequest]) -> list[MergeOutcome]:
        """Land ``requests`` (all on one target) as a merge train: one verification run.

        In one scratch worktree each request is merged in turn as its own merge commit
        (tiers 1 and 2, as ``merge``; one left conflicted is dropped from the train); the
        verification command runs once on the result and the target moves once to it.
        When that verification fails, the requests in the train are merged one by one with
        ``merge``'s checks, so only the culprit stays out (see ``merge/train.py``).

        Returns:
            one outcome per request, in request order ([] for no requests).

        Raises:
            NotFound: a branch or the target does not exist (nothing is merged).
            UsageError: a branch is its own target, or the requests name several targets.
            GitError: git failed for a reason other than a conflict.
        """
        requests = list(requests)
        for request in requests:
            _check(request)
        if len({request.target for request in requests}) > 1:
            raise UsageError("a merge train lands on one target; call merge_many once for "
                             "each target")
        if not requests:
            return []
        async with self._lock:
            top = await self._top()
            ops = TrainOps(step=self._commit_in, verify=self._verify,
                           merge_one=lambda request: self._land(top, request, {}))
            return await run_train(top, requests, ops)

    async def check(self, request: MergeRequest) -> CheckResult:
        """Try ``request`` on its target's current tip, verify, and land nothing: the
        pre-review check. Git's merge only (tier 1): a conflict is reported, not resolved.

        Raises:
            NotFound: the branch or the target does not exist.
            UsageError: branch and target are the same branch.
            GitError: git failed for a reason other than a conflict.
        """
        _check(request)
        async with self._lock:  # the scratch sees the tip the queue would merge onto
            top = await self._top()
            tip = await branch_tip(top, request.target)
            theirs = await branch_tip(top, request.branch)
            if await contains(top, tip, theirs):
                return CheckResult("merged-already", request.target, tip, (), None)
            scratch = await Scratch.create(top, tip)
            try:
                return await self._check_in(scratch, request, tip, theirs)
            finally:
                await scratch.remove()

    async def _check_in(self, scratch: Scratch, request: MergeRequest, tip: str,
                        theirs: str) -> CheckResult:
        conflicts = await scratch.merge(theirs, (request.target, request.branch))
        if conflicts:
            return CheckResult("conflicts", request.target, tip, tuple(conflicts), None)
        verification = await self._verify(scratch.path)
        state: CheckState = ("untested" if verification is None
                             else "passed" if verification.ok else "failed")
        return CheckResult(state, request.target, tip, (), verification)

    async def _top(self) -> Path:
        return Path((await git("rev-parse", "--show-toplevel", cwd=self.repo)).strip())

    async def _land(self, top: Path, request: MergeRequest,
                    resolutions: dict[str, str]) -> MergeOutcome:
        """``merge`` with the lock held: one attempt, and one more if the target moved."""
        outcome = await self._attempt(top, request, resolutions)
        if isinstance(outcome, _Retry):
            outcome = await self._attempt(top, request, resolutions)
        return outcome.outcome if isinstance(outcome, _Retry) else outcome

    async def _attempt(self, top: Path, request: MergeRequest,
                       resolutions: dict[str, str]) -> MergeOutcome | _Retry:
        old = await branch_tip(top, request.target)
        theirs = await branch_tip(top, request.branch)
        if await contains(top, old, theirs):
            return already_merged(request)
        scratch = await Scratch.create(top, old)
        try:
            return await self._merge_in(scratch, request, (old, theirs), resolutions)
        finally:
            await scratch.remove()

    async def _merge_in(self, scratch: Scratch, request: MergeRequest, tips: tuple[str, str],
                        resolutions: dict[str, str]) -> MergeOutcome | _Retry:
        old, theirs = tips
        committed = await self._commit_in(scratch, request, theirs, resolutions)
        if isinstance(committed, MergeOutcome):
            return committed
        tier, commit = committed
        verification = await self._verify(scratch.path)
        if verification is not None and not verification.ok:
            return MergeOutcome("verification-failed", tier, None, (), verification,
                                failure_message(request, verification))
        blocked = await advance(scratch.top, request.target, old, commit, scratch.env)
        if blocked is not None:
            outcome = MergeOutcome("blocked", tier, None, (), verification, blocked.reason)
            return _Retry(outcome) if blocked.retry else outcome
        return MergeOutcome("merged", tier, commit, (), verification,
                            merged_message(request, tier, commit, verification))

    async def _commit_in(self, scratch: Scratch, request: MergeRequest, theirs: str,
                         resolutions: dict[str, str] | None = None
                         ) -> tuple[int, str] | MergeOutcome:
        """Merge ``theirs`` into the scratch's HEAD and record the merge commit.

        Returns (tier, merge commit id), or the ``conflicted`` outcome when a conflicted
        file is left unresolved (the scratch is then left mid-merge).
        """
        paths = await scratch.merge(theirs, (request.target, request.branch))
        tier, reports = await self._resolve(scratch, paths, resolutions or {})
        if reports:
            return MergeOutcome("conflicted", 3, None, tuple(reports), None,
                                conflict_message(request, reports))
        return tier, await scratch.commit(commit_message(request))

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
        return await run_verification(list(command), merged, self.verify_timeout_s,
                                      sandbox=self.sandbox, root=self.repo)


def _is_binary(file: ConflictedFile) -> bool:
    return any("\0" in side for side in (file.base, file.ours, file.theirs))


def _check(request: MergeRequest) -> None:
    if request.branch == request.target:
        raise UsageError(f"cannot merge {request.branch} into itself; name another target")
