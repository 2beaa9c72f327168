"""The engine's missions service: run, watch and end supervised processes (``MissionService``).

Commands, agents (ACP over stdio, through the agent runtime), worktree command missions
(``orchestrator.command_tasks``) and blueprints (``supervisor.blueprint_run``) are all
missions; this service is where the engine's operations on them meet. Every method
raises only ``OvermindError`` subclasses for bad input: ``NotFound`` (unknown mission,
with close matches), ``AmbiguousReference`` (an id prefix matching several),
``UsageError`` (bad arguments), ``BlueprintError``.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncGenerator, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from ..agents import adapters, admin_policy
from ..agents.policy import CommandPolicy
from ..agents.runtime import AgentRuntime
from ..config import AGENT_STATE_ENV
from ..errors import UsageError
from ..model import ExitInfo, Mission, MissionKind, MissionSpec, MissionStatus, mission_to_dict
from ..orchestrator.command_tasks import CommandChanges
from ..store import Store
from ..supervisor import blueprint_run, logs, missions, reconcile, stats
from ..supervisor.supervisor import Supervisor
from ..workspace.sandbox import Sandbox

SHUTDOWN_STOP = "the engine shut down"  # why its missions stopped (not "by user")


class RemoteMissions(Protocol):
    """Agent missions this engine runs elsewhere (``targets.remote.HubRunner``)."""

    def owns(self, mission_id: str) -> bool: ...

    async def stop(self, ref: str, force: bool = False) -> Mission: ...


class AgentLaunch:
    """What an agent mission gets at launch besides its stored spec: the argv of its
    adapter and the environment that is never stored (``secret_env``).

    Args:
        adapters: the known agents by name (``agents.adapters.registry``).
        provider_env: model provider keys and agent settings (never stored).
        command_policy: the administrator's command policy, or None.
        sessions_dir: where each agent mission keeps its ACP session transcripts
            (``<dir>/<mission id>``).
    """

    def __init__(self, adapters: Mapping[str, adapters.Adapter], provider_env: dict[str, str],
                 command_policy: CommandPolicy | None, sessions_dir: Path) -> None:
        self.adapters, self.provider_env = adapters, provider_env
        self.command_policy, self.sessions_dir = command_policy, sessions_dir
        self.given: dict[str, dict[str, str]] = {}  # mission id → its spec's secret_env

    def command(self, spec: MissionSpec) -> list[str]:
        """The argv of ``spec``'s agent (default: the built-in one).

        Raises:
            UsageError: an unknown agent.
        """
        return adapters.command_for(spec.agent or "builtin", self.adapters,
                                    {**self.provider_env, **spec.env})

    def check(self, spec: MissionSpec) -> None:
        """Raises ``UsageError`` when the mission's environment overrides what the
        administrator's command policy binds (see ``agents.admin_policy``)."""
        admin_policy.check_mission_env(self.command_policy, spec.env)

    def secret_env(self, m: Mission) -> dict[str, str]:
        """Environment an agent mission gets at every launch and that is never stored:
        provider keys, the admin's command policy (the current one, also on restarts) and
        the mission's own directory of session transcripts (ACP session/load after a
        restart of its process; the only state dir its sandbox may write)."""
        if m.kind is not MissionKind.AGENT:
            return {}
        keys = adapters.keys_for(self.adapters.get(m.agent or "builtin"), m.command,
                                 {**self.provider_env, **self.given.get(m.id, {})})
        return {AGENT_STATE_ENV: str(self.sessions_dir / m.id),
                **keys, **admin_policy.mission_env(self.command_policy)}

    def keys_of(self, spec: MissionSpec) -> dict[str, str]:
        """The provider keys and settings ``spec``'s agent would get here (what a host
        hands to the agent it runs on a hub target: ``MissionSpec.secret_env``)."""
        return adapters.keys_for(self.adapters.get(spec.agent or "builtin"),
                                 self.command(spec), self.provider_env)

    def key_names(self, m: Mission) -> list[str]:
        """The provider key names ``m``'s agent reads (``adapters.key_names``)."""
        return adapters.key_names(self.adapters.get(m.agent or "builtin"))


class MissionService:
    """Missions of one engine (see the module docstring).

    Args:
        store, supervisor, agents: the engine's store, supervisor and agent runtime.
        blueprints: the blueprint coordinators. command_changes: worktree command missions.
        launch: agent argv and secrets. sandbox: checked before an agent is spawned.
        create: records a spec as a new mission (``supervisor.missions.create`` bound to
            the engine's root and logs directory).
        remote: the agents this engine runs on hub targets' named servers
            (``targets.remote.HubRunner``): stop and kill reach them there.
    """

    def __init__(self, store: Store, supervisor: Supervisor, agents: AgentRuntime, *,
                 blueprints: blueprint_run.Coordinators, command_changes: CommandChanges,
                 launch: AgentLaunch, sandbox: Sandbox,
                 create: Callable[..., Mission], remote: RemoteMissions | None = None) -> None:
        self.store, self.supervisor, self.agents = store, supervisor, agents
        self.blueprints, self.command_changes = blueprints, command_changes
        self.launch, self.sandbox, self.create = launch, sandbox, create
        self.remote = remote

    def resolve(self, ref: str) -> Mission:
        """See ``supervisor.missions.resolve``."""
        return missions.resolve(self.store, ref)

    # -- engine start -----------------------------------------------------------------
    async def reconcile(self) -> dict[str, list[str]]:
        """Live missions in the store against the processes (``reconcile.plan``): lost ones
        are marked, live ones re-adopted, pending ones resumed; re-adopted agents are
        stopped (their ACP pipe died with the previous engine). Returns ``start``'s report
        ``{"adopted": [names], "resumed": [names], "lost": [names]}``."""
        found = reconcile.plan(self.store.missions(live_only=True))
        for m in found.lost:
            why = "process gone while the engine was down; exit status unknown"
            self.store.transition(m.id, MissionStatus.LOST if m.status is not
                                  MissionStatus.STOPPING else MissionStatus.KILLED,
                                  reason=why, exit=ExitInfo(reason=why))
        for m, child in found.adopt:
            self.store.append_event("mission-adopted", {"pid": child.pid, "note": (
                "re-adopted after an engine restart; its exit status will be unknown")},
                mission=m.id)
            self.supervisor.launch(m, adopted=child)
        self._resume(found.resume)
        report = {"adopted": [m.name for m, _ in found.adopt],
                  "resumed": [m.name for m in found.resume], "lost": [m.name for m in found.lost]}
        self.store.append_event("engine-started", {**report,
                                                   "sandbox": self.sandbox.status.to_dict()})
        await self._stop_pipeless([m.id for m, _ in found.adopt if m.kind is MissionKind.AGENT])
        return report

    def _resume(self, pending: list[Mission]) -> None:
        blueprints = [m for m in pending if self.blueprints.owns(m)]
        for m in pending:
            if m not in blueprints and not self.blueprints.owned_child(m):
                self.supervisor.launch(m)
        for m in blueprints:
            self.blueprints.resume(m)

    async def _stop_pipeless(self, mission_ids: list[str]) -> None:
        """Stop re-adopted agent missions: nobody can prompt them or read their answers
        without their ACP pipe (they would idle forever)."""
        for mission_id in mission_ids:
            self.store.append_event("mission-orphan", {"reason": (
                "agent re-adopted after an engine restart without its ACP pipe; stopped")},
                mission=mission_id)
        if mission_ids:
            await self.supervisor.stop_many(mission_ids)

    # -- start ------------------------------------------------------------------------
    async def run(self, spec: MissionSpec) -> Mission:
        """Record and start a mission; returns it once running (or failed to spawn).

        Raises:
            UsageError: empty command, invalid/taken name, bad timeout.
            NotFound: unknown ``--parent``.
        """
        if spec.worktree:
            return await self._run_in_worktree(spec)
        if spec.kind is MissionKind.AGENT:
            return await self._run_agent(spec)
        return await self._launch(self.create(spec))

    async def _launch(self, m: Mission) -> Mission:
        rt = self.supervisor.launch(m)
        await rt.running.wait()
        return self.store.get_mission(m.id)

    async def _run_agent(self, spec: MissionSpec) -> Mission:
        """An agent mission: the words after ``--`` are its first prompt."""
        prompt = " ".join(spec.command).strip()
        if not prompt:
            raise UsageError("an agent mission needs a prompt: run --type agent -- TEXT")
        self.launch.check(spec)
        self.sandbox.check()  # refused now, with the setting named, not after a spawn
        m = self.create(spec, command=self.launch.command(spec))
        if spec.secret_env:
            self.launch.given[m.id] = dict(spec.secret_env)
        self.agents.submit(m, prompt)
        return await self._launch(m)

    async def _run_in_worktree(self, spec: MissionSpec) -> Mission:
        """``run`` of a ``worktree`` spec: see ``orchestrator.command_tasks``."""
        (spec,) = await self.command_changes.prepare([spec])
        try:
            return await self.run(spec)
        except BaseException:
            await self.command_changes.discard([spec])
            raise

    async def apply(self, text: str, source: str, base_dir: Path,
                    name: str | None = None) -> Mission:
        """Apply a blueprint (TOML ``text`` read from ``source``); returns the blueprint mission.

        Raises:
            BlueprintError: syntax errors, unknown keys or dependencies, cycles (named).
        """
        return await self.blueprints.apply(text, source, base_dir, name)

    # -- read -------------------------------------------------------------------------
    async def ps(self, all: bool = False) -> list[Mission]:
        """Missions, oldest first: live ones only unless ``all``."""
        return self.store.missions(live_only=not all)

    async def ps_json(self, all: bool = False) -> str:
        """``ps`` as JSON text in the ``mission_to_dict`` shape (fast path for ``--json``)."""
        return self.store.missions_json(live_only=not all)

    async def ps_stats(self, all: bool = False) -> list[dict[str, Any]]:
        """``ps`` in the ``mission_to_dict`` shape; each live mission also has
        ``last_line`` and, while its process runs, ``cpu_percent`` (% of one core since
        the previous measurement) and ``rss_bytes`` of its process tree, measured in one
        pass over the process table (``supervisor.stats``), off the event loop. An agent
        mission that used a model has ``tokens``, ``cost_usd`` (USD, None: unpriced) and
        ``usage_seq`` (``Store.mission_usage``)."""
        missions = self.store.missions(live_only=not all)
        out = await asyncio.to_thread(stats.rows, missions)
        used = self.store.mission_usage([m.id for m in missions if m.kind is MissionKind.AGENT])
        for row in out:
            row.update(used.get(row["id"], {}))
        return out

    async def info(self, ref: str) -> dict[str, Any]:
        """``mission_to_dict`` plus ``children``, ``last_line``, ``log_bytes`` (bytes), live
        ``cpu_percent``/``rss_bytes`` and, for an agent, its ``liveness``."""
        m = self.resolve(ref)
        data = mission_to_dict(m)
        data["children"] = [c.id for c in self.store.children(m.id)]
        data["last_line"] = logs.last_line(m.log_path)
        data["log_bytes"] = logs.size(m.log_path)
        data.update((await asyncio.to_thread(stats.measure, [m])).get(m.id, {}))
        if m.kind is MissionKind.AGENT:
            data["liveness"] = self.agents.liveness(m.id) or (
                "done" if m.status is MissionStatus.EXITED else "dead")
        return data

    async def logs(self, ref: str, tail: int | None = None) -> str:
        """The mission's log text: the last ``tail`` lines (≤ 256 KiB), or all of that."""
        return logs.tail(self.resolve(ref).log_path, tail)

    async def follow(self, ref: str, tail: int | None = 10) -> AsyncGenerator[str, None]:
        """Yield the last ``tail`` lines, then new output until the mission has ended."""
        m = self.resolve(ref)
        offset = logs.size(m.log_path)
        if tail != 0:
            yield logs.tail(m.log_path, tail)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        finished = lambda: m.id not in self.supervisor.runtimes  # noqa: E731
        async for chunk in logs.follow(m.log_path, offset, finished):
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)

    # -- input ------------------------------------------------------------------------
    async def send(self, ref: str, text: str) -> Mission:
        """A line to a session mission's terminal (written whole: at most
        ``supervisor.process.MAX_SEND_BYTES`` = 4,095 bytes with the newline added), or a
        follow-up prompt to an agent.

        Raises:
            UsageError: a longer line (nothing is written), or a mission that takes no input.
        """
        m = self.resolve(ref)
        if m.kind is MissionKind.AGENT:
            if m.status.terminal:
                raise UsageError(f"{m.name} has ended; start a new agent mission")
            self.agents.submit(m, text)
        else:
            await self.supervisor.send(m.id, (text + "\n").encode())
        return m

    def attach(self, ref: str, listener: Callable[[bytes], None]
               ) -> tuple[Mission, Callable[[], None]]:
        """Follow a running session mission's terminal: ``listener`` gets raw output bytes.

        Returns the mission and the function that detaches. Keystrokes go through
        ``type_keys``.

        Raises:
            UsageError: not a running session mission.
        """
        m = self.resolve(ref)
        return m, self.supervisor.watch_output(m.id, listener)

    def type_keys(self, mission_id: str, data: bytes) -> None:
        """Write raw bytes (keystrokes) to a session mission's terminal."""
        self.supervisor.type_keys(mission_id, data)

    # -- end --------------------------------------------------------------------------
    async def stop(self, ref: str, force: bool = False) -> Mission:
        """Stop one mission (SIGTERM, grace, SIGKILL; ``force``: SIGKILL now); never restarted.

        A blueprint mission always stops its whole tree.
        """
        m = self.resolve(ref)
        if self.blueprints.owns(m):
            return (await self.kill(m.id, cascade=True, force=force))[-1]
        if self.remote is not None and self.remote.owns(m.id):
            return await self.remote.stop(m.id, force)
        wind_down = self.agents.cancel_session if m.kind is MissionKind.AGENT else None
        await self.supervisor.stop(m.id, force=force, wind_down=wind_down)
        return self.store.get_mission(m.id)

    async def restart(self, ref: str) -> Mission:
        """Restart a live mission now (SIGTERM, grace, SIGKILL, then a new run at once);
        returns it once the new run is running (or failed to spawn).

        The user's restart counts in ``restarts`` (event ``mission-restart``, reason
        "restarted by user") but not in the restart policy's budget.

        Raises:
            NotFound / AmbiguousReference: bad ``ref``.
            UsageError: a blueprint mission (re-apply its blueprint instead).
            InvalidTransition: the mission has ended or is being stopped.
        """
        m = self.resolve(ref)
        if self.blueprints.owns(m):
            raise UsageError(f"{m.name} is a blueprint: restart its missions one by one, "
                             "or kill it and apply the blueprint again")
        await self.supervisor.restart(m.id)
        return self.store.get_mission(m.id)

    async def kill(self, ref: str, cascade: bool = False, force: bool = True) -> list[Mission]:
        """SIGKILL a mission (``cascade``: its descendants first, depth-first).

        Returns every mission it ended, children before parents.
        """
        m = self.resolve(ref)
        if self.remote is not None and self.remote.owns(m.id):
            return [await self.remote.stop(m.id, force=True)]
        ended: list[Mission] = []
        blueprint = self.blueprints.owns(m)
        if blueprint:
            self.blueprints.halt(m.id)
        if cascade or blueprint:
            children = self.store.children(m.id)
            results = await asyncio.gather(*(self.kill(c.id, True, force) for c in children))
            ended.extend(x for sub in results for x in sub)
        if blueprint:
            self.blueprints.finish_killed(m.id)
        else:
            await self.supervisor.stop(m.id, force=force)
        ended.append(self.store.get_mission(m.id))
        return ended

    async def wait(self, ref: str, timeout_s: float | None = None) -> Mission:
        """Wait until the mission is terminal (or ``timeout_s`` passed); return its record."""
        m = self.resolve(ref)
        if self.blueprints.owns(m):
            await self.blueprints.wait(m.id, timeout_s)
        else:
            await self.supervisor.wait(m.id, timeout_s)
        return self.store.get_mission(m.id)

    async def shutdown(self) -> list[Mission]:
        """Stop every live mission (all groups signalled at once); returns them, ended.

        Blueprint coordinators are halted first so their children's ends are not read as
        failures; children are reported before their parents.
        """
        live = self.store.missions(live_only=True)
        blueprints = [m for m in live if self.blueprints.owns(m)]
        for m in blueprints:
            self.blueprints.halt(m.id)
        await self.supervisor.stop_many([m.id for m in live if m not in blueprints],
                                        why=SHUTDOWN_STOP)
        for m in blueprints:
            self.blueprints.finish_killed(m.id)
        depth = {m.id: _depth(m, {x.id: x for x in live}) for m in live}
        return sorted(self.store.missions_by_id([m.id for m in live]),
                      key=lambda m: -depth[m.id])

    def counts(self) -> dict[str, int]:
        """Live missions by status (``status``'s ``missions``)."""
        counts: dict[str, int] = {}
        for m in self.store.missions(live_only=True):
            counts[m.status.value] = counts.get(m.status.value, 0) + 1
        return counts


def _depth(m: Mission, by_id: dict[str, Mission]) -> int:
    depth = 0
    while m.parent_id in by_id and depth < 1000:
        m, depth = by_id[m.parent_id], depth + 1
    return depth
