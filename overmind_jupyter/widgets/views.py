"""The widget classes: mission table, log view, questions inbox.

Each is an ``OvermindWidget`` whose ``view`` trait selects the component of the shared
bundle; ``for_command`` builds the widget of a parsed ``%overmind`` command and takes its
first snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from traitlets import Bool, Int, Unicode

from ..api import EngineAPI
from ..events import Event
from .ansi import strip_ansi
from .base import OvermindWidget, Shown, Snapshot, command_snapshot
from .changes import changes_widget, diff_widget
from .party import invite_widget, party_widget
from .tree import objective_widget, prompt_widget


class MissionTable(OvermindWidget):
    """``%overmind ps``: live missions (``all``: ended ones too), children under parents,
    stop / kill / logs per row."""

    view = Unicode("missions").tag(sync=True)
    all = Bool(False).tag(sync=True)

    async def capture(self, api: EngineAPI) -> Snapshot:
        """The table of ``ps [--all]``."""
        return await command_snapshot(api, ["ps", "--all"] if self.all else ["ps"])

    def concerns(self, event: Event) -> bool:
        """Missions created, changing status, restarting …"""
        return event["type"].startswith("mission-")


class LogView(OvermindWidget):
    """``%overmind logs ID -f``: follows a mission's output (ANSI colours, search, pause).

    ``mission``: the mission id; ``max_lines``: lines kept in the view; ``tail``: lines
    in the snapshot.
    """

    view = Unicode("logs").tag(sync=True)
    mission = Unicode("").tag(sync=True)
    max_lines = Int(5000).tag(sync=True)
    tail = Int(10)

    async def capture(self, api: EngineAPI) -> Snapshot:
        """The last ``tail`` lines of the mission's output, escapes stripped.

        Raises:
            NotFound: the mission went away.
        """
        return Snapshot(strip_ansi(await api.logs(self.mission, self.tail)))

    def concerns(self, event: Event) -> bool:
        """Its mission's status (its last lines once it has ended)."""
        return event["mission"] == self.mission and event["type"] == "mission-status"


class QuestionsInbox(OvermindWidget):
    """``%overmind questions``: open questions, answered in place."""

    holds_input = True  # a review or an answer being typed survives the live pass

    view = Unicode("questions").tag(sync=True)

    async def capture(self, api: EngineAPI) -> Snapshot:
        """The list of ``questions``."""
        return await command_snapshot(api, ["questions"])

    def concerns(self, event: Event) -> bool:
        """Questions asked and answered."""
        return event["type"].startswith("question-")


Built = Shown
Builder = Callable[[Any, Any], Awaitable[Built]]


async def _logs(api: EngineAPI, args: Any) -> Built:
    if not args.follow:
        return None
    info = await api.info(args.id)
    return LogView, {"mission": info["id"], "title": f"logs of {info['name']}",
                     "tail": 10 if args.tail is None else args.tail}


async def _ps(api: EngineAPI, args: Any) -> Built:
    return MissionTable, {"all": args.all}


async def _questions(api: EngineAPI, args: Any) -> Built:
    return QuestionsInbox, {}


# the widget of each command that has one: (api, parsed args) → (class, traits) or None
WIDGETS: dict[str, Builder] = {"ps": _ps, "logs": _logs, "questions": _questions,
                               "host": invite_widget, "party": party_widget,
                               "prompt": prompt_widget,
                               "objectives": objective_widget,
                               "diff": diff_widget, "changes": changes_widget}


async def _widget_args(api: EngineAPI, args: Any) -> Built:
    """The widget class and arguments of a parsed command (runs on the portal's loop)."""
    builder = WIDGETS.get(args.cmd)
    if builder is None or getattr(args, "json", False):
        return None
    return await builder(api, args)


def for_command(api: EngineAPI, args: Any, portal: Any) -> OvermindWidget | None:
    """The widget showing a parsed command, with its first snapshot, or None when it has
    none (``--json``, plain ``logs`` without ``-f``, other commands). The engine is
    queried on ``portal``'s loop; the widget (and its comm) is made on the calling
    thread, the kernel's.

    Raises:
        OvermindError: as the command itself would (unknown mission …).
    """
    found = portal.call(_widget_args, api, args)
    if found is None:
        return None
    cls, kwargs = found
    widget = cls(api=api, portal=portal, **kwargs)
    try:
        widget.snapshot = portal.call(widget.capture, api)
    except BaseException:
        widget.close()
        raise
    return widget
