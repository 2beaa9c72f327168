"""The party widget of ``%overmind party``, ``host`` and ``party invite``: the host's live
party panel.

The view (``labextension/src/components/party.ts``) shows members with role and
presence, the prompt queue (approve / deny / reorder / share) and invites; its snapshot
is the text of ``overmind party`` (taken again when the party changes), or a hint when no
party is hosted or joined.

``host`` and ``party invite`` make an invite whose secret the engine gives only once. In
a notebook it must not land in a saved output, so the panel keeps it (``NewInvite``) and
hands it to its live view only: the view asks ``{type: "reveal"}`` over the widget's comm
and shows ``{type: "revealed", invite}`` with a copy button. Neither the snapshot nor the
widget's state holds it (``reveals`` only says there is one).
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from traitlets import Bool, Unicode

from .. import commands
from ..api import EngineAPI
from ..commands import render
from ..errors import UsageError
from ..events import Event
from .base import OvermindWidget, Shown, Snapshot, command_snapshot

NO_PARTY = ("no party here: `%overmind host` (or the palette's Overmind: Host party) "
            "opens one\n")


@dataclasses.dataclass(frozen=True, repr=False)
class NewInvite:
    """A new invite as ``host`` / ``party invite`` return it.

    Attributes:
        invite: the invite string, secret included (``overmind+URL#code.secret``).
        name: its code (public).
        role: ``collaborator`` or ``viewer``.
        created_at: when it was made (epoch s).
        expires_at: when it stops working (epoch s).
    """

    invite: str
    name: str
    role: str
    created_at: float
    expires_at: float

    @classmethod
    def of(cls, data: dict[str, Any]) -> NewInvite:
        """From the engine's answer (``invite``, ``name``, ``role``, ``created_at``,
        ``expires_at``; other keys ignored)."""
        return cls(str(data["invite"]), str(data["name"]), str(data["role"]),
                   float(data["created_at"]), float(data["expires_at"]))

    def note(self) -> str:
        """One line about the invite, without its secret."""
        valid = render.age(round(self.expires_at - self.created_at))
        return (f"invite {self.name} ({self.role}, valid {valid}): its secret shows in the "
                "live panel only, never in the saved notebook (for code: `%%capture` the "
                "command with `--json`)\n")

    def wire(self) -> dict[str, Any]:
        """What the view's ``showInvite`` takes."""
        return {"invite": self.invite, "name": self.name, "role": self.role,
                "expires_at": self.expires_at}

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"NewInvite(name={self.name!r}, role={self.role!r}, invite=…)"


class PartyPanel(OvermindWidget):
    """``%overmind party``: members, prompt queue and invites of the hosted party, live.

    Args:
        invite: a new invite to reveal in the live view (``host``, ``party invite``).
        **kwargs: as ``OvermindWidget``.
    """

    view = Unicode("party").tag(sync=True)
    reveals = Bool(False).tag(sync=True)

    def __init__(self, *, invite: NewInvite | None = None, **kwargs: Any) -> None:
        super().__init__(reveals=invite is not None, **kwargs)
        self.invite = invite
        self.on_msg(self._on_reveal)

    def _on_reveal(self, widget: Any, content: Any, buffers: Any) -> None:
        if content == {"type": "reveal"} and self.invite is not None:
            self.send({"type": "revealed", "invite": self.invite.wire()})

    async def capture(self, api: EngineAPI) -> Snapshot:
        """The new invite's note (no secret), then the text of ``party``, or ``NO_PARTY``."""
        note = self.invite.note() if self.invite is not None else ""
        try:
            party = await command_snapshot(api, ["party"])
        except UsageError:  # no party yet: the panel still shows (and fills once one opens)
            return Snapshot(note + NO_PARTY)
        return Snapshot(note + party.text, _html(note) + (party.html or ""))

    def concerns(self, event: Event) -> bool:
        """Every party event (members, invites, prompts)."""
        return event["party"] is not None


def _html(note: str) -> str:
    return f"<p>{html.escape(note)}</p>" if note else ""


async def party_widget(api: EngineAPI, args: Any) -> Shown:
    """The panel of plain ``party``, and of ``party invite`` (``invite_widget``); the
    other actions print a line."""
    action = getattr(args, "party_cmd", None)
    if action == "invite":
        return await invite_widget(api, args)
    return (PartyPanel, {}) if action is None else None


async def invite_widget(api: EngineAPI, args: Any) -> Shown:
    """``host`` or ``party invite`` run as the command runs them, then the panel revealing
    the new invite (the command's text, which holds the secret, is never shown)."""
    result = await commands.execute(api, args, None)
    return PartyPanel, {"invite": NewInvite.of(result.data)}
