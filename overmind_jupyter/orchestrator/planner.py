"""The planner: an objective and its scope → named tasks with file scopes and dependencies.

The model's plan is made sound before anyone runs it, each repair written to
``Plan.notes``:

- names become unique slugs (``[a-z0-9-]``, ≤ 40 chars; clashes get ``-2``, ``-3`` …);
- an agent that is not configured (a model's ``"None"``, ``"null"``, an invented name) is
  replaced by the objective's agent, so no task fails at start for its agent's name;
- dependencies on unknown tasks or on the task itself are dropped;
- cycles are repaired, not refused: a depth-first walk in plan order drops each edge that
  closes a cycle (the note names the cycle), so the plan that remains is the model's minus
  the fewest edges that walk finds;
- ``check_overlap`` serialises tasks whose file scopes overlap (the same path, or one a
  directory prefix of the other; a task with no scope may touch anything) and that
  dependencies do not already order: the later task in topological order gets a
  dependency on the earlier one. Edges only ever point from later to earlier in one fixed
  topological order, so the graph stays acyclic. Overlapping tasks never run blind in
  parallel.

The caller publishes the result as the ``plan-ready`` event (``TaskPlan.to_dict``).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Collection
from typing import Any

import pydantic

from ..llm.contract import ChatModel
from .repo_index import clean_path
from .scope import Scope
from .structured import Spent, ask

MAX_NAME = 40
MAX_TASKS = 20
WHOLE_REPO = "the whole repository (a task without a file scope)"

SYSTEM = """You plan work for a team of AI coding agents on one objective in a git repository.
Split the objective into named tasks: one task when it is small, rarely more than five.
Each task has a short kebab-case name, a description precise enough for an agent working
alone, its file scope (the paths it will change or create; directories end with /), and
the names of the tasks it depends on (it starts only after they finish). Tasks that change
the same files must depend on one another. Set agent to null unless the objective asks
for a particular coding agent by name."""


class _TaskAnswer(pydantic.BaseModel):
    name: str = pydantic.Field(min_length=1, max_length=200)
    description: str = pydantic.Field(min_length=1, max_length=8_000)
    scope: list[str] = pydantic.Field(default_factory=list, max_length=50)
    depends_on: list[str] = pydantic.Field(default_factory=list)
    agent: str | None = None


class _PlanAnswer(pydantic.BaseModel):
    tasks: list[_TaskAnswer] = pydantic.Field(min_length=1, max_length=MAX_TASKS)


@dataclasses.dataclass(frozen=True, slots=True)
class TaskPlan:
    """One planned task: ``name`` (unique slug), ``description`` (the agent's brief),
    ``scope`` (repo-relative paths, ``"dir/"`` for directories), ``depends_on`` (names of
    tasks of the same plan), ``agent`` (adapter name, or None for the default)."""

    name: str
    description: str
    scope: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    agent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of a ``plan-ready`` task (without the record ``id`` the caller adds)."""
        return {"name": self.name, "description": self.description, "scope": list(self.scope),
                "depends_on": list(self.depends_on), "agent": self.agent}


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """``tasks`` in plan order, ``notes`` on every repair, the planning ``round`` (1-based)
    and what the model calls ``spent``."""

    tasks: list[TaskPlan]
    notes: list[str] = dataclasses.field(default_factory=list)
    round: int = 1
    spent: Spent = dataclasses.field(default_factory=Spent)


async def plan(model: ChatModel, objective_text: str, scope: Scope, story: str, *,
               round: int = 1, feedback: str | None = None,
               agents: Collection[str] | None = None) -> Plan:
    """Plan ``objective_text`` (round ``round``; ``feedback`` from the evaluator on re-plans).

    ``agents``: the configured agent names a task may name (None: any name is kept).

    Raises:
        PlanningError: the model gave no valid plan.
        ProviderError: the provider failed.
    """
    request = _request(objective_text, scope, story, round, feedback)
    answer = await ask(model, SYSTEM, request, _PlanAnswer)
    tasks, notes = _sanitise(answer.value.tasks, agents)
    return check_overlap(Plan(tasks, notes, round, answer.spent))


def _request(objective: str, scope: Scope, story: str, round: int, feedback: str | None) -> str:
    files = "\n".join(f"- {p}{' (new)' if p in scope.new_files else ''}" for p in scope.files)
    text = (f"Objective:\n{objective.strip()}\n\nProject story:\n{story.strip() or '(none)'}"
            f"\n\nLikely files (complexity {scope.complexity}):\n{files or '(none found)'}")
    if round > 1 or feedback:
        text += (f"\n\nThis is planning round {round}. Evaluation of the previous round:\n"
                 f"{(feedback or '(none)').strip()}\nPlan only the work that remains.")
    return text


def slug(name: str) -> str:
    """``name`` as ``[a-z0-9-]``, ≤ 40 chars (accents folded, ``"task"`` if nothing is left)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return text[:MAX_NAME].rstrip("-") or "task"


def _unique(base: str, taken: set[str]) -> str:
    name, k = base, 2
    while name in taken:
        suffix = f"-{k}"
        name, k = base[:MAX_NAME - len(suffix)].rstrip("-") + suffix, k + 1
    taken.add(name)
    return name


def _sanitise(answered: list[_TaskAnswer], agents: Collection[str] | None = None
              ) -> tuple[list[TaskPlan], list[str]]:
    """Unique slug names, clean scopes, dependencies resolved to names, no cycles."""
    notes: list[str] = []
    taken: set[str] = set()
    finals = [_unique(slug(item.name), taken) for item in answered]
    names: dict[str, str] = {}  # the model's name (and its slug) → final name of its first
    for item, final in zip(answered, finals, strict=True):
        if final != item.name:
            notes.append(f"renamed task {item.name!r} to {final!r}")
        names.setdefault(item.name, final)
        names.setdefault(slug(item.name), final)
    tasks = [_task(item, final, names, notes, agents)
             for item, final in zip(answered, finals, strict=True)]
    acyclic, cycle_notes = break_cycles(tasks)
    return acyclic, notes + cycle_notes


def _task(item: _TaskAnswer, name: str, names: dict[str, str], notes: list[str],
          agents: Collection[str] | None = None) -> TaskPlan:
    scope: list[str] = []
    for raw in item.scope:
        path = clean_path(raw)
        if path is None:
            notes.append(f"task {name}: dropped the scope path {raw!r} (outside the repository)")
        elif path not in scope:
            scope.append(path)
    deps: list[str] = []
    for raw in item.depends_on:
        dep = names.get(raw) or names.get(slug(raw))
        if dep is None or dep == name:
            what = "itself" if dep == name else f"the unknown task {raw!r}"
            notes.append(f"task {name}: dropped the dependency on {what}")
        elif dep not in deps:
            deps.append(dep)
    return TaskPlan(name, item.description.strip(), tuple(scope), tuple(deps),
                    known_agent(item.agent, agents, name, notes))


_NO_AGENT = frozenset({"", "none", "null", "nil", "default", "any", "n/a", "-"})


def known_agent(raw: str | None, agents: Collection[str] | None, task: str,
                notes: list[str]) -> str | None:
    """The configured agent ``raw`` names (case-insensitive), or None (the objective's
    agent) with a note when it names none: ``"None"``, ``"null"`` or an unknown name."""
    text = (raw or "").strip()
    if not text:
        return None
    if agents is None:
        return None if text.lower() in _NO_AGENT else text
    match = next((a for a in agents if a.lower() == text.lower()), None)
    if match is None:
        notes.append(f"task {task}: the plan named the agent {text[:40]!r}, which is not "
                     "configured; it runs with the objective's agent")
    return match


def break_cycles(tasks: list[TaskPlan]) -> tuple[list[TaskPlan], list[str]]:
    """``tasks`` without the dependency edges that close cycles (see the module docstring).

    Returns:
        ``(tasks, notes)``; a note per dropped edge, naming the cycle.
    """
    deps = {t.name: list(t.depends_on) for t in tasks}
    state: dict[str, str] = {}  # "open" while on the walk's stack, then "done"
    stack: list[str] = []
    notes: list[str] = []

    def visit(name: str) -> None:
        state[name] = "open"
        stack.append(name)
        for dep in list(deps[name]):
            if state.get(dep) == "open":
                cycle = " → ".join([*stack[stack.index(dep):], dep])
                deps[name].remove(dep)
                notes.append(f"dropped the dependency {name} → {dep}: it closed the cycle "
                             f"{cycle} (→ means depends on)")
            elif dep in deps and dep not in state:
                visit(dep)
        stack.pop()
        state[name] = "done"

    for task in tasks:
        if task.name not in state:
            visit(task.name)
    return [dataclasses.replace(t, depends_on=tuple(deps[t.name])) for t in tasks], notes


def check_overlap(plan: Plan) -> Plan:
    """``plan`` with tasks of overlapping scopes serialised (see the module docstring).

    Cycles, if any, are broken first. Returns a new ``Plan``; ``notes`` grows by one
    line per added dependency (``serialised B after A: both touch src/x.py``).
    """
    tasks, notes = break_cycles(plan.tasks)
    by_name = {t.name: t for t in tasks}
    deps = {t.name: list(t.depends_on) for t in tasks}
    reach: dict[str, set[str]] = {}  # name → every task it transitively depends on
    order = _topological(tasks, deps)
    for pos, name in enumerate(order):
        reach[name] = {r for d in deps[name] for r in (d, *reach[d])}
        for earlier in order[:pos]:
            shared = shared_scope(by_name[earlier].scope, by_name[name].scope)
            if shared and earlier not in reach[name]:
                deps[name].append(earlier)
                reach[name] |= {earlier, *reach[earlier]}
                notes.append(f"serialised {name} after {earlier}: both touch {shared}")
    tasks = [dataclasses.replace(t, depends_on=tuple(deps[t.name])) for t in tasks]
    return dataclasses.replace(plan, tasks=tasks, notes=[*plan.notes, *notes])


def _topological(tasks: list[TaskPlan], deps: dict[str, list[str]]) -> list[str]:
    """Names with dependencies first, otherwise in plan order (graph must be acyclic)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        seen.add(name)
        for dep in deps[name]:
            if dep not in seen:
                visit(dep)
        order.append(name)

    for task in tasks:
        if task.name not in seen:
            visit(task.name)
    return order


def shared_scope(a: tuple[str, ...], b: tuple[str, ...]) -> str | None:
    """What two scopes share, described (None when disjoint). An empty scope is the whole
    repository; ``src`` or ``src/`` covers everything below ``src/``."""
    if not a or not b:
        return WHOLE_REPO
    for p in a:
        for q in b:
            if _covers(p, q) or _covers(q, p):
                return p if len(p) >= len(q) else q
    return None


def _covers(outer: str, inner: str) -> bool:
    base = outer.rstrip("/")
    return inner.rstrip("/") == base or inner.startswith(base + "/")


__all__ = ["MAX_NAME", "SYSTEM", "Plan", "TaskPlan", "break_cycles", "check_overlap", "plan",
           "shared_scope", "slug"]
