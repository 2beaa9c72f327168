"""The party's prompt queue: FIFO with the host's approve / deny / reorder / share.

A mixin of ``party.Party`` (it uses the party's records, role checks and references).
Prompt records (kind ``prompt``, parent = party id) hold ``{member, name, text, position,
visibility}`` and, when the submitter chose them, ``agent`` (a configured agent's name) and
``shared`` (host only: run in the host's checkout); ``position`` (a float) orders the
queue, new prompts go last. Each change
appends ``prompt-queued`` / ``prompt-status`` with ``{id, member, name, status, position,
visibility, text}``; ``party_view`` strips ``text`` for other members while the prompt is
private. When a prompt becomes approved, ``on_prompt_approved(record)`` hands it to the
objective pipeline at once and returns the future of its objective's id; the prompt is
``grouped`` when that resolves (a task whose failures are logged, never raised here).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import RateLimited, UsageError
from ..model import NO_CHOICES, PromptOptions
from ..store.records import EventSpec, Record
from .invites import new_id
from .ratelimit import Rate, RateLimiter

if TYPE_CHECKING:
    from .party import Party

log = logging.getLogger("overmind.party")
MAX_PROMPT_CHARS = 100_000
PROMPT_ACTIONS = ("approve", "deny", "share", "move")
WAITING = ("queued", "approved")  # not grouped into an objective yet
PROMPT_RATE = Rate(burst=10, per_s=1 / 6)  # 10 at once, then 10 a minute


@dataclasses.dataclass(frozen=True, slots=True)
class PromptQuota:
    """What one guest may have waiting in the queue, and how fast it may add to it (the
    host is not limited). Defaults: 20 prompts, 200,000 characters, 10 at once then 10
    a minute."""

    waiting: int = 20  # prompts queued or approved, not grouped yet
    waiting_chars: int = 200_000  # their text together (characters)
    rate: Rate = PROMPT_RATE


class PromptQueue:
    """Prompt methods of ``Party`` (see the module docstring)."""

    on_prompt_approved: Callable[[Record], asyncio.Future[str]] | None
    quota: PromptQuota
    prompt_rate: RateLimiter  # keyed by member id
    known_agents: Callable[[], Iterable[str]] | None  # the engine's configured agents
    _tasks: set[asyncio.Task]
    _objectives: dict[str, asyncio.Future[str]]

    def prompts(self: Party, party: Record) -> list[Record]:
        """Every prompt of ``party``: queued ones in queue order first, then the rest."""
        found = self.records.list("prompt", parent=party.id)
        return sorted(found, key=lambda p: (p.state != "queued", p.data.position))

    def submit_prompt(self: Party, member_id: str, text: str,
                      options: PromptOptions = NO_CHOICES) -> Record:
        """Queue ``text`` from member ``member_id`` (collaborator or host); its tasks run
        on ``options.agent`` (one of ``known_agents``; None: the engine's default) and,
        when ``options.shared`` (the host's prompts only), in the host's own checkout.
        Only the host lets changes merge without review (``options.auto_merge``).

        The host's prompts, and everyone's when the party auto-approves prompts, are
        approved at once.

        Raises:
            Unauthorized / Forbidden: not an approved member, a viewer, or a guest's
                ``shared`` or ``auto_merge``.
            UsageError: empty or longer than ``MAX_PROMPT_CHARS``; an unknown agent.
            RateLimited: a guest over its ``PromptQuota`` (count, characters or rate).
        """
        member = self.require_role(member_id, "collaborator", "submit prompts")
        if options.shared:
            self.require_role(member_id, "host", "run prompts in the host's checkout")
        if options.auto_merge:
            self.require_role(member_id, "host", "let changes merge without review")
        text = text.strip()
        if not text or len(text) > MAX_PROMPT_CHARS:
            raise UsageError(f"a prompt needs 1 to {MAX_PROMPT_CHARS:,} characters of text")
        party = self.require()
        if options.auto_merge is None and party.data.auto_merge:  # the host's choice
            options = dataclasses.replace(options, auto_merge=True)
        if member.data.role != "host":
            self._check_quota(party, member, len(text))
        last = max((p.data.position for p in self.prompts(party)), default=0.0)
        pid = new_id("prm")
        data = {"member": member.id, "name": member.data.name, "text": text,
                "position": float(math.floor(last) + 1), "visibility": "private",
                **({"agent": self._check_agent(options.agent)} if options.agent else {}),
                **_chosen(options)}
        rec = self.records.insert("prompt", pid, "queued", data, parent=party.id,
                                  event=_event("prompt-queued", pid, "queued", data, party.id))
        if member.data.role == "host" or party.data.auto_approve_prompts:
            rec = self._set_prompt_state(rec, "approved")
        return rec

    def _check_quota(self: Party, party: Record, member: Record, size: int) -> None:
        """Refuse a guest's prompt beyond its ``PromptQuota`` (nothing is queued)."""
        quota = self.quota
        mine = [p for p in self.records.list("prompt", parent=party.id, states=WAITING)
                if p.data.member == member.id]
        if len(mine) >= quota.waiting:
            raise RateLimited(f"you have {len(mine)} prompts waiting, the most a guest may "
                              "have; wait until the host groups or denies some", 30.0)
        chars = sum(len(p.data.text) for p in mine) + size
        if chars > quota.waiting_chars:
            raise RateLimited(f"your waiting prompts would hold {chars:,} characters; a "
                              f"guest may have at most {quota.waiting_chars:,} waiting", 30.0)
        self.prompt_rate.take(member.id)

    def _check_agent(self: Party, agent: str) -> str:
        """``agent`` if the host configured it (guests pick among those only).

        Raises:
            UsageError: unknown agent (the message lists the configured ones).
        """
        known = list(self.known_agents() if self.known_agents is not None else ("builtin",))
        if agent not in known:
            raise UsageError(f"unknown agent {agent[:64]!r}; this party's agents: "
                             f"{', '.join(known)} (omit --agent for the default)")
        return agent

    def prompt_action(self: Party, ref: str, action: str,
                      position: int | None = None) -> Record:
        """``approve``, ``deny``, ``share`` (its text to every member) or ``move`` a
        prompt; with ``position`` (0 = first) a queued prompt also moves in the queue.

        Raises:
            NotFound / AmbiguousReference: ``ref`` (id or prefix).
            UsageError: unknown action, or ``move`` without ``position``.
            InvalidTransition: e.g. approving a denied prompt.
        """
        rec = self._resolve("prompt", ref)
        if action not in PROMPT_ACTIONS:
            raise UsageError(f"prompt action must be one of {', '.join(PROMPT_ACTIONS)}, "
                             f"not {action!r}")
        if position is not None:
            rec = self._move_prompt(rec, position)
        elif action == "move":
            raise UsageError("move needs a position (0 = first in the queue)")
        if action in ("approve", "deny"):
            rec = self._set_prompt_state(rec, "approved" if action == "approve" else "denied")
        elif action == "share":
            rec = self.records.update("prompt", rec.id, visibility="shared", event=_event(
                "prompt-status", rec.id, rec.state, {**rec.data.dump(), "visibility": "shared"},
                rec.parent))
        return rec

    def advance_prompt(self: Party, prompt_id: str, state: str, **changes: Any) -> Record:
        """Move an approved prompt on as its work goes: ``grouped`` (it joined objective
        ``changes["objective"]``) then ``done`` (that objective ended; ``changes``: e.g.
        its final ``outcome``), with a ``prompt-status`` event members see (redacted).

        Raises:
            NotFound: no such prompt. InvalidTransition: not the next state.
        """
        rec = self.records.get("prompt", prompt_id)
        return self.records.transition("prompt", rec.id, state, **changes,
                                       event=_event("prompt-status", rec.id, state,
                                                    {**rec.data.dump(), **changes}, rec.parent))

    def rehook(self: Party, rec: Record) -> None:
        """Start ``on_prompt_approved`` again for approved prompt ``rec`` (its hook died
        with an earlier engine before the prompt joined an objective)."""
        if rec.state == "approved" and self.on_prompt_approved is not None:
            self._start_hook(rec)

    def cancel_hooks(self: Party) -> None:
        """Cancel the ``on_prompt_approved`` tasks still running (engine shutdown)."""
        for task in list(self._tasks):
            task.cancel()

    def _set_prompt_state(self: Party, rec: Record, state: str) -> Record:
        rec = self.records.transition("prompt", rec.id, state,
                                      event=_event("prompt-status", rec.id, state, rec.data.dump(),
                                                   rec.parent))
        if state == "approved" and self.on_prompt_approved is not None:
            self._start_hook(rec)
        return rec

    def objective_of(self: Party, prompt_id: str) -> asyncio.Future[str] | None:
        """The future objective id of a prompt approved now and not yet grouped (None:
        not approved, or grouped already)."""
        return self._objectives.get(prompt_id)

    def _start_hook(self: Party, rec: Record) -> None:
        assert self.on_prompt_approved is not None
        future = self._objectives[rec.id] = self.on_prompt_approved(rec)
        task = asyncio.ensure_future(self._group(rec.id, future))
        self._tasks.add(task)
        task.add_done_callback(_hook_done(self._tasks))

    async def _group(self: Party, prompt_id: str, future: asyncio.Future[str]) -> None:
        """The prompt joined objective ``await future``: ``grouped``."""
        try:
            oid = await future
        finally:
            self._objectives.pop(prompt_id, None)
        self.advance_prompt(prompt_id, "grouped", objective=oid)

    def _move_prompt(self: Party, rec: Record, position: int) -> Record:
        if rec.state != "queued":
            raise UsageError(f"prompt {rec.id} is {rec.state}; only queued prompts move")
        queue = [p for p in self.prompts(self.require()) if p.state == "queued"]
        others = [p for p in queue if p.id != rec.id]
        at = max(0, min(position, len(others)))
        key = [p.data.position for p in others]
        if not others:
            new = rec.data.position
        elif at == 0:
            new = key[0] - 1
        elif at == len(others):
            new = key[-1] + 1
        else:  # between its new neighbours: no renumbering of the others
            new = (key[at - 1] + key[at]) / 2
        return self.records.update("prompt", rec.id, position=new, event=_event(
            "prompt-status", rec.id, rec.state, {**rec.data.dump(), "position": new}, rec.parent))


def _event(type_: str, pid: str, state: str, data: dict[str, Any],
           party: str | None) -> EventSpec:
    return EventSpec(type_, {"id": pid, "status": state, **data}, party=party)


def _hook_done(tasks: set[asyncio.Task]) -> Callable[[asyncio.Task], None]:
    def done(task: asyncio.Task) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("on_prompt_approved failed", exc_info=task.exception())
    return done


def _chosen(options: PromptOptions) -> dict[str, Any]:
    """The workspace, review and budget choices of ``options`` that were made."""
    chosen = {"shared": options.shared or None, "auto_merge": options.auto_merge,
              "max_tokens": options.max_tokens, "max_cost_usd": options.max_cost_usd}
    return {k: v for k, v in chosen.items() if v is not None}
