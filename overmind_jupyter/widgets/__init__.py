"""Live widget views of Overmind (anywidget), returned by the ``%overmind`` magics.

``MissionTable`` (``ps``), ``LogView`` (``logs ID -f``) and ``QuestionsInbox``
(``questions``) share one ESM bundle built from ``labextension/src/``; ``for_command``
builds the widget of a parsed command.
"""

from __future__ import annotations

from .ansi import strip_ansi
from .base import OvermindWidget
from .views import LogView, MissionTable, QuestionsInbox, for_command

__all__ = ["LogView", "MissionTable", "OvermindWidget", "QuestionsInbox", "for_command",
           "strip_ansi"]
