"""The party: one host, guests with roles, invites and a FIFO prompt queue (domain layer).

Durable records (``store.records``), each child's ``parent`` is the party id::

    party   open ─▶ closed            {name, host, auto_approve: [names], auto_approve_prompts,
                                       auto_merge}
    invite  active ─▶ revoked|expired {name: code, role, expires_at (epoch s), secret_sha256}
    member  pending ─▶ approved ─▶ kicked|left;  pending ─▶ denied|left
                                      {name, role: host|reviewer|collaborator|viewer,
                                       credential_sha256}
    prompt  queued ─▶ approved ─▶ grouped ─▶ done;  queued|approved ─▶ denied
                                      {member, name, text, position, visibility}

Every change appends its party event (``events.py``) in the same transaction, with
``party`` set. Prompt records and events carry ``visibility`` ("private" until the host
shares) so ``party_view`` can redact them for other members. Secrets are checked here
but only their hashes are stored (``invites``). The server edge adds rate limits
(``ratelimit.AuthGuard``) and counts the ``Unauthorized`` this module raises.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    UsageError,
)
from ..store import Store
from ..store.records import EventSpec, Record, Records, only
from ..supervisor.clock import Clock
from . import invites
from .invites import BAD_INVITE, Unauthorized, new_id
from .queue import PromptQueue, PromptQuota
from .ratelimit import RateLimiter
from .view import guest_status, host_status, member_spending

ROLES = {"viewer": 0, "collaborator": 1, "reviewer": 2, "host": 3}  # role → rank
GUEST_ROLES = ("reviewer", "collaborator", "viewer")
LIVE_MEMBER = ("pending", "approved")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.'-]{0,39}")
BAD_CREDENTIAL = ("party credential not accepted (unknown, kicked, or the party closed); "
                  "join again with a new invite")

OnApproved = Callable[[Record], "asyncio.Future[str]"]  # approved prompt → its objective


def check_name(name: str) -> str:
    """A member name: 1–40 letters, digits, space, ``_ . ' -``, starting alphanumeric.

    Raises:
        UsageError: anything else.
    """
    name = name.strip()
    if not NAME_RE.fullmatch(name):
        raise UsageError(f"member name {name[:50]!r} is not valid: use 1–40 letters, digits, "
                         "spaces or _.'- (starting with a letter or digit)")
    return name


def check_role(role: str, allowed: Iterable[str] = GUEST_ROLES) -> str:
    """``role`` if it is one of ``allowed``; else ``UsageError`` naming the choices."""
    if role not in allowed:
        raise UsageError(f"role must be one of {', '.join(allowed)}, not {role!r}")
    return role


class Party(PromptQueue):
    """The party of one engine (at most one open at a time).

    Args:
        records: the store's records.
        store: the store (events outside a record write).
        now: wall clock for invite expiry (epoch s); tests pass a fake.
        quota: what each guest may queue (``PromptQuota``; default: its defaults).
        clock: time source of the quota's rate (default: the system's monotonic clock).

        on_prompt_approved: ``f(prompt_record) -> Future[objective id]``, called at once
            each time a prompt becomes approved (it hands the prompt to the objective
            pipeline; the prompt is ``grouped`` when the future resolves); None: approved
            prompts wait.
        known_agents: the agents a prompt may name (None: ``builtin`` only).
    """

    def __init__(self, records: Records, store: Store, *,
                 now: Callable[[], float] = time.time, quota: PromptQuota | None = None,
                 clock: Clock | None = None, on_prompt_approved: OnApproved | None = None,
                 known_agents: Callable[[], Iterable[str]] | None = None) -> None:
        self.records, self.store, self.now = records, store, now
        self.quota = quota or PromptQuota()
        self.prompt_rate = RateLimiter(self.quota.rate, None, clock=clock,
                                       what="prompts", scope="from you")
        self.on_prompt_approved, self.known_agents = on_prompt_approved, known_agents
        self._objectives: dict[str, asyncio.Future[str]] = {}  # approved prompt → objective
        self._sessions: dict[str, set[Callable[[str], None]]] = {}
        self._member_changed: dict[str, asyncio.Event] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- the party --------------------------------------------------------------------
    def current(self) -> Record | None:
        """The open party, if any."""
        found = self.records.list("party", states=("open",))
        return found[-1] if found else None

    def require(self) -> Record:
        """The open party. Raises ``NotFound`` if none is open."""
        party = self.current()
        if party is None:
            raise NotFound("no party is open here; `overmind host` opens one")
        return party

    def open(self, host_name: str, auto_approve: Iterable[str] = (),
             auto_approve_prompts: bool = False, auto_merge: bool = False
             ) -> tuple[Record, Record]:
        """Open a party hosted by ``host_name``; returns ``(party, host member)``.
        ``auto_merge``: its prompts' changes land without review unless one asks for it.

        Raises:
            InvalidTransition: a party is open already.
            UsageError: a bad name.
        """
        if (old := self.current()) is not None:
            raise InvalidTransition(f"party {old.id} is open already; `overmind party close` "
                                    "ends it")
        host_name = check_name(host_name)
        names = sorted({check_name(n) for n in auto_approve})
        pid, mid = new_id("pty"), new_id("mbr")
        data = {"name": f"{host_name}'s party", "host": mid, "auto_approve": names,
                "auto_approve_prompts": bool(auto_approve_prompts),
                **({"auto_merge": True} if auto_merge else {})}
        party = self.records.insert("party", pid, "open", data, event=EventSpec(
            "party-opened", {"name": data["name"], "host": host_name}, party=pid))
        host = self.records.insert("member", mid, "approved",
                                   {"name": host_name, "role": "host"}, parent=pid,
                                   event=self._member_event("member-approved", mid, host_name,
                                                            "host", "approved", pid))
        return party, host

    def close(self) -> Record:
        """Close the open party: invites revoked, guests disconnected.

        Raises:
            NotFound: no party is open.
        """
        party = self.require()
        for invite in self.records.list("invite", parent=party.id, states=("active",)):
            invites.end(self.records, invite, "revoked")
        host = self.records.get("member", party.data.host).data.name
        closed = self.records.transition(
            "party", party.id, "closed", event=EventSpec(
                "party-closed", {"name": party.data.name, "host": host}, party=party.id))
        for member_id in list(self._sessions):
            self._disconnect(member_id, "the host closed the party")
        return closed

    # -- invites ----------------------------------------------------------------------
    def create_invite(self, ttl_s: float = invites.DEFAULT_TTL_S,
                      role: str = "collaborator") -> tuple[Record, str]:
        """A new invite of the open party; returns ``(record, secret)`` (the secret once;
        only its hash is stored).

        Raises:
            NotFound: no party is open. UsageError: bad ``ttl_s`` (s) or ``role``.
        """
        return invites.create(self.records, self.require(), ttl_s, check_role(role),
                              self.now())

    def revoke_invite(self, ref: str) -> Record:
        """Revoke an active invite (id, id prefix or code); joins with it then fail.

        Raises:
            NotFound / AmbiguousReference: no or several invites match.
            InvalidTransition: it is not active any more.
        """
        return invites.end(self.records, self._resolve("invite", ref, ("active",)), "revoked")

    # -- members ----------------------------------------------------------------------
    def join(self, invite_header: str, name: str) -> tuple[Record, str]:
        """A guest joins with ``<code>.<secret>`` of an invite; returns ``(member,
        credential)``. The member is approved at once if the host listed its name.

        Raises:
            Unauthorized: no open party, or the invite is unknown/wrong/revoked/expired.
            UsageError: a bad or taken name.
        """
        party = self.current()
        if party is None:
            raise Unauthorized(BAD_INVITE)
        invite = invites.accept(self.records, party, invite_header, self.now())
        name = check_name(name)
        if any(m.data.name == name for m in self.records.list(
                "member", parent=party.id, states=LIVE_MEMBER)):
            raise UsageError(f"the name {name!r} is taken in this party; pick another")
        secret, mid = invites.new_secret(), new_id("mbr")
        state = "approved" if name in party.data.auto_approve else "pending"
        role = invite.data.role
        member = self.records.insert(
            "member", mid, state, {"name": name, "role": role, "invite": invite.id,
                                   "credential_sha256": invites.digest(secret)},
            parent=party.id, event=self._member_event("member-joined", mid, name, role, state,
                                                      party.id))
        if state == "approved":
            self.store.append_event("member-approved", self._member_event(
                "member-approved", mid, name, role, state, party.id).data, party=party.id)
        return member, f"{mid}.{secret}"

    def authenticate(self, credential: str) -> Record:
        """The pending or approved member of the open party holding ``credential``.

        Raises:
            Unauthorized: malformed, unknown, wrong, revoked, or the party is closed.
        """
        party = self.current()
        try:
            mid, secret = invites.split_token(credential, "credential")
            member = self.records.get("member", mid)
        except (UsageError, NotFound):
            raise Unauthorized(BAD_CREDENTIAL) from None
        ok = invites.secret_matches(secret, member.data.credential_sha256 or "")
        if not ok or party is None or member.parent != party.id or \
                member.state not in LIVE_MEMBER:
            raise Unauthorized(BAD_CREDENTIAL)
        return member

    def require_role(self, member_id: str, role: str, action: str) -> Record:
        """The approved member ``member_id`` if its role ranks at least ``role``.

        Raises:
            Unauthorized: not an approved member of the open party (any more).
            Forbidden: its role is too low for ``action`` (words, e.g. "submit prompts").
        """
        party = self.current()
        member = self.records.get("member", member_id)
        if party is None or member.parent != party.id or member.state != "approved":
            raise Unauthorized(f"you are not an approved member of an open party, so you "
                               f"cannot {action}")
        if ROLES[member.data.role] < ROLES[role]:
            raise Forbidden(f"a {member.data.role} cannot {action}; only a "
                            f"{' or '.join(r for r, n in ROLES.items() if n >= ROLES[role])}"
                            " can")
        return member

    def member_action(self, ref: str, action: str, role: str | None = None) -> Record:
        """``approve`` (optionally with ``role``), ``deny``, ``kick`` or ``role`` a member.

        Kicking revokes the member's credential and closes its connections; kicking or
        denying also takes the name off the party's auto-approve list.

        Raises:
            NotFound / AmbiguousReference: ``ref`` (id, prefix, name) matches none/several.
            UsageError: unknown action, bad role, or an action on the host.
            InvalidTransition: e.g. approving a kicked member.
        """
        member = self._resolve("member", ref, LIVE_MEMBER)
        if member.data.role == "host":
            raise UsageError("the host cannot be approved, denied, kicked or given a role")
        if action == "approve":
            return self._move(member, "approved", "member-approved",
                              role=check_role(role or member.data.role))
        if action in ("deny", "kick"):
            self._forget_auto_approval(member)
        if action == "deny" or (action == "kick" and member.state == "pending"):
            return self._move(member, "denied", "member-kicked", credential_sha256=None)
        if action == "kick":
            return self._move(member, "kicked", "member-kicked", credential_sha256=None)
        if action == "role":
            return self._set_role(member, check_role(role or ""))
        raise UsageError(f"member action must be approve, deny, kick or role, not {action!r}")

    def _forget_auto_approval(self, member: Record) -> None:
        """A kicked or denied name is no longer approved at once: rejoining with the same
        invite waits for the host again."""
        party = self.records.get("party", member.parent)
        names = party.data.auto_approve
        if member.data.name in names:
            self.records.update("party", party.id, auto_approve=[
                n for n in names if n != member.data.name])

    def leave(self, member_id: str) -> Record:
        """Member ``member_id`` leaves; its credential stops working."""
        return self._move(self.records.get("member", member_id), "left", "member-left",
                          credential_sha256=None)

    def _set_role(self, member: Record, role: str) -> Record:
        if member.state != "approved":
            raise InvalidTransition(f"{member.data.name} is {member.state}; approve with "
                                    "--role instead")
        return self.records.update("member", member.id, role=role, event=self._member_event(
            "member-approved", member.id, member.data.name, role, "approved",
            member.parent))

    def _move(self, member: Record, state: str, event: str, **changes: Any) -> Record:
        role = changes.get("role", member.data.role)
        rec = self.records.transition("member", member.id, state, **changes,
                                      event=self._member_event(event, member.id,
                                                               member.data.name, role,
                                                               state, member.parent))
        self._member_changed.pop(member.id, asyncio.Event()).set()
        if state != "approved":
            self._disconnect(member.id, f"you were {state}" if state != "left" else "left")
        return rec

    @staticmethod
    def _member_event(type_: str, mid: str, name: str, role: str, state: str,
                      party: str | None) -> EventSpec:
        return EventSpec(type_, {"member": mid, "name": name, "role": role, "state": state},
                         party=party)

    async def admitted(self, member_id: str) -> Record:
        """Wait until a pending member is approved; returns it.

        Raises:
            Unauthorized: denied, kicked, left, or the party closed meanwhile.
        """
        while True:
            member = self.records.get("member", member_id)
            party = self.current()
            if party is None or member.parent != party.id or member.state not in LIVE_MEMBER:
                raise Unauthorized(BAD_CREDENTIAL)
            if member.state == "approved":
                return member
            await self._member_changed.setdefault(member_id, asyncio.Event()).wait()

    def attach(self, member_id: str, close: Callable[[str], None]) -> Callable[[], None]:
        """Register a connection of ``member_id``: ``close(reason)`` is called when the
        member is kicked or leaves, or the party closes. Returns the function that
        unregisters it. The first connection and the end of the last one append
        ``member-presence`` (the host's party panel shows who is connected)."""
        sessions = self._sessions.setdefault(member_id, set())
        if not sessions:
            self._presence(member_id, True)
        sessions.add(close)

        def detach() -> None:
            live = self._sessions.get(member_id)
            if live is not None and close in live:
                live.discard(close)
                if not live:
                    self._presence(member_id, False)
        return detach

    def _presence(self, member_id: str, connected: bool) -> None:
        member = self.records.get("member", member_id)
        self.store.append_event("member-presence", {
            "member": member_id, "name": member.data.name, "role": member.data.role,
            "state": member.state, "connected": connected}, party=member.parent)

    def _disconnect(self, member_id: str, why: str) -> None:
        for close in list(self._sessions.pop(member_id, ())):
            close(why)
        changed = self._member_changed.pop(member_id, None)
        if changed is not None:
            changed.set()

    # -- views ------------------------------------------------------------------------
    def connected(self) -> set[str]:
        """Ids of the members with a live party connection now (presence)."""
        return {member_id for member_id, closes in self._sessions.items() if closes}

    def members(self, party: Record) -> list[Record]:
        """Every member record of ``party``, oldest first."""
        return self.records.list("member", parent=party.id)

    def status(self) -> dict[str, Any]:
        """The host's view of the open party (``party_view.host_status``).

        Raises:
            NotFound: no party is open.
        """
        party = self.require()
        prompts = self.prompts(party)
        return host_status(party, self.members(party),
                           self.records.list("invite", parent=party.id), prompts,
                           connected=self.connected(),
                           spent=member_spending(prompts, self._objective_spent))

    def _objective_spent(self, oid: str) -> dict[str, Any] | None:
        try:
            return self.records.get("objective", oid).data.spent
        except NotFound:
            return None

    def guest_status(self, member_id: str) -> dict[str, Any]:
        """What member ``member_id`` may see (``party_view.guest_status``)."""
        party = self.require()
        viewer = self.records.get("member", member_id)
        return guest_status(party, viewer, self.members(party), self.prompts(party))

    def _resolve(self, kind: str, ref: str, prefer: tuple[str, ...] = ()) -> Record:
        party = self.require()
        found = [r for r in self.records.find(kind, ref) if r.parent == party.id]
        if len(found) > 1 and prefer:
            found = [r for r in found if r.state in prefer] or found
        return only(found, kind, ref, "overmind party")
