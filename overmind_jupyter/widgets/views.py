"""The widget classes: mission table, log view, questions inbox.

Each is an ``OvermindWidget`` whose ``view`` trait selects the component of the shared
bundle; ``for_command`` builds the widget of a parsed ``%overmind`` command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from traitlets import Bool, Int, Unicode

from .. import commands
from ..api import EngineAPI
from .ansi import strip_ansi
from .base import OvermindWidget, Shown
from .changes import changes_widget, diff_widget
from .party import party_widget
from .tree import objective_widget, prompt_widget


class MissionTable(OvermindWidget):
    """``%overmind ps``: live missions (``all``: ended ones too), children under parents,
    stop / kill / logs per row."""

    view = Unicode("missions").tag(sync=True)
    all = Bool(False).tag(sync=True)


class LogView(OvermindWidget):
    """``%overmind logs ID -f``: follows a mission's output (ANSI colours, search, pause).

    ``mission``: the mission id; ``max_lines``: lines kept in the view.
    """

    view = Unicode("logs").tag(sync=True)
    mission = Unicode("").tag(sync=True)
    max_lines = Int(5000).tag(sync=True)


class QuestionsInbox(OvermindWidget):
    """``%overmind questions``: open questions, answered in place."""

    view = Unicode("questions").tag(sync=True)


Built = Shown
Builder = Callable[[Any, Any], Awaitable[Built]]


async def _logs(api: EngineAPI, args: Any) -> Built:
    if not args.follow:
        return None
    info = await api.info(args.id)
    tail = await api.logs(info["id"], 10 if args.tail is None else args.tail)
    return LogView, {"mission": info["id"], "title": f"logs of {info['name']}",
                     "snapshot_text": strip_ansi(tail)}


async def _ps(api: EngineAPI, args: Any) -> Built:
    result = await commands.execute(api, args, None)
    return MissionTable, {"all": args.all, "snapshot_text": result.text,
                          "snapshot_html": result.html}


async def _questions(api: EngineAPI, args: Any) -> Built:
    result = await commands.execute(api, args, None)
    return QuestionsInbox, {"snapshot_text": result.text, "snapshot_html": result.html}


# the widget of each command that has one: (api, parsed args) → (class, traits) or None
WIDGETS: dict[str, Builder] = {"ps": _ps, "logs": _logs, "questions": _questions,
                               "party": party_widget, "prompt": prompt_widget,
                               "objectives": objective_widget,
                               "diff": diff_widget, "changes": changes_widget}


async def _widget_args(api: EngineAPI, args: Any) -> Built:
    """The widget class and arguments of a parsed command (runs on the portal's loop)."""
    builder = WIDGETS.get(args.cmd)
    if builder is None or getattr(args, "json", False):
        return None
    return await builder(api, args)


def for_command(api: EngineAPI, args: Any, portal: Any) -> OvermindWidget | None:
    """The widget showing a parsed command, or None when it has none (``--json``, plain
    ``logs`` without ``-f``, other commands). The engine is queried on ``portal``'s loop;
    the widget (and its comm) is made on the calling thread, the kernel's.

    Raises:
        OvermindError: as the command itself would (unknown mission …).
    """
    found = portal.call(_widget_args, api, args)
    if found is None:
        return None
    widget, kwargs = found
    return widget(api=api, portal=portal, **kwargs)
