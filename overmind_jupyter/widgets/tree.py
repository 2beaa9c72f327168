"""The execution tree widget: one objective → plan → tasks → agents → tool calls, live.

``%%overmind prompt`` shows it as soon as the prompt's objective exists (the view then
fills in from events; with ``--wait`` the magic then waits for the objective to end and
prints its summary, ``ExecutionTree.follow_up``); ``%overmind objectives ID`` shows it for
an existing objective. The view is
``labextension/src/components/tree.ts``; the snapshot (``text/plain`` and escaped
``text/html``) is the same tree as text, built here from the objective's record and the
events of the objective and of its agent missions, taken again whenever the objective's
state changes (``snapshots.Snapshots``), so the saved tree ends as the objective did.
"""

from __future__ import annotations

import argparse
from typing import Any

from traitlets import Bool, Unicode

from .. import commands
from ..api import EngineAPI
from ..commands import Result
from ..errors import NotFound
from ..events import Event
from .ansi import strip_ansi
from .base import OvermindWidget, Shown, Snapshot
from .snapshots import events_after

SHOWN_STEPS = 20  # steps per agent in the snapshot (the most recent)
MARKS = {"completed": "✓", "failed": "✗"}
STATE_EVENTS = frozenset({"objective-status", "run-complete", "run-error"})


class ExecutionTree(OvermindWidget):
    """``%%overmind prompt``: the live execution tree of objective ``objective`` (its id)."""

    view = Unicode("tree").tag(sync=True)
    objective = Unicode("").tag(sync=True)
    wait = Bool(False, help="``--wait``: once shown, wait for the objective to end")

    async def follow_up(self, api: EngineAPI) -> Result | None:
        """What the magic prints after showing the tree: with ``wait``, once the objective
        has ended or waits on a question (no time limit), its summary as ``objectives ID``
        gives it (open questions included); else None.

        Raises:
            NotFound: the objective went away.
        """
        if not self.wait:
            return None
        await api.wait_objective(self.objective, or_question=True)  # a question ends it too
        return await commands.execute(api, commands.parse(["objectives", self.objective]), None)

    async def capture(self, api: EngineAPI) -> Snapshot:
        """The tree as text now (``tree_snapshot``).

        Raises:
            NotFound: the objective went away.
        """
        return Snapshot((await tree_snapshot(api, self.objective))[1])

    def concerns(self, event: Event) -> bool:
        """Its objective's state changes and end (not each agent step: a frontend
        rebuilds the view of an updated output)."""
        return event["objective"] == self.objective and event["type"] in STATE_EVENTS


def _steps(events: list[Event]) -> list[str]:
    """One agent's steps as lines: tool calls (merged use → result) and merged texts."""
    lines: list[str] = []
    tools: dict[str, tuple[int, str]] = {}  # id → (line index, title)
    last_text = ""
    for e in events:
        d = e["data"]
        if e["type"] in ("tool-use", "tool-result"):
            last_text = ""
            at, title = tools.get(d["id"], (len(lines), d["id"]))
            title = d.get("title") or title
            line = f"{MARKS.get(d.get('status') or '', '…')} {title}"
            lines[at:at + 1] = [line]
            tools[d["id"]] = (at, title)
        elif e["type"] in ("agent-message", "agent-thinking"):
            kind = e["type"].removeprefix("agent-")
            if last_text == kind:
                lines[-1] += d["text"]
            else:
                lines.append(f"{kind}: {d['text']}")
            last_text = kind
    return [" ".join(line.split())[:160] for line in lines]


def _agent_lines(mission: str, spawned: dict[str, Any], events: list[Event]) -> list[str]:
    tokens = sum(e["data"]["input_tokens"] + e["data"]["output_tokens"]
                 for e in events if e["type"] == "agent-usage")
    status = next((e["data"]["status"] for e in reversed(events)
                   if e["type"] == "mission-status"), "pending")
    steps = _steps(events)
    calls = len({e["data"]["id"] for e in events if e["type"] in ("tool-use", "tool-result")})
    head = (f"    agent {spawned.get('agent') or 'builtin'} ({mission}) {status}: "
            f"{calls} tool calls, {tokens} tok")
    shown = [f"      {s}" for s in steps[-SHOWN_STEPS:]]
    if len(steps) > SHOWN_STEPS:
        shown.insert(0, f"      … {len(steps) - SHOWN_STEPS} earlier steps")
    return [head, *shown]


def tree_text(objective: dict[str, Any], objective_events: list[Event],
              agent_events: dict[str, list[Event]]) -> str:
    """The execution tree as text (escape sequences and control characters stripped).

    Args:
        objective: ``GET objectives/{ref}`` (with ``tasks`` and ``changes``).
        objective_events: its events (``agent-spawned`` links missions to tasks).
        agent_events: each agent mission's events, by mission id.
    """
    o = objective
    lines = [f"objective {o['id']} {o['state']}: {o['title']}"]
    if o.get("scope"):
        lines.append(f"  scope: {', '.join(o['scope'])} ({o.get('complexity', '?')})")
    spawned = [e for e in objective_events if e["type"] == "agent-spawned"]
    for t in o.get("tasks", []):
        where = f" on {t['runs_on']}" if t.get("runs_on") not in (None, "local") else ""
        lines.append(f"  task {t['name']} {t['state']}{where}: {t.get('description', '')}")
        for e in spawned:
            if e["data"]["task"] == t["id"] and e["mission"]:
                lines += _agent_lines(e["mission"], e["data"], agent_events.get(e["mission"], []))
    for c in o.get("changes", []):
        lines.append(f"  change {c['id']} {c['state']}: {c['title']} "
                     f"({len(c.get('files', []))} files)")
    if o.get("error"):
        lines.append(f"  error: {o['error']}")
    spent = o.get("spent") or {}
    lines.append(f"  tokens {spent.get('tokens', 0)}"
                 + (f", ${spent['cost_usd']:.4f}" if spent.get("cost_usd") else ""))
    return strip_ansi("\n".join(lines) + "\n")  # agents' texts are untrusted output


async def tree_snapshot(api: EngineAPI, ref: str) -> tuple[str, str]:
    """``(objective id, tree text)`` of objective ``ref`` now.

    Raises:
        NotFound / AmbiguousReference: no such objective.
    """
    objective = await api.objective(ref)
    own = await events_after(api, 0, objective=objective["id"])
    missions = {e["mission"] for e in own if e["type"] == "agent-spawned" and e["mission"]}
    agents = {m: await _agent_events(api, m) for m in sorted(missions)}
    return objective["id"], tree_text(objective, own, agents)


async def _agent_events(api: EngineAPI, mission: str) -> list[Event]:
    """The events of an objective's agent mission; none when this engine has no such
    mission (its events were mirrored from a party's host, whose missions are not here):
    the tree then shows the task without its steps rather than nothing."""
    try:
        return await events_after(api, 0, mission=mission)
    except NotFound:
        return []


def _tree(oid: str, wait: bool = False) -> tuple[type[OvermindWidget], dict[str, Any]]:
    return ExecutionTree, {"objective": oid, "title": f"objective {oid}", "wait": wait}


async def prompt_widget(api: EngineAPI, args: Any) -> Shown:
    """``prompt``: submit it (without waiting), then the tree of its objective; with
    ``--wait`` the tree's ``follow_up`` waits for the objective's end."""
    submit = argparse.Namespace(**{**vars(args), "wait": False})
    result = await commands.execute(api, submit, None)
    return _tree(result.data["id"], wait=args.wait)


async def objective_widget(api: EngineAPI, args: Any) -> Shown:
    """``objectives ID``: the tree of that objective (the plain list has no widget).

    Raises:
        NotFound / AmbiguousReference: no such objective.
    """
    return _tree((await api.objective(args.id))["id"]) if args.id else None
