"""The engine: one project's services, wired once, behind the contract of ``api``.

``Engine`` implements ``api.EngineAPI`` (the same interface as ``client.Client`` over
REST) by handing each operation to the service of its concept: ``MissionService``
(``engine.missions``), ``WorkService`` (``engine.work``), ``ReviewService``
(``engine.review``), ``PartyService`` (``engine.parties``) and ``TargetService``
(``engine.targets``). ``Engine._assemble`` is the
one place the services are built, each with its dependencies in its constructor. Every
operation is async and raises only ``OvermindError`` subclasses for bad input:
``NotFound`` (unknown mission, with close matches), ``AmbiguousReference`` (id prefix
matching several), ``UsageError`` (bad arguments), ``BlueprintError``.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import os
import shutil
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .._version import __version__
from ..agents import adapters
from ..agents.mcp_access import McpAccess
from ..agents.policy import DEFAULT_POLICY, CommandPolicy
from ..agents.runtime import AgentRuntime
from ..config import HUB_TOKEN_ENV, Settings
from ..errors import EngineUnavailable, NotFound, UsageError
from ..events import Event
from ..model import Mission, MissionSpec, PromptOptions
from ..orchestrator.changes import Changes
from ..orchestrator.command_tasks import CommandChanges
from ..orchestrator.mailbox import Mailbox
from ..orchestrator.objectives import Orchestrator
from ..orchestrator.questions import Question, Questions
from ..orchestrator.recovery import Recovery
from ..orchestrator.tasks import TaskRunner
from ..party.invites import DEFAULT_TTL_S
from ..party.party import Party
from ..store import Store, default_db_path, exclude_from_git
from ..store.records import Records
from ..supervisor import blueprint_run, missions
from ..supervisor.clock import Clock, SystemClock
from ..supervisor.supervisor import Supervisor
from ..targets.registry import Targets
from ..targets.remote import HubRunner
from ..workspace.merge import MergeQueue
from ..workspace.sandbox import Sandbox
from .missions import AgentLaunch, MissionService
from .models import Models
from .party import PartyService
from .review import ReviewService
from .targets import TargetService
from .work import LazyPool, WorkService, kept_worktrees, objective_of_prompt

log = logging.getLogger("overmind.engine")
Listener = Callable[[list[Event]], None]
FLUSH_DELAY_S = 0.002  # s an appended event may wait before its batch is committed
BURST_BATCH = 16  # a committed batch this large means a burst: batch the next ones


class Lifecycle(str, enum.Enum):
    """An engine's life: ``new`` → ``starting`` → ``running`` → ``closing`` → ``closed``
    (``start`` only from ``new``; operations only while ``running``)."""

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


class Engine:
    """Missions and events of one project root.

    Args:
        root: project root; state lives in ``<root>/.overmind/``.
        settings: mode, log cap, sandbox paths, party URL and the objective pipeline's
            settings (default: ``config.Settings.from_env()``, the environment's).
        clock: time source for the supervisor (tests pass ``testing.FakeClock``).
        base_env: environment missions start from (default: this process's), minus every
            model provider variable (``adapters.PROVIDER_KEYS``).
        provider_env: model provider keys and agent settings (never stored); each agent
            mission gets its own provider's (``adapters.keys_for``), plain commands none;
            default: those found in this process's environment.
        agents: custom ACP agents, name → argv.
        command_policy: the administrator's command policy (``c.Overmind.command_policy``):
            it answers agents' permission requests and binds the built-in agent through
            ``OVERMIND_COMMAND_POLICY`` (see ``agents.admin_policy``); None: the built-in
            policy answers, and agents keep their own.
        sandbox: the OS sandbox of agent missions and of the verification command
            (default: ``Sandbox.of(settings)``; probed once at ``start``).
        mcp: credentials of Overmind's MCP endpoint that agents get in ``session/new``
            (default: none; the server extension passes its endpoint's).
        target_env: where hub targets' token variables are read (default: this process's
            environment; the server extension passes the token it took out of it).

    Attributes (built by ``start``): ``missions``, ``work``, ``review``, ``parties``,
    ``targets_`` (the services of the module docstring) and the domain services they
    share: ``store``, ``supervisor``, ``records``, ``questions``, ``mailbox``, ``agents``
    (the ACP agent runtime), ``models``, ``pool``, ``changes_``, ``command_changes``,
    ``task_runner``, ``orchestrator``, ``recovery``, ``blueprints``, ``party`` (the hosted party).

    Raises:
        UsageError: a bad ``OVERMIND_*`` value in the environment (with no ``settings``).
    """

    def __init__(self, root: str | Path, settings: Settings | None = None, *,
                 clock: Clock | None = None, base_env: dict[str, str] | None = None,
                 provider_env: dict[str, str] | None = None,
                 agents: dict[str, list[str]] | None = None,
                 command_policy: CommandPolicy | None = None, sandbox: Sandbox | None = None,
                 mcp: McpAccess | None = None,
                 target_env: Mapping[str, str] | None = None) -> None:
        self.root = Path(root).resolve()
        self.settings = settings if settings is not None else Settings.from_env()
        self.sandbox = sandbox if sandbox is not None else Sandbox.of(self.settings)
        self.mcp = mcp if mcp is not None else McpAccess()
        self.target_env = os.environ if target_env is None else target_env
        self.mode = self.settings.mode
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
        self.party_url: str | None = None  # the server extension's, once it listens
        self.models = Models(self.provider_env, self.settings.models)  # answers before start

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
        report = await self.missions.reconcile()
        await self.recovery.run()
        self.work.resume_prompts()
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
        self.store = store = Store(default_db_path(self.root), on_commit=self._publish,
                                   schedule_flush=self._schedule_flush)
        launch = AgentLaunch(self.adapters, self.provider_env, self.command_policy,
                             self.state_dir / "agent-sessions")
        self.supervisor = supervisor = Supervisor(
            store, self._clock, self._base_env, self.settings.log_max_bytes, sandbox=self.sandbox,
            root=self.root, secret_env=launch.secret_env,
            withheld=frozenset((*adapters.PROVIDER_KEYS, HUB_TOKEN_ENV)))  # keys via secret_env
        self.records = records = Records(store)
        self.mailbox = Mailbox(records)
        self.questions = questions = Questions(store)
        questions.start()
        self.agents = AgentRuntime(store, supervisor, questions.ask,
                                   self.command_policy or DEFAULT_POLICY, mcp=self.mcp,
                                   mailbox=self.mailbox, key_names=launch.key_names)
        self.pool = LazyPool(self.root, lambda: kept_worktrees(records, command_changes),
                             self.sandbox)
        queue = MergeQueue(self.root, referee=self.models.referee, sandbox=self.sandbox)
        self.changes_ = Changes(self.root, records, questions, queue, pool=self.pool)
        self.command_changes = command_changes = CommandChanges(
            self.root, self.pool, self.changes_, records, store)
        supervisor.listen(command_changes)
        self.subscribe(command_changes.on_events)
        create = functools.partial(missions.create, store, root=self.root,
                                   logs_dir=self.logs_dir)
        self.blueprints = blueprint_run.Coordinators(store, supervisor, create,
                                                     worktrees=command_changes)
        self.hub_runner = HubRunner(
            store, create, self.root, self.target_env, self._clock or SystemClock(),
            ask=questions.ask, cancel_questions=questions.cancel_for, keys=launch.keys_of)
        self.missions = MissionService(store, supervisor, self.agents,
                                       blueprints=self.blueprints,
                                       command_changes=command_changes, launch=launch,
                                       sandbox=self.sandbox, create=create,
                                       remote=self.hub_runner)
        self._assemble_work(store)

    def _assemble_work(self, store: Store) -> None:
        """The objective pipeline and the party over the services ``_assemble`` built."""
        clock = self._clock or SystemClock()
        self.target_registry = registry = Targets(self.records, self.settings.max_parallel)
        self.task_runner = TaskRunner(self.records, store, self.pool, self.changes_,
                                      self.models.roles, launcher=self.missions,
                                      budget_env=lambda oid: self.orchestrator.budget.env(oid),
                                      work_done=self.agents.work_done, targets=registry,
                                      hub=self.hub_runner, clock=clock, ask=self.questions.ask,
                                      choose_model=self.models.choose)
        self.orchestrator = Orchestrator(self.root, self.records, self.questions,
                                         self.changes_, self.task_runner, self.models.roles,
                                         self.settings, known_agents=self._installed_agents,
                                         clock=self._clock)
        self.subscribe(self.orchestrator.budget.on_events)
        self.recovery = Recovery(self.root, self.records, self.questions, self.changes_,
                                 self.orchestrator, self.task_runner, self.pool.start)
        self.party = Party(self.records, store,
                           on_prompt_approved=objective_of_prompt(self.orchestrator),
                           known_agents=lambda: self.adapters)  # a prompt's --agent
        self.parties = PartyService(self.party, store,
                                    lambda: self.settings.party_url or self.party_url)
        self.review = ReviewService(self.root, self.records, self.changes_, self.orchestrator,
                                    self.questions)
        self.targets_ = TargetService(self.target_registry, self.target_env,
                                      self._clock or SystemClock(), self.root,
                                      prewarm=self.hub_runner.prewarm)
        self.targets_.register_configured(self.settings)
        self.targets_.prewarm_all()
        self.work = WorkService(store, self.records, self.questions, self.mailbox,
                                party=self.party, guest=self.parties,
                                orchestrator=self.orchestrator, changes=self.changes_,
                                task_runner=self.task_runner, pool=self.pool,
                                models=self.models, adapters=self.adapters)
        self.subscribe(self.work.on_events)

    def _open_store(self) -> Store:
        if self.store is None:
            raise EngineUnavailable(f"the Overmind engine is {self.lifecycle.value}: its "
                                    "store is closed (`overmind start`)")
        return self.store

    def _installed_agents(self) -> tuple[str, ...]:
        """Names of the agents a plan may give a task: configured and installed."""
        return tuple(name for name, a in self.adapters.items() if a.installed())

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

    async def close(self, stop_missions: bool = True) -> None:
        """Stop every mission (SIGTERM, grace, SIGKILL) unless told not to; close the store.
        Closing an engine that is closing or closed does nothing."""
        if self.store is None or self.lifecycle in (Lifecycle.CLOSING, Lifecycle.CLOSED):
            return
        self.lifecycle = Lifecycle.CLOSING
        self.store.append_event("engine-stopping", {"stop_missions": stop_missions})
        self.parties.close()
        await self._close_work(stop_missions)
        if stop_missions:
            await self.missions.shutdown()
        for rt in list(self.supervisor.runtimes.values()):
            if rt.task:
                rt.task.cancel()
        self.agents.close()
        self.store.close()
        self.store = None
        self.lifecycle = Lifecycle.CLOSED

    async def _close_work(self, stop_missions: bool) -> None:
        """Wind the pipeline down while the worktree pool is open: objectives drained,
        prompt hooks cancelled, worktree missions (and their worktrees) stopped."""
        await self.orchestrator.drain("engine stopping")
        await self.hub_runner.close()  # the warm pool's idle named servers
        self.party.cancel_hooks()  # prompts waiting for their objective
        if stop_missions:
            await self.supervisor.stop_many(self.command_changes.live_missions())
        await self.command_changes.close(stop_missions)
        await self.pool.close()

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
        name, as every command takes, or the id of a party host's mission whose events
        were mirrored here), ``objective`` or ``party`` (ids).

        Raises:
            NotFound / AmbiguousReference: ``mission`` matches no or several missions.
        """
        filters = {"mission": self._mission_filter(mission) if mission else None,
                   "objective": objective, "party": party}
        return self._open_store().read_events(after=after, limit=limit, latest=latest,
                                              **{k: v for k, v in filters.items() if v})

    def _mission_filter(self, ref: str) -> str:
        try:
            return self.resolve(ref).id
        except NotFound:
            if self._open_store().read_events(mission=ref, limit=1):
                return ref  # a joined party's host mission: its events are mirrored here
            raise

    async def events_json(self, after: int = 0, limit: int = 1000,
                          any_of: dict[str, list[str]] | None = None, **filters: str | None
                          ) -> list[tuple[int, str]]:
        """``events`` as ``(seq, JSON text)`` pairs, not decoded (websocket replay; its
        filters are ids, as the live events it then delivers are matched on; ``any_of``:
        see ``Store.read_events_json``)."""
        return self._open_store().read_events_json(after=after, limit=limit, any_of=any_of,
                                                   **filters)

    # -- missions (``MissionService``) ----------------------------------------------
    def resolve(self, ref: str) -> Mission:
        """See ``supervisor.missions.resolve``."""
        return self.missions.resolve(ref)

    async def run(self, spec: MissionSpec) -> Mission:
        """See ``MissionService.run``."""
        return await self.missions.run(spec)

    async def ps(self, all: bool = False) -> list[Mission]:
        """See ``MissionService.ps``."""
        return await self.missions.ps(all)

    async def ps_json(self, all: bool = False) -> str:
        """See ``MissionService.ps_json``."""
        return await self.missions.ps_json(all)

    async def ps_stats(self, all: bool = False) -> list[dict[str, Any]]:
        """See ``MissionService.ps_stats``."""
        return await self.missions.ps_stats(all)

    async def info(self, ref: str) -> dict[str, Any]:
        """See ``MissionService.info``."""
        return await self.missions.info(ref)

    async def logs(self, ref: str, tail: int | None = None) -> str:
        """See ``MissionService.logs``."""
        return await self.missions.logs(ref, tail)

    def follow(self, ref: str, tail: int | None = 10) -> AsyncGenerator[str, None]:
        """See ``MissionService.follow``."""
        return self.missions.follow(ref, tail)

    async def send(self, ref: str, text: str) -> Mission:
        """See ``MissionService.send``."""
        return await self.missions.send(ref, text)

    def attach(self, ref: str, listener: Callable[[bytes], None]
               ) -> tuple[Mission, Callable[[], None]]:
        """See ``MissionService.attach``."""
        return self.missions.attach(ref, listener)

    def type_keys(self, mission_id: str, data: bytes) -> None:
        """See ``MissionService.type_keys``."""
        self.missions.type_keys(mission_id, data)

    async def stop(self, ref: str, force: bool = False) -> Mission:
        """See ``MissionService.stop``."""
        return await self.missions.stop(ref, force)

    async def restart(self, ref: str) -> Mission:
        """See ``MissionService.restart``."""
        return await self.missions.restart(ref)

    async def kill(self, ref: str, cascade: bool = False, force: bool = True) -> list[Mission]:
        """See ``MissionService.kill``."""
        return await self.missions.kill(ref, cascade, force)

    async def wait(self, ref: str, timeout_s: float | None = None) -> Mission:
        """See ``MissionService.wait``."""
        return await self.missions.wait(ref, timeout_s)

    async def apply(self, text: str, source: str, base_dir: str | None = None,
                    name: str | None = None) -> Mission:
        """See ``MissionService.apply`` (``base_dir`` default: the project root)."""
        return await self.missions.apply(text, source, Path(base_dir or self.root), name)

    async def shutdown(self) -> list[Mission]:
        """See ``MissionService.shutdown``."""
        return await self.missions.shutdown()

    async def list_agents(self) -> list[dict[str, Any]]:
        """Known and custom agents with whether each is installed (see ``adapters.rows``)."""
        return adapters.rows(self.adapters)

    async def list_questions(self) -> list[Question]:
        """Open questions, oldest first."""
        return self.questions.open()

    async def answer(self, ref: str, text: str) -> Question:
        """Answer an open question; the waiting agent resumes."""
        return await self.questions.answer(ref, text)

    async def model_status(self) -> dict[str, Any]:
        """See ``Models.status``."""
        return self.models.status()

    async def status(self) -> dict[str, Any]:
        """Engine facts: version, mode, root, pid, uptime (s), mission counts, last seq,
        the sandbox's status and git's path (None: not on PATH; a hub doctor reads both)."""
        return {"version": __version__, "mode": self.mode, "root": str(self.root),
                "pid": os.getpid(), "uptime_s": time.time() - self.started_at,
                "missions": self.missions.counts(), "last_seq": self._open_store().last_seq(),
                "sandbox": self.sandbox.status.to_dict(), "git": shutil.which("git")}

    # -- work (``WorkService``) -------------------------------------------------------
    async def prompt(self, text: str, agent: str | None = None, wait: bool = False,
                     member: str = "host", shared: bool = False,
                     auto_merge: bool | None = None, max_tokens: int | None = None,
                     max_cost_usd: float | None = None, target: str | None = None,
                     model: str | None = None) -> dict[str, Any]:
        """See ``WorkService.prompt``; ``target``: pin its tasks to that target;
        ``model``: its agents' model, one of ``model_status()["choices"]``.

        Raises:
            NotFound: no live target ``target`` (see ``overmind targets``).
            UsageError: ``model`` is not a choice the server offers.
        """
        if target is not None:
            target = self.target_registry.resolve(target).data.name
        if model is not None:
            self.models.choose(model)
        return await self.work.prompt(text, PromptOptions(
            agent, shared, auto_merge, max_tokens, max_cost_usd, target, model), wait,
            member)

    async def objectives(self) -> list[dict[str, Any]]:
        """See ``WorkService.objectives``."""
        return await self.work.objectives()

    async def objective(self, ref: str) -> dict[str, Any]:
        """See ``WorkService.objective``."""
        return await self.work.objective(ref)

    async def wait_objective(self, ref: str, timeout_s: float | None = None,
                             or_question: bool = False) -> dict[str, Any]:
        """See ``WorkService.wait_objective``."""
        return await self.work.wait_objective(ref, timeout_s, or_question)

    async def cancel_objective(self, ref: str) -> dict[str, Any]:
        """See ``WorkService.cancel_objective``."""
        return await self.work.cancel_objective(ref)

    async def send_message(self, to: str, text: str, sender: str = "host"
                           ) -> dict[str, Any]:
        """See ``WorkService.send_message``."""
        return await self.work.send_message(to, text, sender)

    async def messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        """See ``WorkService.messages``."""
        return await self.work.messages(recipient)

    # -- review (``ReviewService``) ---------------------------------------------------
    async def changes(self, objective: str | None = None) -> list[dict[str, Any]]:
        """See ``ReviewService.changes``."""
        return await self.review.changes(objective)

    async def change(self, ref: str) -> dict[str, Any]:
        """See ``ReviewService.change``."""
        return await self.review.change(ref)

    async def diff(self, ref: str, path: str | None = None) -> str:
        """See ``ReviewService.diff``."""
        return await self.review.diff(ref, path)

    async def needs_you(self) -> list[dict[str, Any]]:
        """See ``ReviewService.needs_you``."""
        return await self.review.needs_you()

    async def change_files(self, ref: str) -> dict[str, Any]:
        """See ``ReviewService.change_files``."""
        return await self.review.change_files(ref)

    async def request_changes(self, ref: str, text: str, member: str = "host"
                              ) -> dict[str, Any]:
        """See ``ReviewService.request_changes``."""
        return await self.review.request_changes(ref, text, member)

    async def merge(self, ref: str) -> dict[str, Any]:
        """See ``ReviewService.merge``."""
        return await self.review.merge(ref)

    async def check_change(self, ref: str) -> dict[str, Any]:
        """See ``ReviewService.check_change``."""
        return await self.review.check_change(ref)

    async def close_change(self, ref: str) -> dict[str, Any]:
        """See ``ReviewService.close_change``."""
        return await self.review.close_change(ref)

    async def reopen_change(self, ref: str) -> dict[str, Any]:
        """See ``ReviewService.reopen_change``."""
        return await self.review.reopen_change(ref)

    # -- targets (``TargetService``) -------------------------------------------------
    async def targets(self) -> list[dict[str, Any]]:
        """See ``TargetService.targets_list``."""
        return await self.targets_.targets_list()

    async def target_add(self, name: str, url: str, user: str, capacity: int = 2,
                         token_env: str | None = None, doctor: bool = True,
                         warm: int = 0) -> dict[str, Any]:
        """See ``TargetService.target_add``."""
        return await self.targets_.target_add(name, url, user, capacity,
                                              token_env or HUB_TOKEN_ENV, doctor, warm)

    async def target_action(self, ref: str, action: str) -> dict[str, Any]:
        """See ``TargetService.target_action``."""
        return await self.targets_.target_action(ref, action)

    async def target_doctor(self, ref: str) -> dict[str, Any]:
        """See ``TargetService.target_doctor``."""
        return await self.targets_.target_doctor(ref)

    async def remote_receive(self, name: str, bundle: str) -> dict[str, Any]:
        """See ``TargetService.remote_receive``."""
        return await self.targets_.remote_receive(name, bundle)

    async def remote_result(self, ref: str) -> dict[str, Any]:
        """See ``TargetService.remote_result``."""
        return await self.targets_.remote_result(ref)

    async def remote_discard(self, ref: str) -> dict[str, Any]:
        """See ``TargetService.remote_discard``."""
        return await self.targets_.remote_discard(ref)

    # -- party (``PartyService``) -----------------------------------------------------
    async def host(self, name: str | None = None, auto_approve: Iterable[str] = (),
                   auto_approve_prompts: bool = False, auto_merge: bool = False
                   ) -> dict[str, Any]:
        """See ``PartyService.host``."""
        return await self.parties.host(name, auto_approve, auto_approve_prompts, auto_merge)

    async def party_status(self) -> dict[str, Any]:
        """See ``PartyService.party_status``."""
        return await self.parties.party_status()

    async def invite(self, ttl_s: float = DEFAULT_TTL_S, role: str = "collaborator"
                     ) -> dict[str, Any]:
        """See ``PartyService.invite``."""
        return await self.parties.invite(ttl_s, role)

    async def revoke_invite(self, ref: str) -> dict[str, Any]:
        """See ``PartyService.revoke_invite``."""
        return await self.parties.revoke_invite(ref)

    async def member_action(self, ref: str, action: str, role: str | None = None
                            ) -> dict[str, Any]:
        """See ``PartyService.member_action``."""
        return await self.parties.member_action(ref, action, role)

    async def prompt_action(self, ref: str, action: str, position: int | None = None
                            ) -> dict[str, Any]:
        """See ``PartyService.prompt_action``."""
        return await self.parties.prompt_action(ref, action, position)

    async def join(self, invite: str, name: str) -> dict[str, Any]:
        """See ``PartyService.join``."""
        return await self.parties.join(invite, name)

    async def party_prompt(self, text: str, member: str | None = None,
                           agent: str | None = None) -> dict[str, Any]:
        """See ``PartyService.party_prompt``."""
        return await self.parties.party_prompt(text, member, agent)

    async def party_review(self, action: str, change: str, text: str | None = None,
                           member: str | None = None) -> dict[str, Any]:
        """See ``PartyService.party_review``."""
        return await self.parties.party_review(action, change, text, member)

    async def leave(self, member: str | None = None) -> dict[str, Any]:
        """See ``PartyService.leave``."""
        return await self.parties.leave(member)

    async def close_party(self) -> dict[str, Any]:
        """See ``PartyService.close_party``."""
        return await self.parties.close_party()
