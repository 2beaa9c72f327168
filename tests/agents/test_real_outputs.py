"""What the real Qwen2.5-Coder 1.5B answered (fixtures/qwen2.5-coder-1.5b-*.json, recorded
by record_real_outputs.py with its name and date), fed to the code that parses it: each
real answer must become a sound plan or a clear, repairable error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overmind_jupyter.llm.contract import ToolCall
from overmind_jupyter.orchestrator.planner import Plan, _PlanAnswer, _sanitise, check_overlap
from overmind_jupyter.orchestrator.structured import parse_answer

pytestmark = pytest.mark.timeout(30)
FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("qwen2.5-coder-1.5b-*.json"))


@pytest.fixture(params=FIXTURES, ids=[p.stem for p in FIXTURES])
def recorded(request) -> dict:
    data = json.loads(request.param.read_text())
    assert data["model"] == "qwen2.5-coder-1.5b" and data["date"]
    return data


def plan_of(answer: _PlanAnswer) -> Plan:
    tasks, notes = _sanitise(answer.tasks, agents=("builtin",))
    return check_overlap(Plan(tasks, notes))


def test_a_structured_plan_naming_files_as_dependencies_is_repaired(recorded):
    """Asked with response_format, the model listed a file (``tabulate/format.py``) as what
    its tasks depend on: the unknown dependency is dropped with a note, not fatal."""
    turn = recorded["planner_structured"]
    value, error = parse_answer(turn["text"], [], _PlanAnswer, "respond", native=True)
    assert value is not None, error
    plan = plan_of(value)
    names = [t.name for t in plan.tasks]
    assert all(n == n.lower() and "_" not in n for n in names)  # slugs
    for task in plan.tasks:
        assert set(task.depends_on) <= set(names)
        assert task.agent in (None, "builtin")
    bogus = {d for t in value.tasks for d in t.depends_on} - {t.name for t in value.tasks}
    assert all(f"the unknown task {d!r}" in " ".join(plan.notes) for d in bogus)


def test_a_plan_in_tool_mode_with_one_scope_for_all_tasks_is_serialised(recorded):
    turn = recorded["planner_tool_mode"]
    calls = [ToolCall(f"c{k}", c["name"], c["arguments"], c["arguments_error"])
             for k, c in enumerate(turn["tool_calls"])]
    value, error = parse_answer(turn["text"], calls, _PlanAnswer, "respond")
    assert value is not None, error
    plan = plan_of(value)
    for later, task in enumerate(plan.tasks[1:], start=1):  # shared files: one at a time
        assert any(d in {t.name for t in plan.tasks[:later]} for d in task.depends_on)


def test_the_agents_first_turn_names_known_tools(recorded):
    from overmind_jupyter.agents.builtin.tools import SPECS
    names = {s.name for s in SPECS}
    turn = recorded["agent_first_turn"]
    assert turn["tool_calls"], "the model answered without a tool call"
    assert all(c["name"] in names and c["arguments_error"] is None for c in turn["tool_calls"])
