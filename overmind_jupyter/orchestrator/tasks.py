"""Running one planned task: a workspace, an agent mission, a commit, a change.

``TaskRunner`` is the scheduler's runner. For a task it acquires a worktree (branch
``overmind/<task>`` from the objective's base commit), starts an agent mission there
with the task's prompt and model, waits for it to end, commits what the agent changed
(author: the agent; trailers name the task, objective and the member who asked) and
records a change. A task whose agent changed nothing is ``done`` without a change and
its worktree is released at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from ..config import MODEL_ENV, OBJECTIVE_ENV
from ..errors import OvermindError
from ..model import Mission, MissionKind, MissionSpec, MissionStatus
from ..store import Store, kinds
from ..store.records import EventSpec, Record, Records
from ..supervisor.clock import Clock, SystemClock
from ..targets.hub_api import HubRefused, HubUnreachable
from ..targets.registry import LOCAL, Targets
from ..targets.remote import HubRunner, PlacementFailed
from ..workspace import trees
from ..workspace.commit import commit_all
from ..workspace.git import git_status
from ..workspace.worktrees import Workspace
from .changes import Changes
from .roles import RoleModels
from .scheduler import TaskNode

WorkDone = Callable[[str], Awaitable[bool]]  # AgentRuntime.work_done
CLAIM_POLL_S = 0.5  # s between tries while every eligible target is full
RETRY = "retry"  # what a run answers when its task is to run again
Ask = Callable[..., Awaitable[str]]  # Questions.ask


class Launcher(Protocol):
    """How tasks start and end their agent missions (the engine's mission operations)."""

    async def run(self, spec: MissionSpec) -> Mission: ...

    async def wait(self, ref: str, timeout_s: float | None = None) -> Mission: ...

    async def stop(self, ref: str, force: bool = False) -> Mission: ...
PROMPT = """You are one agent of a team, working on task "{name}" of the objective "{title}".

Objective (what the team asked for):
{text}

Your task:
{description}

Files in scope: {scope}
{story}
Work only in this checkout (it is your own git worktree; do not commit, Overmind does).
Keep the change focused on your task, follow the project's style, add or update tests
when you change behaviour, and run them if you can. End with a short summary of what
you changed and why."""


class TaskRunner:
    """Runs tasks as agent missions in their own worktrees (see the module docstring).

    Args:
        records: durable records (tasks, objectives, changes).
        store: for the task's events and the agent's transcript.
        pool: the worktree pool (``acquire``/``release``).
        changes: where finished work becomes a change.
        roles: model per task.
        launcher: starts, awaits and stops the agent missions (a cancelled task stops its
            agent before its worktree is released).
        budget_env: called with the objective id; returns extra environment for the
            agent (e.g. its remaining cost budget).
        work_done: waits for the agent's last answer; True when it finished its work
            (``AgentRuntime.work_done``): the task then goes on while the agent's process
            exits, instead of waiting for the exit.
        targets: where tasks run (``targets.registry``); each task claims a slot on the
            least-loaded target (or the objective's pinned one) and frees it when it ends.
            None: every task runs here.
        hub: runs the agents of tasks placed on hub targets (``targets.remote``).
        clock: time for waits while every target is full.
        ask: asks the host a question and waits for the answer (``Questions.ask``): a
            task whose named server was lost runs again or fails as the host says.
        choose_model: the model id of a model choice as shown (``Models.choose``): an
            objective's ``agent_model`` for its agents.
    """

    def __init__(self, records: Records, store: Store, pool: Any, changes: Changes,
                 roles: Callable[[], RoleModels], launcher: Launcher,
                 budget_env: Callable[[str], dict[str, str]] | None = None,
                 work_done: WorkDone | None = None, targets: Targets | None = None,
                 hub: HubRunner | None = None, clock: Clock | None = None,
                 ask: Ask | None = None,
                 choose_model: Callable[[str], str] | None = None) -> None:
        self.records, self.store, self.pool, self.changes = records, store, pool, changes
        self.roles, self.launcher = roles, launcher
        self.budget_env = budget_env or (lambda objective: {})
        self.work_done = work_done
        self.targets, self.hub, self.clock = targets, hub, clock or SystemClock()
        self.ask, self.choose_model = ask, choose_model

    async def __call__(self, node: TaskNode) -> str:
        """Run ``node``; return done | failed (``cancelled`` comes as CancelledError)."""
        task = self.records.get("task", node.id)
        objective = self.records.get("objective", node.objective)
        while True:
            target = await self._claim(task, objective)
            try:
                ended = await self._run(task, objective, target)
            finally:
                if self.targets is not None:
                    self.targets.release(task.id)
            if ended != RETRY:
                return ended
            task = self.records.get("task", node.id)

    async def _claim(self, task: Record, objective: Record,
                     pinned: str | None = None) -> Record | None:
        """A slot for ``task`` (waiting while every eligible target is full); None when
        there are no targets (everything runs here)."""
        if self.targets is None or objective.data.shared:
            return None
        pinned = pinned or objective.data.runs_on
        while (target := self.targets.claim(task.id, pinned)) is None:
            await self.clock.sleep(CLAIM_POLL_S)
        return target

    async def _fall_back(self, task: Record, objective: Record, target: Record,
                         err: OvermindError) -> Record | None:
        """``target`` could not start ``task``: its slot is freed and the task runs here
        instead, unless it was pinned there or this machine takes no tasks.

        Raises:
            PlacementFailed: no fallback (the hub's error and what to do are named).
        """
        assert self.targets is not None
        self.targets.release(task.id)
        name = target.data.name
        if objective.data.runs_on:
            raise PlacementFailed(f"target {name} could not start task {task.data.name} "
                                  f"(it is pinned there): {err.message}; see `overmind "
                                  f"targets doctor {name}`")
        try:
            return await self._claim(task, objective, LOCAL)
        except OvermindError:
            raise PlacementFailed(f"target {name} could not start task {task.data.name}: "
                                  f"{err.message}; this machine takes no tasks either "
                                  f"(`overmind targets enable local`, or fix the hub: "
                                  f"`overmind targets doctor {name}`)") from None

    async def _run(self, task: Record, objective: Record, target: Record | None) -> str:
        # a follow-up of a review starts from the reviewed change's head
        ws = await self.pool.acquire(task.data.name, base=task.data.base_commit or
                                     objective.data.base_commit,
                                     shared=bool(objective.data.shared))
        mission = None
        try:
            mission = await self._spawn(task, objective, ws, target)
            ended = await self._ended(mission.id)
        except BaseException:
            if mission is not None:
                # the agent must not go on writing into a worktree about to be removed
                with contextlib.suppress(OvermindError):
                    await asyncio.shield(self._launcher(mission.id).stop(mission.id))
            await self.pool.release(ws, delete_branch=True, force=True)
            raise
        if ended is not None and ended.status is MissionStatus.LOST and target is not None \
                and target.data.kind == "hub" and await self._retry(task, objective, ended):
            await self.pool.release(ws, delete_branch=True, force=True)
            return RETRY
        return await self._finish(task, objective, ws, mission.id, ended)

    async def _retry(self, task: Record, objective: Record, lost: Mission) -> bool:
        """Ask the host what to do with ``task``, whose named server was lost; True:
        run it again (on the least-loaded target), False: it fails."""
        if self.ask is None:
            return False
        reason = lost.exit.reason if lost.exit else "its server stopped answering"
        answer = await self.ask(
            "target-lost", f"Task {task.data.name} lost its named server ({reason}). Run "
            "it again (on the least-loaded target), or stop it (the task fails)?",
            mission=lost.id, objective=objective.id, options=("retry", "stop"))
        return answer.strip().lower() == "retry"

    def _launcher(self, mission_id: str) -> Launcher:
        """Who runs mission ``mission_id``: the hub runner for a remote agent, else the
        engine's missions."""
        return self.hub if self.hub is not None and self.hub.owns(mission_id) \
            else self.launcher

    async def _ended(self, mission_id: str) -> Mission | None:
        """The ended mission, or None once its agent finished its work (its process
        is then only exiting: not worth waiting for on the critical path)."""
        if self.work_done is not None and await self.work_done(mission_id):
            return None
        return await self._launcher(mission_id).wait(mission_id)

    async def _spawn(self, task: Record, objective: Record, ws: Any,
                     target: Record | None) -> Mission:
        name = task.data.name
        env = {**ws.env(), MODEL_ENV: self._model(name, objective),
               OBJECTIVE_ENV: objective.id,  # scopes its MCP credential
               **self.budget_env(objective.id)}
        spec = MissionSpec(command=[self._prompt(task, objective)], kind=MissionKind.AGENT,
                           name=f"{name}-{task.id[:4]}", cwd=str(ws.path), env=env,
                           agent=task.data.agent or objective.data.agent)
        mission, target, fallback = await self._start(task, objective, ws, spec, target)
        where = target.data.name if target is not None else LOCAL
        remote = self.hub.runs.get(mission.id) if self.hub is not None else None
        self.records.update("task", task.id, mission=mission.id, workspace=str(ws.path),
                            branch=ws.branch, base_commit=ws.base_commit, runs_on=where,
                            server=remote.server if remote is not None else None,
                            event=EventSpec(
                                "agent-spawned", {"task": task.id, "name": name,
                                                  "agent": spec.agent or "builtin",
                                                  "workspace": str(ws.path),
                                                  "branch": ws.branch, "target": where,
                                                  **({"fallback": fallback} if fallback
                                                     else {})},
                                mission=mission.id, objective=objective.id))
        return mission

    async def _start(self, task: Record, objective: Record, ws: Any, spec: MissionSpec,
                     target: Record | None) -> tuple[Mission, Record | None, str]:
        """Start the agent on ``target``; returns the mission, where it runs and, when a
        hub target failed and it runs here instead, why (else "")."""
        if target is None or target.data.kind != "hub" or self.hub is None:
            return await self.launcher.run(spec), target, ""
        try:
            return (await self.hub.run(target, spec, task.id, objective.id, ws.base_commit,
                                       ws.path), target, "")
        except (HubUnreachable, HubRefused) as err:
            here = await self._fall_back(task, objective, target, err)
            why = f"{target.data.name} could not start it: {err.message}"
            return await self.launcher.run(spec), here, why

    def _model(self, task_name: str, objective: Record) -> str:
        """The model id of a task's agent: its objective's chosen one, else the role's."""
        chosen = objective.data.agent_model
        if chosen and self.choose_model is not None:
            return self.choose_model(chosen)
        return self.roles().task_model_id(task_name)

    def _prompt(self, task: Record, objective: Record) -> str:
        story = objective.data.story or ""
        return PROMPT.format(
            name=task.data.name, title=objective.data.title,
            text=objective.data.text, description=task.data.description,
            scope=", ".join(task.data.scope or []) or "(not limited)",
            story=f"\nProject story so far:\n{story}\n" if story else "")

    async def _finish(self, task: Record, objective: Record, ws: Any, mission_id: str,
                      mission: Mission | None) -> str:
        """Commit and record the agent's work (``mission``: the ended mission, or None
        when the agent finished its work and its process is exiting)."""
        events = self._events(mission_id)
        finished = _finished(events)
        exited_ok = mission is None or (mission.status is MissionStatus.EXITED and (
            mission.exit is None or mission.exit.code in (0, None)))
        ok = exited_ok and finished.get("stop_reason") == "end_turn"
        summary = _summary(events)
        files = await self._commit(task, objective, ws, summary) if ok else []
        self.records.update("task", task.id, summary=summary, files_changed=files,
                            error=None if ok else _failure(finished, mission))
        if ok and files and ws.branch:
            await self._record_change(task, objective, ws)
        else:
            await self.pool.release(ws, delete_branch=not ok or not files, force=not ok)
        return "done" if ok else "failed"

    async def _commit(self, task: Record, objective: Record, ws: Any, summary: str
                      ) -> list[str]:
        """Commit everything the agent changed on the task branch; return the paths."""
        if ws.shared:
            return []
        agent = task.data.agent or objective.data.agent or "builtin"
        message = (f"{task.data.name}: {task.data.description.splitlines()[0][:60]}"
                   f"\n\n{summary[:2000]}\n\nOvermind-Task: {task.id}\n"
                   f"Overmind-Objective: {objective.id}\n"
                   f"Requested-By: {', '.join(objective.data.members or ['host'])}\n")
        return await commit_all(ws.path, message, copied=await self.pool.copied(ws),
                                author=(f"Overmind {agent} agent",
                                        f"{agent}-agent@overmind.invalid"))

    async def _record_change(self, task: Record, objective: Record, ws: Any) -> None:
        cid = secrets.token_hex(4)
        agent = task.data.agent or objective.data.agent or "builtin"
        members = ", ".join(objective.data.members or ["host"])
        await self.changes.create(
            cid, objective=objective.id, task=task.data.name,
            title=f"{task.data.name}: {task.data.description.splitlines()[0][:80]}",
            branch=ws.branch, target=objective.data.target,
            base_commit=objective.data.base_commit or ws.base_commit,  # all that would land
            author=f"{agent} agent for {members}", requested_by=members, workspace=ws)
        self.records.update("task", task.id, change=cid)
        if task.data.follows:  # a review's follow-up: checked as its objective's were
            with contextlib.suppress(OvermindError):
                await self.changes.check(cid)

    def _events(self, mission_id: str) -> list[dict[str, Any]]:
        self.store.flush()
        found, after = [], 0
        while batch := self.store.read_events(after=after, limit=1000, mission=mission_id):
            found.extend(batch)
            after = batch[-1]["seq"]
        return found

    async def recover(self, task: Record) -> str:
        """End ``task``, which an earlier engine was running when it died; return what
        happened, one line for humans.

        Its agent mission is stopped (the engine re-adopted it without its ACP pipe), and
        a named server it ran on is deleted.
        Work Overmind had committed on the task's branch is kept: the task is ``done``
        and its change is recorded when it was not yet. Otherwise the task is ``failed``
        (``cancelled`` when it had not started); a worktree with uncommitted edits is
        kept for the host (named in the line), a clean one goes with its branch.
        """
        mission = task.data.mission
        if mission:
            with contextlib.suppress(OvermindError):
                await self.launcher.stop(mission)
        await self._remove_server(task)
        if task.state == "pending":
            self._end(task, "cancelled", "the engine stopped before the task ran")
            return f"task {task.data.name}: cancelled (never ran)"
        if await self._committed(task):
            return await self._recover_change(task)
        return await self._recover_failed(task)

    async def _remove_server(self, task: Record) -> None:
        """The named server an interrupted task ran on outlived the engine that started
        it: it is stopped and deleted (its agent with it; the task cannot be re-attached)."""
        if not task.data.server or self.hub is None or self.targets is None:
            return
        with contextlib.suppress(OvermindError):
            await self.hub.remove_server(self.targets.resolve(task.data.runs_on or ""),
                                         task.data.server)

    async def _committed(self, task: Record) -> bool:
        branch, base = task.data.branch, task.data.base_commit
        if not branch or not base:
            return False
        code, out, _ = await git_status("rev-list", "--count", f"{base}..{branch}",
                                        cwd=self.changes.repo)
        return code == 0 and int(out.strip() or 0) > 0

    async def _recover_change(self, task: Record) -> str:
        objective = self.records.get("objective", task.parent)
        if not task.data.change:
            ws = Workspace(Path(task.data.workspace), task.data.branch,
                           task.data.base_commit, ())
            await self._record_change(task, objective, ws)
        self._end(task, "done", "its committed work survived an engine restart")
        change = self.records.get("task", task.id).data.change
        return f"task {task.data.name}: done, its committed work is change {change}"

    async def _recover_failed(self, task: Record) -> str:
        why = "interrupted: the engine stopped while the task ran"
        ws = None if not task.data.workspace else Workspace(
            Path(task.data.workspace), task.data.branch,
            task.data.base_commit or "", (), shared=task.data.branch is None)
        dirty = ws is not None and not ws.shared and ws.path.is_dir() and \
            bool(await trees.dirty_files(ws.path, await self.pool.copied(ws)))
        if dirty:
            why += f"; its uncommitted edits are kept in {ws.path}"
        self._end(task, "failed", why, error=why)
        if ws is not None and not dirty:
            await self.pool.release(ws, delete_branch=True, force=True)
        return f"task {task.data.name}: {why}"

    async def discard(self, task: Record) -> None:
        """``task``'s objective was cancelled: a task not ended is ``cancelled`` (its agent
        stopped) and a worktree it left (e.g. uncommitted edits kept after a restart) is
        released with its branch, unless a change holds them."""
        if task.state not in kinds.TASK_TERMINAL:
            mission = task.data.mission
            if mission:
                with contextlib.suppress(OvermindError):
                    await self.launcher.stop(mission)
            self._end(task, "cancelled", "its objective was cancelled")
        path = task.data.workspace
        if path and task.data.branch and not task.data.change and \
                Path(path).is_dir():
            await self.pool.release(Workspace(Path(path), task.data.branch,
                                              task.data.base_commit or "", ()),
                                    delete_branch=True, force=True)

    def _end(self, task: Record, state: str, reason: str, **changes: Any) -> None:
        self.records.transition("task", task.id, state, reason=reason,
                                **changes, event=EventSpec("task-status", {
                                    "task": task.id, "name": task.data.name,
                                    "state": state, "previous": task.state,
                                    "reason": reason}, objective=task.parent))



def _failure(finished: dict[str, Any], mission: Mission | None) -> str:
    """Why a task failed: the agent's error, or how it ended and its guard's reason."""
    if finished.get("error"):
        return str(finished["error"])
    guard = finished.get("guard")
    return (f"agent ended {_status(mission)}, stop reason {finished.get('stop_reason')}"
            + (f": {guard}" if guard else ""))


def _status(mission: Mission | None) -> str:
    return "its work" if mission is None else mission.status.value


def _finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The data of the last ``agent-finished`` event ({} if none)."""
    last: dict[str, Any] = {}
    for event in events:
        if event["type"] == "agent-finished":
            last = event["data"]
    return last


def _summary(events: list[dict[str, Any]]) -> str:
    """The agent's last message (its summary), ≤ 2,000 chars."""
    parts: list[str] = []
    for event in events:
        if event["type"] in ("agent-prompt", "tool-use", "tool-result"):
            parts = []  # only the text after the last tool call is the summary
        elif event["type"] == "agent-message":
            parts.append(event["data"].get("text", ""))
    return "".join(parts).strip()[-2000:]
