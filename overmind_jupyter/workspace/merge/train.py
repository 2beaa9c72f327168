"""A merge train: several changes landed on one target with one verification run.

Issue 5's target, "merge of 8 non-conflicting changes ≤ 2 s plus the verification
command", counts the command once for the batch, while ``MergeQueue.merge`` runs it once
per change. The train (the batching of GitLab's merge trains and bors-ng, in one process):

1. one scratch worktree detached at the target's tip; each request is merged there in
   turn as its own merge commit (message, trailers and tiers 1–2 exactly as ``merge``);
   one left conflicted gets its ``conflicted`` outcome, the scratch goes back to before
   it and the train goes on without it;
2. the verification command runs once, on the last merge commit;
3. it passes: the target moves once to that commit (``advance``: ``--ff-only`` where the
   target is checked out, else compare-and-swap) and every change in the train is
   ``merged`` with its own merge commit and the shared verification result. If the
   target moved meanwhile the train runs again once from its new tip, then is ``blocked``;
4. it fails: the changes in the train are merged again one by one with ``merge`` (each
   verified), so the culprit stays out and the others land. (bors-ng bisects instead;
   one by one costs a run per change but assumes nothing about how failures combine.)
   A train of one change is ``verification-failed`` at once: ``merge`` would check the
   same tree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..verify import VerificationResult
from .scratch import Scratch, advance, branch_tip, contains
from .types import (
    MergeOutcome,
    MergeRequest,
    already_merged,
    failure_message,
    merged_message,
)

Step = Callable[[Scratch, MergeRequest, str], Awaitable["tuple[int, str] | MergeOutcome"]]


@dataclass(frozen=True, slots=True)
class TrainOps:
    """What the train borrows from its ``MergeQueue`` (which builds it, see ``merge/__init__.py``).

    ``step(scratch, request, theirs)`` merges commit ``theirs`` into the scratch's HEAD and
    commits it: (tier, merge commit id), or the ``conflicted`` outcome with the scratch left
    mid-merge. ``verify(path)`` runs the verification command in ``path`` (None: no
    command). ``merge_one(request)`` is ``MergeQueue.merge`` with the queue's lock held.
    """

    step: Step
    verify: Callable[[Path], Awaitable[VerificationResult | None]]
    merge_one: Callable[[MergeRequest], Awaitable[MergeOutcome]]


@dataclass(frozen=True, slots=True)
class _Car:
    """A request merged into the train: its index among the requests, its tier, and its
    merge commit (None when an earlier car already brought its branch in)."""

    index: int
    request: MergeRequest
    tier: int
    commit: str | None


@dataclass(slots=True)
class _Run:
    """One run of the train: an outcome per request (None: to be merged one by one) and
    whether the target moved meanwhile (run the train again)."""

    outcomes: list[MergeOutcome | None]
    retry: bool = False


async def run_train(top: Path, requests: Sequence[MergeRequest],
                    ops: TrainOps) -> list[MergeOutcome]:
    """Land ``requests`` on their one target; the caller checked them and holds the lock.

    ``top`` is the repository's top level. Returns one outcome per request, in order.

    Raises:
        NotFound: a branch or the target does not exist (raised before anything merges).
        GitError: git failed for a reason other than a conflict.
    """
    run = await _run(top, requests, ops)
    if run.retry:
        run = await _run(top, requests, ops)
    return [outcome if outcome is not None else await ops.merge_one(request)
            for request, outcome in zip(requests, run.outcomes, strict=True)]


async def _run(top: Path, requests: Sequence[MergeRequest], ops: TrainOps) -> _Run:
    old = await branch_tip(top, requests[0].target)
    tips = [await branch_tip(top, request.branch) for request in requests]
    run = _Run([None] * len(requests))
    for index, (request, theirs) in enumerate(zip(requests, tips, strict=True)):
        if await contains(top, old, theirs):
            run.outcomes[index] = already_merged(request)
    pending = [index for index, outcome in enumerate(run.outcomes) if outcome is None]
    if not pending:
        return run
    scratch = await Scratch.create(top, old)
    try:
        cars = await _couple(scratch, (requests, tips), pending, old, ops, run)
        if cars:
            await _depart(scratch, cars, old, ops, run)
    finally:
        await scratch.remove()
    return run


async def _couple(scratch: Scratch, asked: tuple[Sequence[MergeRequest], list[str]],
                  pending: list[int], head: str, ops: TrainOps, run: _Run) -> list[_Car]:
    """Merge each pending request (``asked``: requests and their branch tips) into the
    scratch, whose HEAD is ``head``, in turn; the cars that stayed in the train."""
    requests, tips = asked
    cars: list[_Car] = []
    for index in pending:
        request, theirs = requests[index], tips[index]
        if cars and await contains(scratch.top, head, theirs):  # cars: HEAD moved on
            cars.append(_Car(index, request, 1, None))
            continue
        stepped = await ops.step(scratch, request, theirs)
        if isinstance(stepped, MergeOutcome):
            run.outcomes[index] = stepped
            await scratch.reset(head)
            continue
        cars.append(_Car(index, request, *stepped))
        head = stepped[1]
    return cars


async def _depart(scratch: Scratch, cars: list[_Car], old: str, ops: TrainOps,
                  run: _Run) -> None:
    """Verify the train's last merge commit once, then move the target there from ``old``.

    On a failed verification the cars' outcomes stay None (merged one by one later),
    except for a train of one car, whose failure is final.
    """
    verification = await ops.verify(scratch.path)
    if verification is not None and not verification.ok:
        if len(cars) == 1:
            car = cars[0]
            run.outcomes[car.index] = MergeOutcome(
                "verification-failed", car.tier, None, (), verification,
                failure_message(car.request, verification))
        return
    last = next(car.commit for car in reversed(cars) if car.commit is not None)
    blocked = await advance(scratch.top, cars[0].request.target, old, last, scratch.env)
    for car in cars:
        run.outcomes[car.index] = (
            _landed(car, verification, len(cars)) if blocked is None else
            MergeOutcome("blocked", car.tier, None, (), verification, blocked.reason))
    run.retry = blocked is not None and blocked.retry


def _landed(car: _Car, verification: VerificationResult | None, size: int) -> MergeOutcome:
    request = car.request
    if car.commit is None:
        message = (f"{request.target} already contains {request.branch} through an earlier "
                   "change of this merge train; nothing more to merge")
    else:
        message = (merged_message(request, car.tier, car.commit, verification)
                   + f" (one run for a merge train of {size})" * (verification is not None))
    return MergeOutcome("merged", car.tier, car.commit, (), verification, message)
