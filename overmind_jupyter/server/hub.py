"""Who is calling, when the server is a JupyterHub single-user server.

JupyterHub starts the server with ``JUPYTERHUB_USER`` = the owner's hub name and makes
jupyter-server's current user a ``jupyterhub.singleuser.extension.JupyterHubUser``, whose
``hub_user`` dict (the hub's ``/hub/api/user`` model: ``name``, ``kind`` "user" or
"service", ``scopes`` …) names who was authenticated. With JupyterHub 5 sharing (or an
``access:servers`` scope) that can be another hub user than the owner: a *visitor*.

The owner (and, outside JupyterHub, the single Jupyter user) is the host. A visitor is
never the host: ``OvermindAuth`` refuses it on every host route with 403 and reason
``party-member``; the member routes (``member_handlers``) let a visitor who is a hub
*user* take part in the hosted party as a member named after its hub name
(``party.hub``). Nothing here changes outside JupyterHub.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import OvermindError

OWNER_ENV = "JUPYTERHUB_USER"  # set by JupyterHub's spawners in the single-user server
PUBLIC_URL_ENV = "JUPYTERHUB_PUBLIC_URL"  # this server's URL through the hub's proxy, if known
PARTY_MEMBER = "party-member"  # the error reason the UI reads to switch to member mode


@dataclass(frozen=True)
class Visitor:
    """A hub identity other than the server's owner: ``name`` as the hub spells it,
    ``kind`` "user" or "service"."""

    name: str
    kind: str


class NoParty(OvermindError):
    """A member route was called while no party is open (HTTP 409)."""

    reason = "no-party"
    http_status = 409


def server_owner(environ: Mapping[str, str] = os.environ) -> str | None:
    """The hub name of the server's owner, or None when not under JupyterHub."""
    return environ.get(OWNER_ENV) or None


def public_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """This server's public URL through the hub (``JUPYTERHUB_PUBLIC_URL``, set when the
    hub's ``public_url`` is configured), for party invites; None when unknown."""
    return environ.get(PUBLIC_URL_ENV) or None


def visitor_of(user: Any, environ: Mapping[str, str] = os.environ) -> Visitor | None:
    """The ``Visitor`` behind Jupyter user ``user``, or None for the owner / no hub.

    ``user`` is jupyter-server's ``current_user``; only a hub-authenticated one (it has a
    ``hub_user`` dict) on a server with an owner can be a visitor. The owner's own
    services and tokens authenticate as the owner (kind "user", same name).
    """
    owner = server_owner(environ)
    hub_user = getattr(user, "hub_user", None)
    if owner is None or not isinstance(hub_user, dict):
        return None
    name, kind = str(hub_user.get("name", "")), str(hub_user.get("kind", "user"))
    if kind == "user" and name == owner:
        return None
    return Visitor(name, kind)


def host_only_message(visitor: Visitor, environ: Mapping[str, str] = os.environ) -> str:
    """The message of the 403 a visitor gets on a host route."""
    owner = server_owner(environ)
    if visitor.kind != "user":
        return (f"hub {visitor.kind} {visitor.name!r} may not use Overmind on {owner}'s "
                "server: only its owner hosts, and hub users join as party members")
    return (f"this is {owner}'s Overmind; you ({visitor.name}) take part as a party member: "
            "use overmind/api/party/me and overmind/api/party/me/prompts")


def no_party(visitor: Visitor | None, environ: Mapping[str, str] = os.environ) -> NoParty:
    """The error of a member route when no party is open (who to ask, or what to do)."""
    if visitor is None:
        return NoParty("no party is open on this server; host one with `overmind host` or "
                       "the party panel")
    owner = server_owner(environ) or "the server's owner"
    return NoParty(f"no party is open on this server; ask {owner} to host one")
