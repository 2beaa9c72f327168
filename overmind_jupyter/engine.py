"""The engine: the one facade over store + supervisor (same interface in-process and REST).

Every method is async and raises only ``OvermindError`` subclasses for bad input:
``NotFound`` (unknown mission, with close matches), ``AmbiguousReference`` (id prefix
matching several), ``UsageError`` (bad arguments), ``BlueprintError``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import missions
from ._version import __version__
from .agents import adapters, admin_policy
from .agents.mcp_access import McpAccess
from .agents.policy import DEFAULT_POLICY, CommandPolicy
from .agents.runtime import AgentRuntime
from .config import AGENT_STATE_ENV
from .engine_party import PartyFacade
from .engine_review import ReviewFacade
from .engine_views import MissionViews
from .engine_work import WorkFacade
from .errors import EngineUnavailable, UsageError
from .events import Event
from .model import ExitInfo, Mission, MissionKind, MissionSpec, MissionStatus
from .orchestrator.mailbox import Mailbox
from .orchestrator.objectives import Settings
from .orchestrator.questions import Question, Questions
from .party.party import Party
from .store import Store, default_db_path, exclude_from_git
from .store.records import Records
from .supervisor import blueprint_run, logs, reconcile
from .supervisor.clock import Clock
from .supervisor.supervisor import Supervisor
from .workspace.sandbox import Sandbox

log = logging.getLogger("overmind.engine")
Listener = Callable[[list[Event]], None]
FLUSH_DELAY_S = 0.002  # s an appended event may wait before its batch is committed
BURST_BATCH = 16  # a committed batch this large means a burst: batch the next ones
SHUTDOWN_STOP = "the engine shut down"  # why its missions stopped (not "by user")


class Lifecycle(str, enum.Enum):
    """An engine's life: ``new`` → ``starting`` → ``running`` → ``closing`` → ``closed``
    (``start`` only from ``new``; operations only while ``running``)."""

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


class Engine(MissionViews, PartyFacade, WorkFacade, ReviewFacade):
    """Missions and events of one project root.

    Args:
        root: project root; state lives in ``<root>/.overmind/``.
        clock: time source for the supervisor (tests pass ``testing.FakeClock``).
        base_env: environment missions start from (default: this process's), minus every
            model provider variable (``adapters.PROVIDER_KEYS``).
        mode: ``"server"`` (inside Jupyter), ``"embedded"`` (inside a kernel) or ``"local"``.
        provider_env: model provider keys and agent settings (never stored); each agent
            mission gets its own provider's (``adapters.keys_for``), plain commands none;
            default: those found in this process's environment.
        agents: custom ACP agents, name → argv.
        command_policy: the administrator's command policy (``c.Overmind.command_policy``):
            it answers agents' permission requests and binds the built-in agent through
            ``OVERMIND_COMMAND_POLICY`` (see ``agents.admin_policy``); None: the built-in
            policy answers, and agents keep their own.
        log_max_bytes: each mission log's cap before rotation (bytes; two files are kept);
            default: ``OVERMIND_LOG_MAX_BYTES`` or 64 MiB.
        sandbox: the OS sandbox of agent missions and of the verification command
            (default: ``Sandbox.from_env()``; probed once at ``start``).
        mcp: credentials of Overmind's MCP endpoint that agents get in ``session/new``
            (default: none; the server extension passes its endpoint's).
        work_settings: the objective pipeline's settings (story window, budgets, caps;
            default: ``orchestrator.objectives.Settings()``).

    Raises:
        UsageError: a bad ``OVERMIND_LOG_MAX_BYTES``.
    """

    def __init__(self, root: str | Path, *, clock: Clock | None = None,
                 base_env: dict[str, str] | None = None, mode: str = "local",
                 provider_env: dict[str, str] | None = None,
                 agents: dict[str, list[str]] | None = None,
                 command_policy: CommandPolicy | None = None,
                 log_max_bytes: int | None = None, sandbox: Sandbox | None = None,
                 mcp: McpAccess | None = None, work_settings: Settings | None = None) -> None:
        self.root = Path(root).resolve()
        # each mission log's cap (two are kept); default: OVERMIND_LOG_MAX_BYTES or 64 MiB
        self.log_max_bytes = log_max_bytes or logs.max_bytes_from(dict(os.environ))
        self.sandbox = sandbox if sandbox is not None else Sandbox.from_env()
        self.mcp = mcp if mcp is not None else McpAccess()
        self.mode = mode
        self.work_settings = work_settings or Settings()
        self.state_dir = self.root / ".overmind"
        self.logs_dir = self.state_dir / "logs"
        self.listeners: set[Listener] = set()
        self.started_at = time.time()
        self._last_flush = 0.0
        self._last_batch = 0  # events in the last committed batch
        self._clock, self._base_env = clock, base_env
        self.lifecycle = Lifecycle.NEW
        self.store: Store | None = None  # the services below are built by ``start``
        self.provider_env = adapters.provider_env() if provider_env is None else provider_env
        self.adapters = adapters.registry(agents)
        self.command_policy = command_policy

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> dict[str, list[str]]:
        """Open the store and reconcile it with the live processes.

        Returns ``{"adopted": [names], "resumed": [names], "lost": [names]}``.

        Raises:
            UsageError: the engine was started before (create a new one).
        """
        if self.lifecycle is not Lifecycle.NEW:
            raise UsageError(f"this engine is {self.lifecycle.value}: start a new Engine")
        self.lifecycle = Lifecycle.STARTING
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        exclude_from_git(self.root)
        sandbox = await asyncio.to_thread(self.sandbox.probe)
        (log.info if sandbox.available else log.warning)("%s", sandbox.describe())
        self._assemble()
        report, pipeless = self._reconcile()
        await self._stop_pipeless_agents(pipeless)
        await self.recovery.run()
        self._resume_prompts()
        self.lifecycle = Lifecycle.RUNNING
        return report

    def ensure_running(self) -> None:
        """The entry guard of every operation (``api.call``, ``commands.execute``).

        Raises:
            EngineUnavailable: the engine is not running (not started yet, or stopping).
        """
        if self.lifecycle is not Lifecycle.RUNNING:
            raise EngineUnavailable(f"the Overmind engine is {self.lifecycle.value}; "
                                    "try again once it runs (`overmind start`)")

    def _assemble(self) -> None:
        """Build the engine's services, each with its dependencies in its constructor (the
        one place the graph is wired; the server and an embedded engine alike)."""
        self.store = Store(default_db_path(self.root), on_commit=self._publish,
                           schedule_flush=self._schedule_flush)
        self.supervisor = Supervisor(
            self.store, self._clock, self._base_env, self.log_max_bytes, sandbox=self.sandbox,
            root=self.root, secret_env=self._secret_env,
            withheld=frozenset(adapters.PROVIDER_KEYS))  # keys only via secret_env
        self.records = Records(self.store)
        self.mailbox = Mailbox(self.records)
        self.questions = Questions(self.store)
        self.questions.start()
        self.agents = AgentRuntime(
            self.store, self.supervisor, self.questions.ask,
            self.command_policy or DEFAULT_POLICY, mcp=self.mcp, mailbox=self.mailbox,
            key_names=lambda m: adapters.key_names(self.adapters.get(m.agent or "builtin")))
        self._assemble_work()
        self.blueprints = blueprint_run.Coordinators(self.store, self.supervisor, self._create,
                                                     worktrees=self.command_changes)
        self.party = Party(self.records, self.store, on_prompt_approved=self._prompt_approved,
                           known_agents=lambda: self.adapters)  # a prompt's --agent

    def _schedule_flush(self) -> None:
        """Commit at once while the event stream is sparse (the last batch was small);
        during a burst, let events gather for FLUSH_DELAY_S so they share a transaction."""
        loop = asyncio.get_running_loop()
        delay = self._last_flush + FLUSH_DELAY_S - loop.time()
        if self._last_batch < BURST_BATCH and delay <= 0:
            loop.call_soon(self._flush)
        else:
            loop.call_later(max(delay, 0.0) if self._last_batch < BURST_BATCH
                            else FLUSH_DELAY_S, self._flush)

    def _flush(self) -> None:
        self._last_flush = asyncio.get_running_loop().time()
        if self.store is not None:
            self.store.flush()

    def _reconcile(self) -> tuple[dict[str, list[str]], list[str]]:
        """Live missions in the store against the processes (``reconcile.plan``); returns
        the report of ``start`` and the ids of the re-adopted agent missions."""
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
        blueprints = [m for m in found.resume if self.blueprints.owns(m)]
        for m in found.resume:
            if m not in blueprints and not self.blueprints.owned_child(m):
                self.supervisor.launch(m)
        for m in blueprints:
            self.blueprints.resume(m)
        report = {"adopted": [m.name for m, _ in found.adopt],
                  "resumed": [m.name for m in found.resume], "lost": [m.name for m in found.lost]}
        self.store.append_event("engine-started", {**report,
                                                   "sandbox": self.sandbox.status.to_dict()})
        return report, [m.id for m, _ in found.adopt if m.kind is MissionKind.AGENT]

    async def _stop_pipeless_agents(self, mission_ids: list[str]) -> None:
        """Stop re-adopted agent missions: their ACP pipe died with the previous engine,
        so nobody can prompt them or read their answers (they would idle forever)."""
        for mission_id in mission_ids:
            self.store.append_event("mission-orphan", {"reason": (
                "agent re-adopted after an engine restart without its ACP pipe; stopped")},
                mission=mission_id)
        if mission_ids:
            await self.supervisor.stop_many(mission_ids)

    async def close(self, stop_missions: bool = True) -> None:
        """Stop every mission (SIGTERM, grace, SIGKILL) unless told not to; close the store.
        Closing an engine that is closing or closed does nothing."""
        if self.store is None or self.lifecycle in (Lifecycle.CLOSING, Lifecycle.CLOSED):
            return
        self.lifecycle = Lifecycle.CLOSING
        self.store.append_event("engine-stopping", {"stop_missions": stop_missions})
        await self._close_work(stop_missions)
        if stop_missions:
            await self.shutdown()
        for rt in list(self.supervisor.runtimes.values()):
            if rt.task:
                rt.task.cancel()
        self.agents.close()
        self.store.close()
        self.store = None
        self.lifecycle = Lifecycle.CLOSED

    # -- events ---------------------------------------------------------------------
    def _publish(self, batch: list[Event]) -> None:
        self._last_batch = len(batch)
        for listener in list(self.listeners):
            try:
                listener(batch)
            except Exception:  # one broken listener must not stop the others
                log.exception("event listener failed")

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(batch)`` with every committed batch of events, in seq order."""
        self.listeners.add(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        self.listeners.discard(listener)

    async def events(self, after: int = 0, limit: int = 1000, latest: bool = False,
                     mission: str | None = None, objective: str | None = None,
                     party: str | None = None) -> list[Event]:
        """Committed events with ``seq > after`` (at most ``limit``: the first, or with
        ``latest`` the last ones), optionally filtered by ``mission`` (id, id prefix or
        name, as every command takes), ``objective`` or ``party`` (ids).

        Raises:
            NotFound / AmbiguousReference: ``mission`` matches no or several missions.
        """
        filters = {"mission": self.resolve(mission).id if mission else None,
                   "objective": objective, "party": party}
        return self.store.read_events(after=after, limit=limit, latest=latest,
                                      **{k: v for k, v in filters.items() if v})

    async def events_json(self, after: int = 0, limit: int = 1000, **filters: str | None
                          ) -> list[tuple[int, str]]:
        """``events`` as ``(seq, JSON text)`` pairs, not decoded (websocket replay; its
        filters are ids, as the live events it then delivers are matched on)."""
        return self.store.read_events_json(after=after, limit=limit, **filters)

    # -- missions -------------------------------------------------------------------
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
        m = self._create(spec)
        rt = self.supervisor.launch(m)
        await rt.running.wait()
        return self.store.get_mission(m.id)

    async def _run_agent(self, spec: MissionSpec) -> Mission:
        """An agent mission: the words after ``--`` are its first prompt."""
        prompt = " ".join(spec.command).strip()
        if not prompt:
            raise UsageError("an agent mission needs a prompt: run --type agent -- TEXT")
        admin_policy.check_mission_env(self.command_policy, spec.env)
        self.sandbox.check()  # refused now, with the setting named, not after a spawn
        env = {**self.provider_env, **spec.env}
        command = adapters.command_for(spec.agent or "builtin", self.adapters, env)
        m = self._create(spec, command=command)
        self.agents.submit(m, prompt)
        rt = self.supervisor.launch(m)
        await rt.running.wait()
        return self.store.get_mission(m.id)

    def _secret_env(self, m: Mission) -> dict[str, str]:
        """Environment an agent mission gets at every launch and that is never stored:
        provider keys, the admin's command policy (the current one, also on restarts) and
        the mission's own directory of session transcripts (ACP session/load after a
        restart of its process; the only state dir its sandbox may write)."""
        if m.kind is not MissionKind.AGENT:
            return {}
        keys = adapters.keys_for(self.adapters.get(m.agent or "builtin"), m.command,
                                 self.provider_env)
        return {AGENT_STATE_ENV: str(self.state_dir / "agent-sessions" / m.id),
                **keys, **admin_policy.mission_env(self.command_policy)}

    def _create(self, spec: MissionSpec, status: MissionStatus = MissionStatus.PENDING,
                command: list[str] | None = None) -> Mission:
        return missions.create(self.store, spec, root=self.root, logs_dir=self.logs_dir,
                               status=status, command=command)

    def resolve(self, ref: str) -> Mission:
        """See ``missions.resolve``."""
        return missions.resolve(self.store, ref)

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

    async def stop(self, ref: str, force: bool = False) -> Mission:
        """Stop one mission (SIGTERM, grace, SIGKILL; ``force``: SIGKILL now); never restarted.

        A blueprint mission always stops its whole tree.
        """
        m = self.resolve(ref)
        if self.blueprints.owns(m):
            return (await self.kill(m.id, cascade=True, force=force))[-1]
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

    async def apply(self, text: str, source: str, base_dir: str | None = None,
                    name: str | None = None) -> Mission:
        """Apply a blueprint (TOML ``text`` read from ``source``); returns the blueprint mission.

        Raises:
            BlueprintError: syntax errors, unknown keys or dependencies, cycles (named).
        """
        return await self.blueprints.apply(text, source, Path(base_dir or self.root), name)

    async def list_agents(self) -> list[dict[str, Any]]:
        """Known and custom agents with whether each is installed (see ``adapters.rows``)."""
        return adapters.rows(self.adapters)

    async def list_questions(self) -> list[Question]:
        """Open questions, oldest first."""
        return self.questions.open()

    async def answer(self, ref: str, text: str) -> Question:
        """Answer an open question; the waiting agent resumes."""
        return await self.questions.answer(ref, text)

    async def status(self) -> dict[str, Any]:
        """Engine facts: version, mode, root, pid, uptime (s), mission counts, last seq."""
        counts: dict[str, int] = {}
        for m in self.store.missions(live_only=True):
            counts[m.status.value] = counts.get(m.status.value, 0) + 1
        return {"version": __version__, "mode": self.mode, "root": str(self.root),
                "pid": os.getpid(), "uptime_s": time.time() - self.started_at,
                "missions": counts, "last_seq": self.store.last_seq(),
                "sandbox": self.sandbox.status.to_dict()}

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

def _depth(m: Mission, by_id: dict[str, Mission]) -> int:
    depth = 0
    while m.parent_id in by_id and depth < 1000:
        m, depth = by_id[m.parent_id], depth + 1
    return depth

