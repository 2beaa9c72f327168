"""The human tier of the merge, end to end (issue 15): a conflict no referee settles is a
question whose answer may be the merged text (``PATH: TEXT``, a JSON object, or ``done``
after editing the change's worktree); it is validated, and the merge lands at tier 3 —
real git, real agent processes, scripted models (no referee script: no referee)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import SCOPE, edit, git, plan, project, until_planned, until_question

from overmind_jupyter import commands
from overmind_jupyter.config import Settings
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import UsageError
from overmind_jupyter.testing.scripts import respond, write_role_scripts

pytestmark = pytest.mark.timeout(120)
MERGED = "def add(a, b):\n    return 2 * (a + b) ** 2\n"


def conflicting(directory: Path) -> Path:
    """Two objectives changing the same line of calc.py; no referee script."""
    story = [respond({"groups": [{"title": t, "prompt_ids": ["p1"], "summary": t}],
                      "story": "calc"}) for t in ("Double", "Square")]
    slow = edit("    return 2 * (a + b)\n")
    return write_role_scripts(
        directory, story=story, scope=[SCOPE, SCOPE], planner=[plan("double"),
                                                                plan("square")],
        evaluator=[respond({"done": True, "feedback": "ok"})] * 2,
        tasks={"double": [{**slow[0], "delay_s": 1.0}, *slow[1:]],
               "square": edit("    return (a + b) ** 2\n")})


async def conflicting_engine(tmp_path: Path) -> tuple[Path, Engine]:
    """A started engine on a fresh project whose two objectives conflict."""
    repo = project(tmp_path / "p")
    engine = Engine(repo, Settings(auto_merge=True), provider_env={
        "OVERMIND_MODEL": f"scripted:{conflicting(tmp_path / 's')}"})
    await engine.start()
    return repo, engine


async def conflict_question(engine: Engine) -> dict[str, Any]:
    first = await engine.prompt("double the sum")
    await until_planned(engine, first["id"])  # the first objective plans before the second
    second = await engine.prompt("square the sum")
    for o in (first, second):
        await engine.wait_objective(o["id"], 60)
    return await until_question(engine, "conflict")


@pytest.mark.parametrize("form", ["path-text", "json", "done"])
async def test_a_host_resolution_is_validated_and_lands_the_merge(tmp_path: Path,
                                                                 form: str) -> None:
    repo, engine = await conflicting_engine(tmp_path)
    try:
        question = await conflict_question(engine)
        change = await engine.change(question["data"]["change"])
        assert "answer `retry`" in question["text"] and "PATH: TEXT" in question["text"]
        assert question["options"] == ["retry", "close", "done"]
        with pytest.raises(UsageError, match=r"calc\.py: conflict markers left"):
            await engine.answer(question["id"], "calc.py: <<<<<<< HEAD\nx = 1\n")
        with pytest.raises(UsageError, match="not an answer this question takes"):
            await engine.answer(question["id"], "merge it please")
        with pytest.raises(UsageError, match=r"notes\.txt is not conflicted"):
            await engine.answer(question["id"], json.dumps({"calc.py": MERGED,
                                                            "notes.txt": "x\n"}))
        assert [q.id for q in await engine.list_questions()] == [question["id"]]  # still open
        if form == "done":
            Path(change["workspace"], "calc.py").write_text(MERGED)
        answer = {"path-text": f"calc.py: {MERGED}", "json": json.dumps({"calc.py": MERGED}),
                  "done": "done"}[form]
        await engine.answer(question["id"], answer)
        merged = await engine.change(change["id"])
    finally:
        await engine.close()
    assert merged["state"] == "merged" and merged["tier"] == 3
    assert git(repo, "show", "main:calc.py") == MERGED
    assert (repo / "calc.py").read_text() == MERGED


async def test_what_needs_you_lists_the_conflict_question_and_its_change(tmp_path: Path,
                                                                        ) -> None:
    _, engine = await conflicting_engine(tmp_path)
    try:
        question = await conflict_question(engine)
        items = await engine.needs_you()
        mine = {(i["kind"], i["id"]) for i in items}
        assert ("question", question["id"]) in mine
        assert ("change", question["data"]["change"]) in mine  # undecided until answered
        assert [i["since"] for i in items] == sorted(i["since"] for i in items)
        said = await commands.execute(engine, commands.parse(["needs-you"]))
        assert question["id"] in said.text and "overmind answer ID TEXT" in said.text
        await engine.answer(question["id"], "close")
        assert all(i["id"] != question["id"] for i in await engine.needs_you())
    finally:
        await engine.close()
