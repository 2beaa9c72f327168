"""Saved outputs that tell the truth: ``Snapshots`` rewrites a displayed widget's output
when what it shows has changed.

A notebook keeps the output a widget was displayed with (its snapshot as ``text/plain``
and ``text/html``, beside the view) unless the kernel updates that display. So the
magics display each widget with a display id (``Snapshots.show``) and, when events
concern it (``OvermindWidget.concerns``: its objective's state, its missions, its party
…), take its snapshot again and, if it changed, update the display:

- every ``interval_s`` seconds, from the portal's loop (a live frontend replaces the
  output it will save, whichever cell it is in), except widgets people type into
  (``holds_input``: a frontend rebuilds an updated output's view, which would drop a
  half-typed answer or review);
- when a cell ends (``flush``, called by the magics from IPython's ``post_run_cell``, in
  the kernel's thread): executors such as nbclient keep only the messages of the cell
  they are running, so a change seen before the cell ends reaches the saved file.

Each widget is thus rewritten at most once per interval (a frontend rebuilds the view of
an updated output) and once more at its final state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from ..api import EngineAPI
from ..errors import OvermindError
from ..events import Event
from .base import OvermindWidget, Snapshot

log = logging.getLogger("overmind.widgets")
PAGE = 10_000  # the events route's largest page


async def events_after(api: EngineAPI, after: int, objective: str | None = None,
                       mission: str | None = None) -> list[Event]:
    """Every event with ``seq > after`` (of ``objective`` or ``mission``), page by page."""
    out: list[Event] = []
    while True:
        page = await api.events(after=out[-1]["seq"] if out else after, limit=PAGE,
                                objective=objective, mission=mission)
        out.extend(page)
        if len(page) < PAGE:
            return out


async def _latest_seq(api: EngineAPI) -> int:
    """The ``seq`` of the newest event (0: none yet)."""
    newest = await api.events(limit=1, latest=True)
    return newest[-1]["seq"] if newest else 0


Due = list[tuple[OvermindWidget, Snapshot]]
"""Widgets whose snapshot changed, with the new snapshot."""


class Snapshots:
    """The displayed widgets of one magics instance, and their refresh.

    One look at a time (``looking``): a look reads the events since the last one, takes
    the snapshots they concern and rewrites the outputs, so an older snapshot never
    overwrites a newer one. A widget whose snapshot could not be taken stays marked for
    the next look.

    Args:
        api: the engine interface.
        portal: the ``Portal`` running ``api``'s loop.
        interval_s: seconds between two looks from the portal's loop (0: only ``flush``).
    """

    def __init__(self, api: EngineAPI, portal: Any, interval_s: float) -> None:
        self.api, self.portal, self.interval_s = api, portal, interval_s
        self.widgets: list[OvermindWidget] = []
        self.marked: set[OvermindWidget] = set()  # concerned, snapshot not taken yet
        self.cursor = portal.call(_latest_seq, api)  # before any snapshot is taken
        self.looking = threading.Lock()
        self.task: asyncio.Task[None] | None = None

    def show(self, widget: OvermindWidget, into: Any = None) -> None:
        """Display ``widget`` (with a display id; ``into``: in place of that output, a
        ``DisplayHandle``) and keep its output true from now on."""
        widget.show(into)
        self.portal.call(self._track, widget)

    def flush(self) -> None:
        """Rewrite, from the calling thread, the outputs whose snapshot has changed.

        Raises:
            OvermindError: the engine could not be read (the outputs stay as they are).
        """
        if self.widgets:
            with self.looking:
                _rewrite(self.portal.call(self._due))

    def close(self) -> None:
        """Stop looking (the displayed outputs stay as they are)."""
        if self.task is not None:
            with contextlib.suppress(Exception):
                self.portal.call(self._stop)

    async def _track(self, widget: OvermindWidget) -> None:
        """Add ``widget`` (on the loop, which alone changes ``widgets``)."""
        self.widgets.append(widget)
        if self.interval_s > 0 and self.task is None:
            self.task = asyncio.ensure_future(self._run())

    async def _stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.task = None
        self.widgets = []

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if not self.looking.acquire(blocking=False):
                continue  # a cell's end is looking now
            try:
                _rewrite(await self._due(live=True))
            except OvermindError as exc:  # the engine is away: look again later
                log.debug("snapshots not refreshed: %s", exc.message)
            except Exception:  # a failed look must not end the next ones
                log.exception("snapshots not refreshed")
            finally:
                self.looking.release()

    async def _due(self, live: bool = False) -> Due:
        """The live widgets that events since the last look concern, with their new
        snapshot, when it differs from the shown one; ``live`` (the periodic look): not
        those that hold input (they stay marked for the cell's end)."""
        events = await events_after(self.api, self.cursor)
        if events:
            self.cursor = events[-1]["seq"]
        self.widgets = [w for w in self.widgets if w.comm is not None]  # not closed
        concerned = {w for w in self.widgets if any(w.concerns(e) for e in events)}
        self.marked = (self.marked | concerned) & set(self.widgets)
        due: Due = []
        for widget in [w for w in self.widgets if w in self.marked
                       and not (live and w.holds_input)]:
            snapshot = await _capture(widget, self.api)
            if snapshot is not None:
                self.marked.discard(widget)
                if snapshot != widget.snapshot:
                    due.append((widget, snapshot))
        return due


def _rewrite(due: Due) -> None:
    for widget, snapshot in due:
        widget.refresh(snapshot)


async def _capture(widget: OvermindWidget, api: EngineAPI) -> Snapshot | None:
    """``widget``'s snapshot now, or None when it cannot be taken (its mission or change
    went away): the output keeps its last one."""
    try:
        return await widget.capture(api)
    except OvermindError as exc:
        log.debug("no new snapshot of %s: %s", type(widget).__name__, exc.message)
        return None
