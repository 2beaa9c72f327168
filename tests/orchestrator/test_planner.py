"""The planner: sound task graphs, and tasks of overlapping scopes never run in parallel."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_helpers import respond, run, scripted

from overmind_jupyter.orchestrator.planner import (
    Plan,
    TaskPlan,
    check_overlap,
    plan,
    shared_scope,
    slug,
)
from overmind_jupyter.orchestrator.scope import Scope

pytestmark = pytest.mark.timeout(120)

SCOPE = Scope(("src/api.py", "docs/api.md"), "medium", "an endpoint and its docs",
              new_files=("docs/api.md",))


def task(name: str, scope: list[str], depends_on: list[str] = (), **kw) -> dict:
    return {"name": name, "description": f"do {name}", "scope": scope,
            "depends_on": list(depends_on), **kw}


def test_a_plan_gets_slug_names_resolved_dependencies_and_serialised_overlaps(tmp_path):
    model = scripted(tmp_path, respond({"tasks": [
        task("Add API endpoint", ["src/api.py"], agent="claude"),
        task("Write docs!", ["docs/", "src/api.py"]),
        task("tests", ["tests/test_api.py"], ["Add API endpoint", "ghost"]),
    ]}, expect="docs/api.md (new)"))
    result = run(plan(model, "Add a /health endpoint", SCOPE, "A web service."))
    assert [t.to_dict() for t in result.tasks] == [
        {"name": "add-api-endpoint", "description": "do Add API endpoint",
         "scope": ["src/api.py"], "depends_on": [], "agent": "claude"},
        {"name": "write-docs", "description": "do Write docs!", "scope": ["docs/", "src/api.py"],
         "depends_on": ["add-api-endpoint"], "agent": None},
        {"name": "tests", "description": "do tests", "scope": ["tests/test_api.py"],
         "depends_on": ["add-api-endpoint"], "agent": None}]
    assert "serialised write-docs after add-api-endpoint: both touch src/api.py" in result.notes
    assert "task tests: dropped the dependency on the unknown task 'ghost'" in result.notes
    assert result.round == 1 and result.spent.calls == 1
    model.assert_complete()


def test_a_cycle_is_repaired_by_dropping_the_edge_that_closes_it(tmp_path):
    model = scripted(tmp_path, respond({"tasks": [
        task("a", ["a.py"], ["c"]), task("b", ["b.py"], ["a"]), task("c", ["c.py"], ["b", "c"]),
    ]}))
    result = run(plan(model, "x", SCOPE, ""))
    assert {t.name: t.depends_on for t in result.tasks} == {"a": ("c",), "b": (), "c": ("b",)}
    assert "task c: dropped the dependency on itself" in result.notes
    assert ("dropped the dependency b → a: it closed the cycle a → c → b → a "
            "(→ means depends on)") in result.notes


def test_replanning_sends_the_round_and_the_feedback(tmp_path):
    model = scripted(tmp_path, respond({"tasks": [task("fix", ["src/api.py"])]},
                                       expect="planning round 2"))
    result = run(plan(model, "x", SCOPE, "", round=2, feedback="The tests still fail."))
    assert "The tests still fail." in model.calls[0][0][-1].content
    assert result.round == 2


def test_names_are_unique_bounded_slugs():
    assert slug("Überarbeite die API — jetzt!") == "uberarbeite-die-api-jetzt"
    assert slug("!!!") == "task"
    assert len(slug("x" * 100)) == 40


def test_duplicate_names_get_suffixes(tmp_path):
    model = scripted(tmp_path, respond({"tasks": [task("Build", ["a/"]), task("build", ["b/"]),
                                                  task("ship", [], ["build"])]}))
    result = run(plan(model, "x", SCOPE, ""))
    assert [t.name for t in result.tasks] == ["build", "build-2", "ship"]
    # "ship" has no scope (it may touch anything): it runs after both builds
    assert set(result.tasks[2].depends_on) == {"build", "build-2"}


def test_scope_overlap_rules():
    assert shared_scope(("src/",), ("src/a.py",)) == "src/a.py"
    assert shared_scope(("src",), ("src/a.py",)) == "src/a.py"
    assert shared_scope(("src/a.py",), ("src/ab.py",)) is None
    assert shared_scope((), ("x",)) is not None


PATHS = ["src/", "src/a.py", "src/b.py", "src/sub/c.py", "docs/x.md", "tests", "README.md"]


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """Random plans: 1–7 tasks, scopes from a small pool (empty allowed), any edges."""
    count = draw(st.integers(1, 7))
    names = [f"t{i}" for i in range(count)]
    tasks = [TaskPlan(name, "d",
                      tuple(draw(st.lists(st.sampled_from(PATHS), max_size=3, unique=True))),
                      tuple(draw(st.lists(st.sampled_from(names), max_size=3, unique=True))))
             for name in names]
    return Plan(tasks)


def ancestors(tasks: list[TaskPlan]) -> dict[str, set[str]]:
    deps = {t.name: t.depends_on for t in tasks}
    closure: dict[str, set[str]] = {}
    for name in deps:
        seen, todo = set(), list(deps[name])
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(deps[dep])
        closure[name] = seen
    return closure


@settings(max_examples=300, deadline=None)
@given(plans())
def test_after_check_overlap_overlapping_tasks_are_ordered_and_the_graph_acyclic(raw):
    checked = check_overlap(raw)
    closure = ancestors(checked.tasks)
    assert all(t.name not in closure[t.name] for t in checked.tasks), "a cycle is left"
    for i, a in enumerate(checked.tasks):
        for b in checked.tasks[i + 1:]:
            if shared_scope(a.scope, b.scope):
                assert a.name in closure[b.name] or b.name in closure[a.name], (a, b)


@settings(max_examples=200, deadline=None)
@given(plans())
def test_check_overlap_keeps_every_dependency_of_an_acyclic_plan(raw):
    acyclic = Plan([TaskPlan(t.name, t.description, t.scope,
                             tuple(d for d in t.depends_on if d < t.name)) for t in raw.tasks])
    checked = check_overlap(acyclic)
    for before, after in zip(acyclic.tasks, checked.tasks, strict=True):
        assert set(before.depends_on) <= set(after.depends_on)
    added = sum(len(a.depends_on) - len(b.depends_on)
                for b, a in zip(acyclic.tasks, checked.tasks, strict=True))
    assert len([n for n in checked.notes if n.startswith("serialised")]) == added


def test_agents_the_model_invents_become_the_objectives_agent(tmp_path):
    """Qwen2.5-Coder 1.5B wrote ``"agent": "None"`` (issue 13): every task failed at start.
    Unknown, null-like and invented names run with the objective's agent, noted; a
    configured name in another case is kept in its configured spelling."""
    tasks = [{"name": n, "description": "d", "agent": a} for n, a in
             (("a", "None"), ("b", "gpt-4"), ("c", "Claude"), ("d", None), ("e", ""))]
    model = scripted(tmp_path, respond({"tasks": tasks}))
    result = run(plan(model, "Objective", Scope((), "low", ""), "", agents=("builtin", "claude")))
    assert [t.agent for t in result.tasks] == [None, None, "claude", None, None]
    notes = " ".join(result.notes)
    assert "'None', which is not configured" in notes and "'gpt-4'" in notes
    assert "Claude" not in notes
