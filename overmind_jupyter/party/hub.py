"""Party members who come through JupyterHub: identified by their hub name, no invite.

Under JupyterHub the host's server can be shared with other hub users (JupyterHub 5
sharing, or an ``access:servers`` scope). The hub authenticates them; the server edge
(``server/hub.py``) tells them from the owner, and this module gives each of them one
member record of the open party::

    member  {name, role, source: "hub", hub_user: <exact hub name>}   (no credential)

``name`` is the hub name when it is a valid member name and free, else a variant of it
(``hub_member_name``); ``hub_user`` always keeps the exact hub name, so a hub user finds
the same member again on every request. A hub member cannot authenticate on the guest
routes (it holds no credential), and a kicked or denied one stays out of this party.
"""

from __future__ import annotations

import re

from ..errors import Forbidden
from ..store.records import EventSpec, Record
from .invites import new_id
from .party import LIVE_MEMBER, NAME_RE, Party, check_role

SOURCE = "hub"
_BAD_CHARS = re.compile(r"[^A-Za-z0-9 _.'-]+")


def hub_member_name(hub_user: str, taken: set[str]) -> str:
    """A valid member name (``party.NAME_RE``) for ``hub_user`` not in ``taken``.

    The hub name itself when it is valid and free; otherwise other characters become
    ``-`` (``ann@example.org`` → ``ann-example.org``), it is cut to fit, and ``-hub``,
    ``-hub2``, … is appended until the name is free.
    """
    base = _BAD_CHARS.sub("-", hub_user).lstrip(" _.'-")[:32] or "hub-user"
    if base == hub_user and NAME_RE.fullmatch(base) and base not in taken:
        return base
    for n in range(1, 1000):
        name = f"{base}-hub{n if n > 1 else ''}"
        if name not in taken:
            return name
    raise Forbidden(f"no free member name for hub user {hub_user!r}")  # 1000 variants taken


def find_hub_member(party: Party, party_rec: Record, hub_user: str) -> Record | None:
    """The newest member record of ``party_rec`` for hub user ``hub_user``, if any."""
    found = [m for m in party.members(party_rec)
             if m.data.source == SOURCE and m.data.hub_user == hub_user]
    return found[-1] if found else None


def hub_member(party: Party, hub_user: str, *, role: str = "collaborator",
               need_approval: bool = False) -> Record:
    """The member of the open party for hub user ``hub_user``, registered on first use.

    A new member gets ``role`` and is ``approved`` at once, or ``pending`` (the host
    approves it like an invited guest) when ``need_approval``. Registration appends
    ``member-joined`` (+ ``member-approved``) with ``source: "hub"``. A member who left
    is registered anew.

    Raises:
        NotFound: no party is open.
        Forbidden: the host kicked or denied this hub user in this party.
        UsageError: ``role`` is not collaborator or viewer.
    """
    party_rec = party.require()
    old = find_hub_member(party, party_rec, hub_user)
    if old is not None and old.state in LIVE_MEMBER:
        return old
    if old is not None and old.state in ("kicked", "denied"):
        host = party.records.get("member", party_rec.data.host).data.name
        raise Forbidden(f"{host} removed you ({old.state}) from this party; ask {host} to "
                        "host a new one to take part again")
    return _register(party, party_rec, hub_user, check_role(role), need_approval)


def _register(party: Party, party_rec: Record, hub_user: str, role: str,
              need_approval: bool) -> Record:
    taken = {m.data.name for m in party.records.list("member", parent=party_rec.id,
                                                        states=LIVE_MEMBER)}
    name, mid = hub_member_name(hub_user, taken), new_id("mbr")
    state = "pending" if need_approval else "approved"
    data = {"member": mid, "name": name, "role": role, "state": state, "source": SOURCE}
    member = party.records.insert(
        "member", mid, state, {"name": name, "role": role, "source": SOURCE,
                               "hub_user": hub_user},
        parent=party_rec.id, event=EventSpec("member-joined", data, party=party_rec.id))
    if state == "approved":
        party.store.append_event("member-approved", data, party=party_rec.id)
    return member
