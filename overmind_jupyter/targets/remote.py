"""A task's agent on a hub target: a named server of its own, the repository shipped as
a bundle, the agent run by the server's Overmind, its events mirrored into the host's log,
its work brought back into the host's worktree.

::

    run    take a warm server (targets.pool), else start named server overmind-<task>
           (Hub API) and wait until it is ready
           ship the worktree's base (targets.shipping) ─▶ POST remote/workspaces
           POST missions (agent, in the clone, the task's prompt and model)
           host mission record (running) + a mirror of the remote events
    wait   mirror until the remote mission ended ─▶ POST remote/workspaces/<n>/result
           unpack the bundle into the host worktree (HEAD at the base: the host commits)
           host mission ends as the remote one did ─ teardown
    stop   POST missions/<id>/stop ─ teardown (the host mission reads stopped)
    teardown  remove the clone; the server goes back to the warm pool while it has room,
              else it is stopped and deleted

Mirrored events keep their type and data, plus ``target`` (the target's name), and carry
the host mission's id (and, like a local agent's, no objective: ``agent-spawned`` ties the
mission to it), so the execution tree, usage and the task's ending read them as a local
agent's. A remote agent's question (a permission
request, a clarification) becomes a question here, and the answer goes back to it. The
hub token travels only in the Authorization header of the host's requests. The remote
mission's stored environment gets the model id and budgets; the provider keys its agent
needs go as ``secret_env`` (held in the remote engine's memory for that mission only).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..config import MAX_COST_USD_ENV, MAX_MODEL_CALLS_ENV, MAX_TOKENS_ENV, MODEL_ENV
from ..errors import OvermindError
from ..model import ExitInfo, Mission, MissionSpec, MissionStatus
from ..store import Store
from ..store.records import Record
from ..supervisor.clock import Clock
from . import shipping
from .hub_api import HubAPI, HubRefused, HubUnreachable
from .pool import PooledServer, WarmPool

POLL_S = 0.3  # s between event polls while the remote agent is quiet
START_TIMEOUT_S = 90.0  # s a named server may take to become ready
PASSED_ENV = (MODEL_ENV, MAX_TOKENS_ENV, MAX_COST_USD_ENV, MAX_MODEL_CALLS_ENV)
NOT_MIRRORED = ("mission-created", "mission-status", "mission-restart", "mission-adopted",
                "engine-started", "engine-stopping", "question-answered")
CreateMission = Callable[..., Mission]  # supervisor.missions.create, bound to the store
Ask = Callable[..., Awaitable[str]]  # Questions.ask
CancelQuestions = Callable[..., None]  # Questions.cancel_for


class PlacementFailed(OvermindError):
    """No target could start a task (the task fails with this message)."""

    reason = "placement"
    http_status = 409


@dataclasses.dataclass
class RemoteRun:
    """One task's agent on a named server (what ``HubRunner`` keeps per host mission)."""

    target: str
    objective: str
    api: HubAPI
    user: str
    server: str
    clone: str
    worktree: Path
    warm: int = 0
    healthy: bool = False  # its task ended normally: the server may be reused
    stopped: bool = False  # ``stop`` ended it (a waiter answers the stopped mission)
    stopping: asyncio.Future | None = None  # the stop under way
    url: str = ""
    remote_id: str = ""
    host_id: str = ""
    after: int = 0
    mirror: asyncio.Task | None = None
    relays: set[asyncio.Task] = dataclasses.field(default_factory=set)

    def remote(self, path: str) -> str:
        """The URL path of the server's Overmind API ``path``."""
        return f"{self.url}overmind/api/{path}"


class HubRunner:
    """Runs task agents on hub targets' named servers (module docstring).

    Args:
        store: the host's store (mission records, mirrored events).
        create: records a host mission (``supervisor.missions.create`` bound to the store).
        repo: the host repository (the base commit is shipped from it).
        environ: where a target's token variable is read.
        clock: time for polls.
        start_timeout_s: how long a named server may take to become ready (s).
        ask / cancel_questions: the host's questions (``Questions.ask`` / ``cancel_for``):
            a remote agent's question (a permission request …) is asked here, and the
            host's answer goes back to the remote server; None: they stay there.
        keys: the provider keys a spec's agent gets here (``AgentLaunch.keys_of``): they
            go to the remote mission as ``secret_env``, held in memory there, never stored.
    """

    def __init__(self, store: Store, create: CreateMission, repo: Path,
                 environ: Mapping[str, str], clock: Clock,
                 start_timeout_s: float = START_TIMEOUT_S, ask: Ask | None = None,
                 cancel_questions: CancelQuestions | None = None,
                 keys: Callable[[MissionSpec], dict[str, str]] | None = None) -> None:
        self.store, self.create, self.repo = store, create, repo
        self.environ, self.clock, self.start_timeout_s = environ, clock, start_timeout_s
        self.ask, self.cancel_questions = ask, cancel_questions
        self.keys = keys or (lambda spec: {})
        self.runs: dict[str, RemoteRun] = {}
        self.teardowns: set[asyncio.Future] = set()
        self.pool = WarmPool(start_timeout_s)

    def owns(self, mission_id: str) -> bool:
        """Whether ``mission_id`` is a host mission of a remote agent run here."""
        return mission_id in self.runs

    async def run(self, target: Record, spec: MissionSpec, task: str, objective: str,
                  base: str, worktree: Path) -> Mission:
        """Start ``spec``'s agent for task ``task`` on hub target ``target``; returns the
        host's mission record (running).

        Raises:
            HubUnreachable / HubRefused: the hub or the server failed; nothing is left
                behind (the named server is stopped and deleted).
            GitError: the base could not be shipped.
        """
        data = target.data
        run = RemoteRun(data.name, objective, self._api(target), data.user,
                        server_name(task), _slug(spec.name or task), worktree, data.warm)
        pooled = await self.pool.take(data.name)
        if pooled is not None:
            run.server, run.url = pooled.name, pooled.url
        self.prewarm(target)
        try:
            await self._start(run, spec, base)
        except BaseException:
            await self._teardown(run)
            raise
        host = self.create(dataclasses.replace(spec, env={}), status=MissionStatus.RUNNING)
        run.host_id = host.id
        self.store.append_event("mission-created", {
            "name": host.name, "kind": host.kind.value, "command": host.command[:1],
            "parent": None, "target": run.target, "server": run.server}, mission=host.id)
        self.runs[host.id] = run
        run.mirror = asyncio.create_task(self._mirror(run))
        return host

    async def wait(self, ref: str, timeout_s: float | None = None) -> Mission:
        """Wait for the remote agent of host mission ``ref`` to end, bring its work into
        the host worktree, end the host mission as the remote one ended and tear the
        server down. A lost server ends the host mission ``lost``; a stopped one answers
        as ``stop`` left it."""
        run = self.runs.get(ref)
        if run is None or run.mirror is None:  # stopped already
            return self.store.get_mission(ref)
        try:
            ended = await asyncio.wait_for(asyncio.shield(run.mirror), timeout_s)
            await self._bring_back(run)
            status, info = _ending(ended)
            run.healthy = True
        except asyncio.CancelledError:
            if not run.stopped:
                raise
            return self.store.get_mission(ref)  # ``stop`` ended it meanwhile
        except (HubUnreachable, HubRefused, OvermindError) as err:
            status, info = MissionStatus.LOST, ExitInfo(reason=f"{run.target}: {err}")
        try:
            return self.store.transition(ref, status, reason=info.reason, exit=info)
        finally:
            await self._teardown(run)

    async def stop(self, ref: str, force: bool = False) -> Mission:
        """Stop the remote agent of host mission ``ref`` (SIGTERM to its process group,
        grace, SIGKILL; ``force``: SIGKILL now) and tear its server down. Stopping one
        that is being stopped waits for that; a cancelled caller does not cut it short
        (``close`` waits for it)."""
        run = self.runs.get(ref)
        if run is None:
            await asyncio.gather(*self.teardowns, return_exceptions=True)
            return self.store.get_mission(ref)
        if run.stopping is None:
            run.stopped = True
            run.stopping = self._track(self._stop_now(run, force))
        return await asyncio.shield(run.stopping)

    async def _stop_now(self, run: RemoteRun, force: bool) -> Mission:
        with contextlib.suppress(HubUnreachable, HubRefused):
            await run.api.call("POST", run.remote(f"missions/{run.remote_id}/"
                                                  f"{'kill' if force else 'stop'}"), {})
        if run.mirror is not None:
            run.mirror.cancel()
        await self._tear_down(run)
        info = ExitInfo(signal=15, reason="stopped by Overmind", stopped=True)
        return self.store.transition(run.host_id, MissionStatus.KILLED, reason=info.reason,
                                     exit=info)

    def prewarm(self, target: Record) -> None:
        """Start idle named servers of hub target ``target`` in the background, up to its
        ``warm`` count (``targets.pool``)."""
        if target.data.kind == "hub" and target.data.warm > 0:
            self.pool.fill(target.data.name, self._api(target), target.data.user,
                           target.data.warm)

    async def close(self) -> None:
        """The engine's close: stop the remote agents still running (their servers are
        deleted), wait for every teardown under way, delete the warm pool's servers."""
        for ref in list(self.runs):
            with contextlib.suppress(OvermindError):
                await self.stop(ref)
        await asyncio.gather(*self.teardowns, return_exceptions=True)
        await self.pool.close()

    async def remove_server(self, target: Record, server: str) -> None:
        """Stop and delete named server ``server`` of hub target ``target`` (one a task
        ran on before this engine started; errors ignored: it may be gone already)."""
        await self._api(target).delete_server(target.data.user, server, self.start_timeout_s)

    def _api(self, target: Record) -> HubAPI:
        token = self.environ.get(target.data.token_env or "", "")
        return HubAPI(target.data.url, token, self.clock.sleep)

    async def _start(self, run: RemoteRun, spec: MissionSpec, base: str) -> None:
        if not run.url:  # no warm server was taken: a cold start
            await run.api.start_server(run.user, run.server)
            run.url = (await run.api.wait_ready(run.user, run.server,
                                                self.start_timeout_s)).url
        bundle = await shipping.pack_base(self.repo, run.clone, base)
        shipped = await run.api.call("POST", run.remote("remote/workspaces"),
                                     {"name": run.clone, "bundle": bundle})
        env = {k: v for k, v in spec.env.items() if k in PASSED_ENV}
        started = await run.api.call("POST", run.remote("missions"), {
            "command": list(spec.command), "kind": "agent", "agent": spec.agent,
            "cwd": shipped["path"], "env": env, "name": spec.name,
            "secret_env": {k: v for k, v in self.keys(spec).items() if k not in env}})
        run.remote_id = started["id"]

    async def _mirror(self, run: RemoteRun) -> dict[str, Any]:
        """Copy the remote mission's events into the host's log until it ended and no
        event is left; returns the remote mission (``info`` shape)."""
        while True:
            info = await run.api.call("GET", run.remote(f"missions/{run.remote_id}"))
            copied = await self._copy(run)
            if MissionStatus(info["status"]).terminal and not copied:
                return info
            if not copied:
                await self.clock.sleep(POLL_S)

    async def _copy(self, run: RemoteRun) -> int:
        got = await run.api.call("GET", run.remote(
            f"events?mission={quote(run.remote_id)}&after={run.after}&limit=1000"))
        for event in got["events"]:
            if event["type"] == "question-asked" and self.ask is not None:
                relay = asyncio.create_task(self._relay(run, event["data"]))
                run.relays.add(relay)
                relay.add_done_callback(run.relays.discard)
            elif event["type"] not in NOT_MIRRORED:
                # as a local agent's: its mission only (agent-spawned ties it to the objective)
                self.store.append_event(event["type"], {**event["data"], "target": run.target},
                                        mission=run.host_id)
        run.after = got["last_seq"]
        return len(got["events"])

    async def _relay(self, run: RemoteRun, asked: dict[str, Any]) -> None:
        """Ask the remote agent's question here; send the host's answer back."""
        assert self.ask is not None
        answer = await self.ask(asked["kind"], f"[on {run.target}] {asked['text']}",
                                mission=run.host_id, objective=run.objective,
                                options=tuple(asked.get("options") or ()),
                                data={**(asked.get("data") or {}), "target": run.target,
                                      "remote_question": asked["id"]})
        with contextlib.suppress(HubUnreachable, HubRefused):
            await run.api.call("POST", run.remote(f"questions/{quote(asked['id'])}/answer"),
                               {"text": answer})

    async def _bring_back(self, run: RemoteRun) -> None:
        result = await run.api.call("POST", run.remote(f"remote/workspaces/{run.clone}/result"),
                                    {})
        await shipping.unpack_result(run.worktree, run.clone, result["head"], result["bundle"])

    async def _teardown(self, run: RemoteRun) -> None:
        """``_tear_down`` as a task of its own that a cancelled caller does not stop and
        ``close`` waits for (a server deleted halfway would outlive the engine)."""
        await asyncio.shield(self._track(self._tear_down(run)))

    def _track(self, work: Coroutine[Any, Any, Any]) -> asyncio.Future:
        """``work`` as a task ``close`` waits for."""
        task = asyncio.ensure_future(work)
        self.teardowns.add(task)
        task.add_done_callback(self.teardowns.discard)
        return task

    async def _tear_down(self, run: RemoteRun) -> None:
        """Remove the clone, stop and delete the named server (errors ignored: the hub
        may be gone); the run is forgotten."""
        self.runs.pop(run.host_id, None)
        for relay in list(run.relays):
            relay.cancel()
        if self.cancel_questions is not None and run.host_id:
            self.cancel_questions(mission=run.host_id, reason="its remote agent ended")
        with contextlib.suppress(HubUnreachable, HubRefused):
            if run.url:
                await run.api.call("POST", run.remote(f"remote/workspaces/{run.clone}/remove"),
                                   {})
        idle = PooledServer(run.api, run.user, run.server, run.url)
        if run.healthy and await self.pool.give_back(run.target, idle, run.warm):
            return  # a healthy server whose task ended goes back to the warm pool
        await run.api.delete_server(run.user, run.server, self.start_timeout_s)


def server_name(task: str) -> str:
    """The named server of task id ``task``: ``overmind-<task>`` in the hub's safe-slug
    alphabet (lowercase letters, digits, '-'), ≤ 40 characters."""
    return "overmind-" + re.sub(r"[^a-z0-9-]+", "-", task.lower()).strip("-")[:31]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "task"


def _ending(info: dict[str, Any]) -> tuple[MissionStatus, ExitInfo]:
    """The host mission's end from the remote mission's (``info`` shape)."""
    exit_ = info.get("exit") or {}
    status = MissionStatus(info["status"])
    reason = f"remote: {exit_.get('reason') or status.value}"
    info_ = ExitInfo(exit_.get("returncode"), exit_.get("signal"), reason,
                     bool(exit_.get("stopped")))
    return (status if status in (MissionStatus.EXITED, MissionStatus.FAILED,
                                 MissionStatus.KILLED) else MissionStatus.LOST), info_
