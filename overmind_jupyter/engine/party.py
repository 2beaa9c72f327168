"""The engine's party service (``PartyService``; ``client.Client`` mirrors its methods).

Host side: ``host`` opens a party on this server and returns its first invite string;
``invite``, ``revoke_invite``, ``member_action``, ``prompt_action`` and ``close_party``
manage it (domain: ``party.party.Party``). Guest side: ``join``
opens a ``PartyLink`` to a host (this or another server) under a member name; one engine
may hold several such identities, so ``party_prompt`` and ``leave`` take ``member`` (the
name) when more than one is joined. Events a link receives are appended to this
engine's store with ``party`` set and ``data.mirror = {seq, via, host}`` (the host's
seq, the local member name, the host URL), so local UIs show them; a host never sends
mirrored events back to guests. Every method is async and returns JSON-ready dicts.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import NotAvailable, NotFound, UsageError
from ..events import Event
from ..model import PromptOptions
from ..party.invites import DEFAULT_TTL_S, Invite, parse_invite
from ..party.link import PartyLink
from ..party.party import NAME_RE, Party, check_name
from ..party.view import member_row, public
from ..store import Store


class PartyService:
    """The party hosted by one engine and the parties it joined (see the module docstring).

    Args:
        party: the hosted party (domain object).
        store: where mirrored guest-side events are appended.
        server_url: returns the URL guests reach this server at, for invites
            (``Settings.party_url``, e.g. behind a proxy, else the one the server
            extension listens at); None outside a Jupyter server.

    Attributes:
        links: joined parties of this engine by local member name.
    """

    def __init__(self, party: Party, store: Store,
                 server_url: Callable[[], str | None]) -> None:
        self.party, self.store, self.server_url = party, store, server_url
        self.links: dict[str, PartyLink] = {}

    def joined(self) -> bool:
        """Whether this engine joined some party (ended links included)."""
        return bool(self.links)

    def close(self) -> None:
        """Close every party link (the engine is stopping)."""
        for link in self.links.values():
            link.close()

    # -- host side ----------------------------------------------------------------------
    async def host(self, name: str | None = None, auto_approve: Iterable[str] = (),
                   auto_approve_prompts: bool = False, auto_merge: bool = False
                   ) -> dict[str, Any]:
        """Open a party here; returns ``{party, host, invite, code, expires_at, …}``.
        ``auto_merge``: the party's prompts land their changes without review unless a
        prompt asks for review (default: they wait for a reviewer).

        Raises:
            NotAvailable: no server URL (not inside a Jupyter server).
            InvalidTransition: a party is open already. UsageError: a bad name.
        """
        self._invite_url()
        party, host = self.party.open(name or _login_name(), auto_approve,
                                      auto_approve_prompts, auto_merge)
        return {"party": public(party), "host": member_row(host), **await self.invite()}

    async def invite(self, ttl_s: float = DEFAULT_TTL_S,
                     role: str = "collaborator") -> dict[str, Any]:
        """A new invite: ``{invite: "overmind+URL#code.secret", id, name (the code),
        role, expires_at (epoch s), state}``; the string is never shown again.

        Raises:
            NotFound: no party is open. UsageError: ``ttl_s`` (s) or ``role``.
        """
        url = self._invite_url()
        rec, secret = self.party.create_invite(ttl_s, role)
        return {"invite": str(Invite(url, rec.data.name, secret)), **public(rec)}

    async def revoke_invite(self, ref: str) -> dict[str, Any]:
        """Revoke an invite by id, id prefix or code."""
        return public(self.party.revoke_invite(ref))

    async def member_action(self, ref: str, action: str,
                            role: str | None = None) -> dict[str, Any]:
        """``approve`` (with an optional ``role``), ``deny``, ``kick`` or ``role``."""
        return public(self.party.member_action(ref, action, role))

    async def prompt_action(self, ref: str, action: str,
                            position: int | None = None) -> dict[str, Any]:
        """``approve``, ``deny``, ``share`` or ``move`` (to ``position``, 0 = first)."""
        return public(self.party.prompt_action(ref, action, position))

    async def close_party(self) -> dict[str, Any]:
        """Close the hosted party: invites revoked, guests disconnected."""
        return public(self.party.close())

    async def party_status(self) -> dict[str, Any]:
        """``{hosting: host view | None, joined: [link status …]}``."""
        hosting = self.party.status() if self.party.current() is not None else None
        return {"hosting": hosting,
                "joined": [await link.status() for link in self.links.values()]}

    def _invite_url(self) -> str:
        url = self.server_url()
        if not url:
            raise NotAvailable("hosting a party needs the Jupyter server extension (guests "
                               "connect to the server): run `overmind start` or use "
                               "JupyterLab")
        return url if url.endswith("/") else url + "/"

    # -- guest side ---------------------------------------------------------------------
    async def join(self, invite: str, name: str) -> dict[str, Any]:
        """Join the party of ``invite`` as ``name``; returns the link's ``info``.

        Raises:
            UsageError: bad invite string or name, or ``name`` already joined here.
            Unauthorized / RateLimited / EngineUnavailable: the host refused or is away.
        """
        parsed, name = parse_invite(invite), check_name(name)
        old = self.links.get(name)
        if old is not None and not old.info["ended"]:
            raise UsageError(f"already joined as {name!r}; `overmind party leave --as "
                             f"{name}` first")
        link = PartyLink(parsed, name, lambda events: self._mirror(name, parsed.url, events))
        info = await link.join()
        self.links[name] = link
        return info

    async def party_prompt(self, text: str, member: str | None = None,
                           agent: str | None = None) -> dict[str, Any]:
        """Submit a prompt: through the link of joined ``member`` (or the only one), else
        to the party hosted here as the host (approved at once). ``agent``: which of the
        host's configured agents runs its tasks (None: the host's default).

        Raises:
            NotFound: no party hosted or joined. UsageError: several joined, no ``member``;
                an agent the host does not have. Forbidden: a viewer's prompt.
        """
        link = self._link(member, required=False)
        if link is not None:
            return await link.prompt(text, agent)
        party = self.party.current()
        if party is None:
            raise NotFound("no party: `overmind host` opens one, `overmind join INVITE "
                           "--name NAME` joins one")
        return public(self.party.submit_prompt(party.data.host, text, PromptOptions(agent)))

    async def party_review(self, action: str, change: str, text: str | None = None,
                           member: str | None = None) -> dict[str, Any]:
        """As a reviewer of a joined party (``member``: which joined name): ``merge``,
        ``close`` or ``request-changes`` (``text``: what to change) a change of an
        objective that member follows; the host's answer as the host's review gives it.

        Raises:
            NotFound: no party joined, or no such change among those it follows.
            Forbidden: the member is not a reviewer. UsageError: several joined and no
                ``member``; a merged or closed change; empty requested changes.
        """
        link = self._link(member, required=True)
        assert link is not None  # required
        frame = {"merge": "merge", "close": "close-change",
                 "request-changes": "request-changes"}[action]
        return await link.review(frame, change, text)

    async def leave(self, member: str | None = None) -> dict[str, Any]:
        """Leave a joined party (``member``: the local name, needed if several)."""
        link = self._link(member, required=True)
        assert link is not None  # required
        self.links.pop(link.name, None)
        return await link.leave()

    def _link(self, member: str | None, required: bool) -> PartyLink | None:
        live = {n: lk for n, lk in self.links.items() if not lk.info["ended"]}
        if member is not None:
            if member not in self.links:
                raise NotFound(f"not joined as {member!r}; joined as: "
                               f"{', '.join(self.links) or 'nobody'}")
            return self.links[member]
        if len(live) > 1:
            raise UsageError(f"joined as several members ({', '.join(live)}); say which "
                             "with --as NAME")
        if not live and required:
            raise NotFound("this engine has not joined a party; `overmind join INVITE "
                           "--name NAME`")
        return next(iter(live.values()), None)

    def _mirror(self, name: str, host: str, events: list[Event]) -> None:
        """Append the host's events here, marked ``data.mirror``; an objective's events
        (and its agents') keep their objective and mission ids and are filed under the
        link's party, so a party view here shows the objectives the guest follows."""
        if self.store.closed:
            return  # the engine is closing
        party = (self.links[name].info.get("party") or {}).get("id") \
            if name in self.links else None
        for e in events:
            self.store.append_event(e["type"], {**e["data"], "mirror": {
                "seq": e["seq"], "via": name, "host": host}}, party=e["party"] or party,
                objective=e.get("objective"), mission=e.get("mission"))


def _login_name() -> str:
    """The host's default member name: the JupyterHub owner's hub name under a hub (the
    login there is a shared account such as ``jovyan``), else the login name."""
    try:
        name = os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
    except (OSError, KeyError):
        return "host"
    return name if NAME_RE.fullmatch(name) else "host"
