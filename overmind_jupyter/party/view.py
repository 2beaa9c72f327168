"""What each member of a party may see: redaction of records and events.

Visibility rule (DESIGN.md invariant): a prompt's text and its run's detail reach only
its submitter and the host, unless the host shares it. It is carried by the data itself:

- a record or event whose ``data.visibility == "private"`` belongs to ``data.member``
  (the submitter's member id). Everybody else gets only the ``PUBLIC_FIELDS`` of it
  (that it exists, who submitted it, its status and place in the queue).
- ``visibility == "shared"`` (after the host shares it) or no ``visibility``: everybody.

The host's own views (REST, ``/overmind/api/events``) are never redacted. Events that
other components append for a prompt's run can opt into the rule by setting
``party``, ``data.member`` and ``data.visibility``. Guests never see invites, and
never see the events a guest engine mirrors into its own store (``data.mirror``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..events import Event
from ..store.records import Record

PUBLIC_FIELDS = frozenset({"id", "member", "name", "status", "state", "previous", "position",
                           "visibility", "parent", "created_at", "updated_at", "role",
                           "outcome"})
HIDDEN_EVENT_PREFIXES = ("invite-",)


def public(rec: Record) -> dict[str, Any]:
    """``rec.to_dict()`` without stored hashes (keys ending in ``_sha256``)."""
    return {k: v for k, v in rec.to_dict().items() if not k.endswith("_sha256")}


def visible_data(data: dict[str, Any], viewer_id: str, is_host: bool = False) -> dict[str, Any]:
    """``data`` as ``viewer_id`` may see it (see the module docstring)."""
    if is_host or data.get("visibility") != "private" or data.get("member") == viewer_id:
        return data
    return {k: v for k, v in data.items() if k in PUBLIC_FIELDS}


def prompt_view(rec: Record, viewer_id: str, is_host: bool = False) -> dict[str, Any]:
    """One prompt record as ``viewer_id`` may see it."""
    return visible_data(public(rec), viewer_id, is_host)


def event_view(event: Event, viewer_id: str) -> Event | None:
    """A party event as guest ``viewer_id`` may see it, or None if hidden from guests."""
    data = event["data"]
    if "mirror" in data or event["type"].startswith(HIDDEN_EVENT_PREFIXES):
        return None
    shown = visible_data(data, viewer_id)
    return event if shown is data else {**event, "data": shown}


def member_row(rec: Record) -> dict[str, Any]:
    """What any member sees of a member: ``{id, name, role, state}``."""
    return {"id": rec.id, "name": rec.data.name, "role": rec.data.role,
            "state": rec.state}


def _presence(member: Record, connected: set[str]) -> bool | None:
    if member.data.source == "hub" or member.data.role == "host":
        return None
    return member.id in connected


def host_status(party: Record, members: list[Record], invites: list[Record],
                prompts: list[Record], connected: set[str] = frozenset(),
                spent: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The host's view: ``{party, members, invites, queue, prompts}`` (no secrets).

    ``queue`` holds queued prompts in queue order; ``prompts`` every prompt, oldest first.
    Each member carries ``connected``: whether its id is in ``connected`` (a live party
    websocket), or None for the host and hub members, who use REST (presence unknown),
    and ``spent``: its share of its objectives' model use (``member_spending``).
    """
    shares = spent or {}
    return {"party": public(party),
            "members": [{**public(m), "connected": _presence(m, connected),
                         "spent": shares.get(m.id, {"tokens": 0, "cost_usd": 0.0})}
                        for m in members],
            "invites": [public(i) for i in invites],
            "queue": [public(p) for p in prompts if p.state == "queued"],
            "prompts": [public(p) for p in prompts]}


def guest_status(party: Record, viewer: Record, members: list[Record],
                 prompts: list[Record]) -> dict[str, Any]:
    """A guest's view: ``{party: {id, name, state}, me, members, queue, prompts}``.

    Only approved members are listed; other members' private prompts are redacted.
    """
    return {"party": {"id": party.id, "name": party.data.name, "state": party.state},
            "me": member_row(viewer),
            "members": [member_row(m) for m in members if m.state == "approved"],
            "queue": [prompt_view(p, viewer.id) for p in prompts if p.state == "queued"],
            "prompts": [prompt_view(p, viewer.id) for p in prompts]}


def member_spending(prompts: list[Record], spent_of: Callable[[str], dict[str, Any] | None]
                    ) -> dict[str, dict[str, Any]]:
    """Each member's share of the model use of the objectives its prompts joined:
    ``{member id: {"tokens", "cost_usd"}}`` (tokens; USD). An objective made of several
    members' prompts is split equally among them, so the shares add up to the objectives'
    totals. ``spent_of(objective id)``: its ``spent`` (None: gone)."""
    members_of: dict[str, set[str]] = {}
    for p in prompts:
        if p.data.objective:
            members_of.setdefault(p.data.objective, set()).add(p.data.member)
    out: dict[str, dict[str, Any]] = {}
    for oid, members in members_of.items():
        spent = spent_of(oid) or {}
        for member in members:
            share = out.setdefault(member, {"tokens": 0, "cost_usd": 0.0})
            share["tokens"] += round((spent.get("tokens") or 0) / len(members))
            share["cost_usd"] += (spent.get("cost_usd") or 0.0) / len(members)
    return out
