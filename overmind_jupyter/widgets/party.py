"""The party widget of ``%overmind party``: the host's live party panel.

The view (``labextension/src/components/party.ts``) shows members with role and
presence, the prompt queue (approve / deny / reorder / share) and invites; its snapshot
is the text of ``overmind party``, or a hint when no party is hosted or joined.
"""

from __future__ import annotations

from typing import Any

from traitlets import Unicode

from .. import commands
from ..api import EngineAPI
from ..errors import UsageError
from .base import OvermindWidget, Shown

NO_PARTY = ("no party here: `%overmind host` (or the palette's Overmind: Host party) "
            "opens one\n")


class PartyPanel(OvermindWidget):
    """``%overmind party``: members, prompt queue and invites of the hosted party, live."""

    view = Unicode("party").tag(sync=True)


async def party_widget(api: EngineAPI, args: Any) -> Shown:
    """The panel of plain ``party`` (its actions, e.g. ``party invite``, have none)."""
    if getattr(args, "party_cmd", None) is not None:
        return None
    try:
        result = await commands.execute(api, args, None)
    except UsageError:  # no party yet: the panel still shows (and fills once one opens)
        return PartyPanel, {"snapshot_text": NO_PARTY}
    return PartyPanel, {"snapshot_text": result.text, "snapshot_html": result.html}
