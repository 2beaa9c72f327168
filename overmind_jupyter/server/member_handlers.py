"""Member routes of the host API: the caller takes part in the hosted party as a member.

Under JupyterHub these are the only Overmind routes a hub visitor (a hub user other than
the server's owner, see ``hub.py``) reaches; the visitor is the member named after its
hub name (``party.hub``: registered on its first call while a party is open,
role ``c.Overmind.hub_member_role``, approved at once unless
``c.Overmind.hub_members_need_approval``). The owner (or, outside JupyterHub, the single
Jupyter user) may call them too and is then the party's host member. Routes (relative to
``overmind/api/``):

- ``GET party/me`` → the caller's view of the party, the same JSON as the guests'
  ``GET overmind/party/status`` (``Party.guest_status``).
- ``POST party/me/prompts`` body ``{"text"}`` → 201 the prompt as the caller sees it,
  queued as the caller (a viewer gets 403; a pending member 401 until approved).

With no party open both answer 409 ``no-party`` naming whom to ask.
"""

from __future__ import annotations

from ..api import MemberPromptBody
from ..errors import Forbidden
from ..party.hub import hub_member
from ..party.party import Party
from ..party.view import prompt_view
from ..store.records import Record
from . import hub
from .base import OvermindHandler, endpoint


class MemberRoute(OvermindHandler):
    """Base of the member routes: hub visitors allowed; ``me()`` is the caller's member."""

    hub_members_allowed = True

    @property
    def party(self) -> Party:
        """The engine's party."""
        return self.engine.party

    def me(self) -> Record:
        """The caller's member record in the open party (a visitor's is made on first use).

        Raises:
            NoParty: no party is open. Forbidden: a hub service, or a kicked visitor.
        """
        current = self.party.current()
        visitor = self.hub_visitor
        if current is None:
            raise hub.no_party(visitor)
        if visitor is None:
            return self.party.records.get("member", current.data.host)
        if visitor.kind != "user":
            raise Forbidden(hub.host_only_message(visitor))
        app = self.settings["overmind_app"]
        return hub_member(self.party, visitor.name, role=app.hub_member_role,
                          need_approval=app.hub_members_need_approval)


class MeHandler(MemberRoute):
    """``GET party/me``: the caller's view of the party."""

    @endpoint
    async def get(self) -> None:
        self.send_json(self.party.guest_status(self.me().id))


class MyPromptsHandler(MemberRoute):
    """``POST party/me/prompts``: a prompt queued as the caller."""

    @endpoint
    async def post(self) -> None:
        text = self.body(MemberPromptBody).text
        member = self.me()
        self.send_json(prompt_view(self.party.submit_prompt(member.id, text), member.id), 201)


MEMBER_ROUTES = [("party/me", MeHandler), ("party/me/prompts", MyPromptsHandler)]
