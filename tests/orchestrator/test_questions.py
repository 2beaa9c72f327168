"""The questions inbox is durable: posted questions survive a restart, waiters do not."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from overmind_jupyter.errors import AmbiguousReference, NotFound, UsageError
from overmind_jupyter.orchestrator.questions import Question, Questions
from overmind_jupyter.store import Store

pytestmark = pytest.mark.timeout(30)


async def test_answer_resumes_the_waiter_and_is_recorded(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    inbox = Questions(store)
    waiting = asyncio.ensure_future(inbox.ask("tool-approval", "run `rm -rf build`?",
                                              mission="m1", options=("allow", "deny")))
    await asyncio.sleep(0)
    [q] = inbox.open()
    with pytest.raises(UsageError, match="allow, deny"):
        await inbox.answer(q.id, "maybe")
    await inbox.answer(q.id[:3], "deny", by="alice")
    assert await waiting == "deny"
    store.flush()
    types = [(e["type"], e["mission"]) for e in store.read_events()]
    assert types == [("question-asked", "m1"), ("question-answered", "m1")]
    assert inbox.get(q.id).answered_by == "alice" and inbox.open() == []


async def test_posted_question_survives_restart_and_reaches_its_handler(tmp_path: Path) -> None:
    first = Questions(Store(tmp_path / "db"))
    first.post("conflict", "src/app.py conflicts", objective="o1", options=("close", "retry"),
               data={"path": "src/app.py"})
    waiting = asyncio.ensure_future(first.ask("clarify", "which database?"))
    await asyncio.sleep(0)
    waiting.cancel()
    first.store.close()

    second = Questions(Store(tmp_path / "db"))  # the engine restarted
    assert second.start() == 1  # the waiter's question is cancelled, the posted one stays
    [q] = second.open()
    seen: list[tuple[Question, str]] = []

    async def on_conflict(question: Question, answer: str) -> None:
        seen.append((question, answer))

    second.handle("conflict", on_conflict)
    await second.answer(q.id, "retry")
    assert [(s.data, a) for s, a in seen] == [({"path": "src/app.py"}, "retry")]


async def test_references_must_match_one_open_question(tmp_path: Path) -> None:
    inbox = Questions(Store(tmp_path / "db"))
    with pytest.raises(NotFound, match="overmind questions"):
        await inbox.answer("zz", "yes")
    for _ in range(40):  # ids are random hex: 40 give a shared first digit for sure
        inbox.post("clarify", "?")
    digit = sorted(q.id[0] for q in inbox.open())
    shared = next(d for d, e in itertools.pairwise(digit) if d == e)
    with pytest.raises(AmbiguousReference):
        await inbox.answer(shared, "x")


async def test_cancel_for_an_ended_objective(tmp_path: Path) -> None:
    inbox = Questions(Store(tmp_path / "db"))
    inbox.post("budget", "raise the budget?", objective="o1")
    inbox.post("budget", "raise the budget?", objective="o2")
    inbox.cancel_for(objective="o1", reason="objective cancelled")
    assert [q.objective for q in inbox.open()] == ["o2"]
