"""``run_command`` for the built-in agent: tool policy, scrubbed environment, timeout.

The policy is the agent's own, bound by the administrator's when the engine passes one in
``OVERMIND_COMMAND_POLICY`` (``admin_policy.BoundPolicy``: the stricter decision wins).

A command the policy allows runs as an argv (no shell); one the host approved after an
"ask" runs under ``/bin/sh -c`` exactly as shown to the host. Output is truncated to
``MAX_OUTPUT_CHARS`` (head and tail kept, with a note). A command that outlives its
timeout is killed with its whole process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shlex
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from ...workspace.tool_env import scrubbed_env
from ..admin_policy import BoundPolicy
from ..policy import CommandPolicy, Decision

MAX_OUTPUT_CHARS = 16_000
Ask = Callable[[str, str], Awaitable[bool]]  # (command, reason) → approved?


@dataclasses.dataclass(frozen=True, slots=True)
class CommandOutcome:
    """``ok``: ran and exited 0; ``text``: status line plus (truncated) output."""

    ok: bool
    text: str


class CommandRunner:
    """Runs commands under ``policy``; ``ask`` asks the host when the policy says so."""

    def __init__(self, policy: CommandPolicy | BoundPolicy, ask: Ask) -> None:
        self.policy, self.ask = policy, ask

    async def run(self, command: str, cwd: Path, timeout_s: float) -> CommandOutcome:
        """Decide, maybe ask, then run ``command`` in ``cwd`` for at most ``timeout_s`` s."""
        decision, reason = self.policy.decide(command)
        if decision is Decision.DENY:
            return CommandOutcome(False, f"refused by the tool policy: {reason}")
        if decision is Decision.ASK and not await self.ask(command, reason):
            return CommandOutcome(False, f"the host did not approve `{command}`")
        argv = shlex.split(command) if decision is Decision.ALLOW else ["/bin/sh", "-c", command]
        return await _execute(argv, cwd, max(1.0, min(timeout_s, 3600.0)))


async def _execute(argv: list[str], cwd: Path, timeout_s: float) -> CommandOutcome:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=scrubbed_env(os.environ), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True)
    except OSError as exc:
        return CommandOutcome(False, f"could not start {argv[0]}: {exc.strerror or exc}")
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = await proc.communicate()
        return CommandOutcome(False, f"timed out after {timeout_s:g} s\n{_clip(out)}")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # background leftovers of the command
    return CommandOutcome(proc.returncode == 0, f"exit status {proc.returncode}\n{_clip(out)}")


def _clip(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    half = MAX_OUTPUT_CHARS // 2
    return (f"{text[:half]}\n[… {len(text) - MAX_OUTPUT_CHARS} characters omitted …]\n"
            f"{text[-half:]}")
