"""The base of every Overmind widget: an anywidget view plus a static snapshot.

The view (``static/overmind.js``, built from ``labextension/src/widget.ts``) fetches its
state and follows the event websocket of the Jupyter server serving the page, so it stays
live while the kernel is busy and survives reconnects. With an engine embedded in the
kernel it talks through the widget's comm instead (``bridge.py``).

Every widget also carries a snapshot taken when it was made, as ``text/plain`` and
``text/html`` beside the widget view in its mimebundle, so nbconvert, nbval, GitHub and
frontends without a widget manager still show something meaningful.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
from traitlets import CaselessStrEnum, Unicode

from ..api import EngineAPI
from .bridge import Bridge

STATIC = Path(__file__).parent / "static"


class OvermindWidget(anywidget.AnyWidget):
    """A live Overmind view with a static snapshot.

    Args:
        snapshot_text: plain-text rendering of the state when the widget was made.
        snapshot_html: escaped HTML rendering of the same (or None to use ``<pre>`` text).
        api: the engine interface the magics use (``Engine`` or ``Client``); serves the
            comm fallback. None: the view can only use the page's Jupyter server.
        portal: the ``Portal`` whose loop runs ``api``'s coroutines.
        **traits: trait values (``mission``, ``all`` …).
    """

    _esm = STATIC / "overmind.js"
    _css = STATIC / "overmind.css"
    view = Unicode("missions").tag(sync=True)
    mode = CaselessStrEnum(["server", "embedded"], "server").tag(sync=True)
    title = Unicode("").tag(sync=True)

    def __init__(self, *, snapshot_text: str = "", snapshot_html: str | None = None,
                 api: EngineAPI | None = None, portal: Any = None, **traits: Any) -> None:
        if api is not None and getattr(api, "mode", "server") == "embedded":
            traits.setdefault("mode", "embedded")
        super().__init__(**traits)
        self.snapshot_text = snapshot_text
        self.snapshot_html = snapshot_html
        self.bridge = Bridge(self, api, portal) if api is not None and portal else None

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view plus the snapshot as ``text/plain`` and ``text/html``."""
        data = super()._repr_mimebundle_(**kwargs)
        bundle, metadata = data if isinstance(data, tuple) else (data, {})
        if bundle is None:
            return data
        bundle["text/plain"] = self.snapshot_text or bundle.get("text/plain", "")
        bundle["text/html"] = self.snapshot_html or _pre(self.snapshot_text)
        return (bundle, metadata) if isinstance(data, tuple) else bundle

    def close(self) -> None:
        """Stop the comm fallback's tasks, then close the widget."""
        if self.bridge is not None:
            self.bridge.close()
        super().close()


def _pre(text: str) -> str:
    import html
    return f'<pre class="overmind-snapshot">{html.escape(text)}</pre>'


Shown = tuple[type[OvermindWidget], dict[str, Any]] | None
"""What a command's widget builder returns: the widget class and its traits, or None
(the command has no widget: plain text)."""
