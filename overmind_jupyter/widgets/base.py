"""The base of every Overmind widget: an anywidget view plus a static snapshot.

The view (``static/overmind.js``, built from ``labextension/src/widget.ts``) fetches its
state and follows the event websocket of the Jupyter server serving the page, so it stays
live while the kernel is busy and survives reconnects. With an engine embedded in the
kernel it talks through the widget's comm instead (``bridge.py``).

Every widget also carries a ``Snapshot`` of what it shows, as ``text/plain`` and
``text/html`` beside the widget view in its mimebundle, so nbconvert, nbval, GitHub and
frontends without a widget manager still show something meaningful. It is displayed with
a display id and taken again when the data it shows changes (``snapshots.Snapshots``),
so the saved output holds the last state, not the first.

Its comm opens outside the cell's request (``open``): executors that save widget state
(nbclient, hence ``nbconvert --execute`` and papermill) record the state that a cell's
messages carry, and a saved state makes nbconvert render the widget view, which shows
nothing without a kernel, instead of the snapshot. The view is live-only, so its state
is not worth saving.
"""

from __future__ import annotations

import contextvars
import dataclasses
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
from IPython import get_ipython
from IPython.display import DisplayHandle, display
from traitlets import CaselessStrEnum, Unicode

from .. import commands
from ..api import EngineAPI
from ..commands import Result
from ..events import Event
from .bridge import Bridge

STATIC = Path(__file__).parent / "static"


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A widget's static rendering, for places with no widget manager.

    Attributes:
        text: plain text (``text/plain``).
        html: escaped HTML (``text/html``), or None to show ``text`` in a ``<pre>``.
    """

    text: str
    html: str | None = None

    @classmethod
    def of(cls, result: Result) -> Snapshot:
        """The snapshot of a command's result (its text and HTML)."""
        return cls(result.text, result.html)

    def bundle(self) -> dict[str, str]:
        """``{"text/plain": …, "text/html": …}``."""
        return {"text/plain": self.text, "text/html": self.html or _pre(self.text)}


async def command_snapshot(api: EngineAPI, argv: list[str]) -> Snapshot:
    """The snapshot of the command ``argv`` (``["ps", "--all"]`` …): its text and HTML.

    Raises:
        OvermindError: as the command would (``party`` with no party: ``UsageError`` …).
    """
    return Snapshot.of(await commands.execute(api, commands.parse(argv), None))


class OvermindWidget(anywidget.AnyWidget):
    """A live Overmind view with a static snapshot.

    Subclasses say how their snapshot is taken (``capture``) and which events may change
    it (``concerns``); ``views.for_command`` takes the first one.

    Args:
        api: the engine interface the magics use (``Engine`` or ``Client``); serves the
            comm fallback. None: the view can only use the page's Jupyter server.
        portal: the ``Portal`` whose loop runs ``api``'s coroutines.
        **traits: trait values (``mission``, ``all`` …).
    """

    _esm = STATIC / "overmind.js"
    _css = STATIC / "overmind.css"
    holds_input = False  # a view people type into: rewritten when a cell ends, not live
    view = Unicode("missions").tag(sync=True)
    mode = CaselessStrEnum(["server", "embedded"], "server").tag(sync=True)
    title = Unicode("").tag(sync=True)

    def __init__(self, *, api: EngineAPI | None = None, portal: Any = None,
                 **traits: Any) -> None:
        if api is not None and getattr(api, "mode", "server") == "embedded":
            traits.setdefault("mode", "embedded")
        super().__init__(**traits)
        self.snapshot = Snapshot("")
        self.handle: DisplayHandle | None = None
        self.bridge = Bridge(self, api, portal) if api is not None and portal else None

    async def capture(self, api: EngineAPI) -> Snapshot:
        """The snapshot of what this widget shows now (this base: the current one).

        Raises:
            OvermindError: as the command it shows would (unknown mission …).
        """
        return self.snapshot

    def concerns(self, event: Event) -> bool:
        """Whether ``event`` may change this widget's snapshot (this base: never)."""
        return False

    def open(self) -> None:
        """Open the comm, outside the current request (see the module docstring)."""
        _outside_request(super().open)

    def show(self, into: DisplayHandle | None = None) -> None:
        """Display the widget with a display id, so ``refresh`` can rewrite the output;
        ``into``: the output shown while it was being made (it becomes the widget)."""
        if into is None:
            self.handle = display(self, display_id=True)
        else:
            self.handle = into
            into.update(self)

    def refresh(self, snapshot: Snapshot) -> bool:
        """Take ``snapshot`` as this widget's snapshot; when it differs and the widget is
        shown, rewrite the displayed output (``update_display``: frontends and executors
        replace the output they keep, the view included). True when it differed."""
        changed = snapshot != self.snapshot
        self.snapshot = snapshot
        if changed and self.handle is not None:
            self.handle.update(self)
        return changed

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view plus the snapshot as ``text/plain`` and ``text/html``."""
        data = super()._repr_mimebundle_(**kwargs)
        bundle, metadata = data if isinstance(data, tuple) else (data, {})
        if bundle is None:
            return data
        plain = bundle.get("text/plain", "")
        bundle.update(self.snapshot.bundle())
        bundle["text/plain"] = self.snapshot.text or plain
        return (bundle, metadata) if isinstance(data, tuple) else bundle

    def close(self) -> None:
        """Stop the comm fallback's tasks, then close the widget."""
        if self.bridge is not None:
            self.bridge.close()
        super().close()


def _outside_request(open_comm: Callable[[], None]) -> None:
    """Run ``open_comm`` with no request as the parent of the messages it sends.

    In an ipykernel whose shell parent is a context variable (7 and later) the comm_open
    then carries an empty parent header: frontends open the model as for any comm, and
    executors, which keep only the messages of the cell they run, record none of its
    state. Elsewhere (no kernel, older ipykernel) the comm opens as usual.
    """
    kernel = getattr(get_ipython(), "kernel", None)
    parent = getattr(kernel, "_shell_parent", None)
    if not isinstance(parent, contextvars.ContextVar):
        open_comm()
        return
    shell_parent: contextvars.ContextVar[Any] = parent

    def unparented() -> None:
        shell_parent.set({})
        open_comm()
    contextvars.copy_context().run(unparented)


def _pre(text: str) -> str:
    return f'<pre class="overmind-snapshot">{html.escape(text)}</pre>'


Shown = tuple[type[OvermindWidget], dict[str, Any]] | None
"""What a command's widget builder returns: the widget class and its constructor
arguments (traits, …), or None (the command has no widget: plain text)."""
