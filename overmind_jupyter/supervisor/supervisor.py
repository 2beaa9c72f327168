"""The mission supervisor: spawn, watch, restart, stall detection, stop with escalation.

Each live mission has one asyncio task running its lifecycle (``_lifecycle``); every
status change goes through ``Store.transition`` so the transition table is enforced in
the database transaction. Stop is SIGTERM to the process group, a grace period, then
SIGKILL; after the leader exits, stragglers left in its group are killed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..config import AGENT_STATE_ENV, LOG_MAX_BYTES, MISSION_ID_ENV, MISSION_NAME_ENV
from ..errors import InvalidTransition, UsageError
from ..model import (
    ExitCause,
    ExitInfo,
    GiveUp,
    Mission,
    MissionKind,
    MissionStatus,
    backoff_exponent,
    decide_restart,
)
from ..store import Store
from ..workspace.sandbox import Sandbox, SandboxRefused
from . import logs
from .clock import Clock, SystemClock
from .listener import MissionListener
from .process import (
    MAX_SEND_BYTES,
    SEND_TIMEOUT_S,
    Child,
    SpawnFailed,
    signal_group,
    spawn,
    wait_exit,
    write_input,
    write_whole,
)
from .runtime import USER_STOP, Runtime

log = logging.getLogger("overmind.supervisor")
S = MissionStatus
STALL_POLL_MAX_S = 1.0
LOG_CAP_POLL_S = 0.2  # how often a running mission's log size is checked against its cap
WAIT_POLL_S = 0.05  # `wait` on a mission that has not started yet


class Supervisor:
    """Runs missions recorded in ``store``.

    Args:
        store: the durable store (status changes and events go through it).
        clock: time source for backoff, stall detection and restart windows.
        base_env: environment every mission starts from (default: this process's).
        log_max_bytes: a running mission's log is rotated once over this size (checked
            every ``LOG_CAP_POLL_S`` s; see ``logs.rotate``).
        sandbox: the OS sandbox agent missions run in (None: none), with ``root`` the
            host checkout they see read-only (default: each mission's cwd).
        secret_env: environment a mission gets at each launch and that is never stored
            (provider keys, the admin's policy).
        withheld: names dropped from ``base_env`` (they reach missions only through
            ``secret_env``).
    """

    def __init__(self, store: Store, clock: Clock | None = None,
                 base_env: dict[str, str] | None = None,
                 log_max_bytes: int = LOG_MAX_BYTES, sandbox: Sandbox | None = None,
                 root: Path | None = None,
                 secret_env: Callable[[Mission], dict[str, str]] | None = None,
                 withheld: frozenset[str] = frozenset()) -> None:
        self.store = store
        self.sandbox, self.root = sandbox, root
        self.clock = clock or SystemClock()
        self.base_env = base_env
        self.log_max_bytes = log_max_bytes
        self.runtimes: dict[str, Runtime] = {}
        self._send_locks: dict[str, asyncio.Lock] = {}  # mission id → one send at a time
        self.secret_env = secret_env or (lambda m: {})  # never stored
        self.withheld = withheld  # names dropped from the base env
        self.listeners: list[MissionListener] = []
        self.rand = random.random

    def listen(self, listener: MissionListener) -> None:
        """Tell ``listener`` what happens to every mission from now on."""
        self.listeners.append(listener)

    def unlisten(self, listener: MissionListener) -> None:
        """Stop telling ``listener``."""
        if listener in self.listeners:
            self.listeners.remove(listener)

    # -- starting ---------------------------------------------------------------
    def launch(self, mission: Mission, adopted: Child | None = None) -> Runtime:
        """Start the lifecycle task of a recorded mission (pending, restarting or adopted)."""
        rt = Runtime(mission.id, child=adopted)  # an adopted process is stoppable at once
        self.runtimes[mission.id] = rt
        rt.task = asyncio.get_running_loop().create_task(
            self._lifecycle(rt, mission, adopted), name=f"mission-{mission.name}")
        return rt

    async def _lifecycle(self, rt: Runtime, m: Mission, adopted: Child | None) -> None:
        restart_times: list[float] = []
        k = 0
        try:
            while True:
                if rt.cause is ExitCause.USER_STOP and adopted is None:
                    self._finish(rt, S.KILLED, ExitInfo(reason="stopped before it ran"),
                                 rt.stop_why, rt.cause)
                    return
                rt.restart_asked = False  # a run starting now is the one asked for
                began = self.clock.monotonic()
                cause, info = await (self._watch(rt, m, adopted) if adopted
                                     else self._one_run(rt, m))
                adopted = None
                for listener in list(self.listeners):
                    await listener.exited(m)
                if rt.cause is None:
                    for listener in list(self.listeners):
                        cause, info = listener.judge_exit(m, cause, info)
                if rt.restart_asked and rt.cause is not ExitCause.USER_STOP:
                    if not await self._backoff(rt, m, 0.0, m.restarts + 1, info, by_user=True):
                        return
                    continue
                if rt.cause is ExitCause.STALLED:
                    info = dataclasses.replace(info, reason=f"stalled ({info.reason})")
                run_s = self.clock.monotonic() - began
                k = backoff_exponent(k, run_s, m.restart)
                decision = decide_restart(m.restart, rt.cause or cause, restart_times,
                                          self.clock.monotonic(), k, self.rand())
                if isinstance(decision, GiveUp):
                    if decision.exhausted:  # the budget, not the last run, ended it
                        info = dataclasses.replace(
                            info, reason=f"{decision.reason}; last run: {info.reason}")
                    for listener in list(self.listeners):
                        await listener.ending(m, decision.status, info)
                    self._finish(rt, decision.status, info, decision.reason, cause)
                    return
                k += 1
                restart_times.append(self.clock.monotonic())
                if not await self._backoff(rt, m, decision.delay_s, decision.attempt, info):
                    return
        finally:
            rt.done.set()
            rt.running.set()
            self.runtimes.pop(m.id, None)

    async def _one_run(self, rt: Runtime, m: Mission) -> tuple[ExitCause, ExitInfo]:
        self.store.transition(m.id, S.SPAWNING, fetch=False)
        # provider keys and defaults fill in; what the mission itself sets wins (a task's
        # own model and remaining budget must not be replaced by server-wide defaults)
        env = self.env_for(m)
        try:
            command, env = self._confined(m, env)
            child = spawn(command, m.cwd, env, m.log_path,
                          use_pty=m.kind is MissionKind.SESSION,
                          stdio_pipes=m.kind is MissionKind.AGENT)
        except SpawnFailed as exc:
            logs.write_marker(m.log_path, f"spawn failed: {exc}")
            rt.running.set()  # `run` reports the failed spawn now, not after every backoff
            return ExitCause.SPAWN_ERROR, ExitInfo(reason=str(exc))
        started = time.time()
        self.store.transition(m.id, S.RUNNING, fetch=False, pid=child.pid,
                              pid_start=child.start_time, started_at=started)
        running = dataclasses.replace(m, status=S.RUNNING, pid=child.pid,
                                      pid_start=child.start_time, started_at=started)
        for listener in list(self.listeners):
            listener.running(running)
        for listener in list(self.listeners):
            listener.spawned(running, child)
        return await self._watch(rt, m, child)

    def _confined(self, m: Mission, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """An agent mission's argv and environment under the sandbox (others: as given).

        Raises:
            SpawnFailed: the sandbox cannot run and unsandboxed agents are not allowed.
        """
        if m.kind is not MissionKind.AGENT or self.sandbox is None:
            return m.command, env
        # the agent's session transcripts (session/load after a restart) stay writable
        state = [Path(env[AGENT_STATE_ENV])] if env.get(AGENT_STATE_ENV) else []
        for path in state:
            path.mkdir(parents=True, exist_ok=True)
        try:
            return self.sandbox.confine(m.command, Path(m.cwd), self.root or Path(m.cwd),
                                        env, writable=state,
                                        agent_home=state[0] / "home" if state else None)
        except SandboxRefused as exc:
            raise SpawnFailed(exc.message) from None
    def env_for(self, m: Mission) -> dict[str, str]:
        """The environment a run of ``m`` starts with: the base (minus ``withheld``
        names), its secrets, its own variables (which win) and its identity."""
        base = self.base_env if self.base_env is not None else os.environ
        return {**{k: v for k, v in base.items() if k not in self.withheld},
                **self.secret_env(m), **m.env, MISSION_ID_ENV: m.id,
                MISSION_NAME_ENV: m.name}

    async def _watch(self, rt: Runtime, m: Mission, child: Child) -> tuple[ExitCause, ExitInfo]:
        rt.child = child
        rt.gone.clear()
        if child.pty_master is not None:
            rt.pump = logs.PtyPump(child.pty_master, m.log_path)
        rt.running.set()
        loop = asyncio.get_running_loop()
        stall = loop.create_task(self._stall_watch(rt, m)) if m.activity_timeout_s else None
        cap = loop.create_task(self._log_cap_watch(m))
        cancelled = False
        try:
            info = await wait_exit(child)
        except asyncio.CancelledError:  # engine closing without stopping missions:
            cancelled = True  # leave the process running for the next engine to adopt
            raise
        finally:
            cap.cancel()
            if stall:
                stall.cancel()
            if not cancelled:
                signal_group(child.pid, signal.SIGKILL)  # stragglers left in the group
            if rt.pump:
                rt.pump.close()
            rt.child, rt.pump = None, None
            rt.running.clear()
            rt.gone.set()
        return _cause(info), info

    async def _log_cap_watch(self, m: Mission) -> None:
        """Rotate the mission's log whenever it grew over ``log_max_bytes``."""
        while True:
            await asyncio.sleep(LOG_CAP_POLL_S)  # real time: disk fills in real time
            if logs.size(m.log_path) > self.log_max_bytes:
                copied = await asyncio.to_thread(logs.rotate_start, m.log_path)
                logs.rotate_finish(m.log_path, copied)  # on the loop: no thread hop before the cut

    async def _stall_watch(self, rt: Runtime, m: Mission) -> None:
        timeout = float(m.activity_timeout_s or 0)
        poll = min(STALL_POLL_MAX_S, timeout / 5)
        seen, last = logs.size(m.log_path), self.clock.monotonic()
        while True:
            await self.clock.sleep(poll)
            size = logs.size(m.log_path)
            if size != seen:  # activity is stamped when observed: never earlier than real
                seen, last = size, self.clock.monotonic()
            idle = self.clock.monotonic() - last
            if idle >= timeout:
                break
        rt.cause = ExitCause.STALLED
        with contextlib.suppress(InvalidTransition):
            self.store.transition(m.id, S.STALLED, reason=f"no output for {idle:.1f} s")
        logs.write_marker(m.log_path, f"stalled: no output for {idle:.1f} s, stopping")
        if rt.child is not None:
            signal_group(rt.child.pid, signal.SIGTERM)
        await self._escalate(rt, m.grace_s)

    async def _backoff(self, rt: Runtime, m: Mission, delay: float, attempt: int,
                       info: ExitInfo, by_user: bool = False) -> bool:
        """Sleep before a restart; False when a stop arrived meanwhile (mission ended)."""
        cause, rt.cause = rt.cause, None
        why = "restarted by user" if by_user else \
            "stalled" if cause is ExitCause.STALLED else info.reason
        reason = f"{why}; restart {attempt} in {delay:.2f} s"
        if by_user:
            info = dataclasses.replace(info, reason=why)
        self.store.transition(m.id, S.RESTARTING, reason=reason, exit=info,
                              restarts=m.restarts + 1)
        m.restarts += 1
        self.store.append_event("mission-restart", {"attempt": attempt, "delay_s": delay,
                                                    "reason": info.reason}, mission=m.id)
        logs.write_marker(m.log_path, f"restart {attempt} after {info.reason} "
                                      f"(backoff {delay:.2f} s)")
        sleep = asyncio.ensure_future(self.clock.sleep(delay))
        woken = asyncio.ensure_future(rt.wake.wait())
        await asyncio.wait({sleep, woken}, return_when=asyncio.FIRST_COMPLETED)
        sleep.cancel()
        woken.cancel()
        rt.wake.clear()  # consumed: the next backoff sleeps its full delay
        if rt.cause is ExitCause.USER_STOP:
            self._finish(rt, S.KILLED, info, f"{rt.stop_why} during backoff", rt.cause)
            return False
        return True

    def _finish(self, rt: Runtime, status: MissionStatus, info: ExitInfo, reason: str,
                cause: ExitCause) -> None:
        text = info.reason if status is not S.KILLED else rt.stop_why
        if status is S.KILLED:  # what the process did when stopped, e.g. exit status 0
            info = dataclasses.replace(info, stopped=True, reason=(
                f"{rt.stop_why}; {info.reason}" if info.reason else rt.stop_why))
        try:
            m = self.store.transition(rt.mission_id, status, reason=f"{text} ({reason})",
                                      exit=info)
        except InvalidTransition as exc:  # already final: a late report changes nothing
            log.info("ignored late exit report for %s: %s", rt.mission_id, exc)
            return
        if status is S.FAILED and m.parent_id:
            self.store.append_event("mission-child-failed", {
                "child": m.id, "name": m.name, "reason": reason}, mission=m.parent_id)
        for listener in list(self.listeners):
            listener.ended(m)

    # -- stopping ---------------------------------------------------------------
    async def stop(self, mission_id: str, grace_s: float | None = None,
                   force: bool = False,
                   wind_down: Callable[[str], Awaitable[None]] | None = None) -> None:
        """Stop a mission: SIGTERM to its group, ``grace_s`` s, then SIGKILL (``force``: now).

        ``wind_down(mission_id)`` runs first, once the stop is recorded as the run's cause
        (e.g. an agent's ``session/cancel``): a process that ends by itself meanwhile still
        reads "stopped". Never restarts it. Returns once the mission is in a terminal state.
        """
        await self.stop_many([mission_id], grace_s, force, wind_down)

    async def stop_many(self, mission_ids: list[str], grace_s: float | None = None,
                        force: bool = False,
                        wind_down: Callable[[str], Awaitable[None]] | None = None,
                        why: str = USER_STOP) -> None:
        """Stop several missions at once: every group is signalled first, the ``stopping``
        transitions are recorded in one transaction, then each gets its grace period.
        ``wind_down``: as in ``stop``, for each live mission, before any signal; ``why``:
        what the stop reads as in the mission's status and exit reason."""
        sig = signal.SIGKILL if force else signal.SIGTERM
        live: list[Runtime] = []
        for mission_id in mission_ids:
            rt = self.runtimes.get(mission_id)
            if rt is None:
                self._stop_unsupervised(mission_id)
                continue
            rt.cause, rt.stop_why = ExitCause.USER_STOP, why
            rt.wake.set()
            live.append(rt)
        if wind_down is not None and not force:
            await asyncio.gather(*(wind_down(rt.mission_id) for rt in live))
        for rt in live:
            if rt.child is not None:
                signal_group(rt.child.pid, sig)
        self.store.transition_many([(rt.mission_id, S.STOPPING, "stop requested")
                                    for rt in live if rt.child is not None])
        graces = {m.id: m.grace_s for m in self.store.missions_by_id([r.mission_id
                                                                      for r in live])}
        await asyncio.gather(*(self._stop_run(rt, 0.0 if force else grace_s if grace_s
                                              is not None else graces[rt.mission_id])
                               for rt in live))

    # -- restarting -------------------------------------------------------------
    async def restart(self, mission_id: str, grace_s: float | None = None) -> None:
        """Restart a live mission now: its process gets SIGTERM, ``grace_s`` s (default:
        the mission's), then SIGKILL, and a new run starts at once (a backoff in progress
        is cut short). Counts in ``restarts`` but not in the restart budget.

        Returns once the new run is running, failed to spawn, or the mission ended.

        Raises:
            InvalidTransition: the mission has no lifecycle here (ended, or not started)
                or is being stopped.
        """
        rt = self.runtimes.get(mission_id)
        if rt is None or rt.cause is ExitCause.USER_STOP:
            m = self.store.get_mission(mission_id)
            raise InvalidTransition(
                f"{m.name} has ended ({m.status.value}); start it again with `run`"
                if m.status.terminal else f"{m.name} is {m.status.value}: only a started "
                "mission that is not being stopped can restart")
        rt.restart_asked = True
        rt.wake.set()
        child = rt.child
        if child is not None:
            signal_group(child.pid, signal.SIGTERM)
            grace = grace_s if grace_s is not None else \
                self.store.get_mission(mission_id).grace_s
            await self._escalate(rt, grace)
            await rt.gone.wait()
        await rt.running.wait()

    async def _escalate(self, rt: Runtime, grace_s: float) -> None:
        """After SIGTERM: wait up to ``grace_s`` for the process, then SIGKILL its group."""
        child = rt.child
        if child is None:
            return
        if grace_s > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(rt.gone.wait(), grace_s)
        if rt.child is child:
            signal_group(child.pid, signal.SIGKILL)

    async def _stop_run(self, rt: Runtime, grace_s: float) -> None:
        """``_escalate``, then wait until the mission's lifecycle has ended."""
        await self._escalate(rt, grace_s)
        await rt.done.wait()

    def _stop_unsupervised(self, mission_id: str) -> None:
        """A non-terminal mission with no lifecycle here (pending): mark it killed."""
        m = self.store.get_mission(mission_id)
        if not m.status.terminal:
            with contextlib.suppress(InvalidTransition):
                self.store.transition(mission_id, S.KILLED, reason="stopped before it ran")

    # -- input ----------------------------------------------------------------------
    async def send(self, mission_id: str, data: bytes) -> None:
        """Write all of ``data`` (at most ``MAX_SEND_BYTES``) to a live session (pty) or
        stdin mission, or nothing: sends to one mission are written one after another.

        Raises:
            UsageError: more than ``MAX_SEND_BYTES``; the mission is not running, takes no
                input, or did not read for ``SEND_TIMEOUT_S``.
        """
        if len(data) > MAX_SEND_BYTES:
            raise UsageError(f"a send is at most {MAX_SEND_BYTES:,} bytes with its newline "
                             f"(one terminal line), not {len(data):,}; split it into lines or "
                             "write it to a file the mission reads")
        rt = self.runtimes.get(mission_id)
        if rt is None or rt.child is None:
            raise UsageError("the mission is not running: nothing to send to")
        async with self._send_locks.setdefault(mission_id, asyncio.Lock()):
            try:
                await write_whole(rt.child, data)
            except OSError as exc:
                raise _input_refused(exc) from None

    def type_keys(self, mission_id: str, data: bytes) -> None:
        """Write keystrokes (an attached terminal's) to a live session mission now.

        Raises:
            UsageError: the mission is not running or takes no input.
        """
        rt = self.runtimes.get(mission_id)
        if rt is None or rt.child is None:
            raise UsageError("the mission is not running: nothing to send to")
        try:
            write_input(rt.child, data)
        except OSError as exc:
            raise _input_refused(exc) from None

    def watch_output(self, mission_id: str, listener: Callable[[bytes], None]
                     ) -> Callable[[], None]:
        """Call ``listener(bytes)`` with a session mission's terminal output as it comes.

        Returns the function that stops it. Raises ``UsageError`` unless the mission is a
        running session (only a pty can be attached to).
        """
        rt = self.runtimes.get(mission_id)
        if rt is None or rt.pump is None:
            raise UsageError("only a running session mission (--type session) can be "
                             "attached to; use `logs -f` for other missions")
        pump = rt.pump
        pump.listeners.add(listener)
        return lambda: pump.listeners.discard(listener)

    async def wait(self, mission_id: str, timeout_s: float | None = None) -> bool:
        """Wait until the mission's lifecycle ends; False on timeout.

        A mission not started yet (a blueprint child waiting for its dependencies) is
        waited for until it starts and ends, or is ended without starting.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while (rt := self.runtimes.get(mission_id)) is None:
            if self.store.get_mission(mission_id).status.terminal:
                return True
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(WAIT_POLL_S)
        remaining = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            await asyncio.wait_for(asyncio.shield(rt.done.wait()), remaining)
        except asyncio.TimeoutError:
            return False
        return True


def _input_refused(exc: OSError) -> UsageError:
    if exc.errno == errno.EAGAIN:
        return UsageError(f"the mission has not read its input for {SEND_TIMEOUT_S:g} s; "
                          "try again later")
    return UsageError(f"the mission does not take input ({exc.strerror}); only session "
                      "missions (--type session) read what you send")


def _cause(info: ExitInfo) -> ExitCause:
    if info.signal is not None:
        return ExitCause.SIGNAL
    return ExitCause.ERROR if info.returncode not in (0, None) else ExitCause.CLEAN
