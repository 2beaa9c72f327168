"""What the browser benchmarks' server extensions share (``_ui_bench_ext``,
``_tree_bench_ext``; on PYTHONPATH there): a handler appending events at a steady rate
and the registration of a bench's routes. They add nothing to the product.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from _pacing import paced
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

# the i-th event of a run, from the request's body: (type, data, append_event kwargs)
EventOf = Callable[[dict[str, Any], int], tuple[str, dict[str, Any], dict[str, Any]]]


def emit_handler(event_of: EventOf) -> type[APIHandler]:
    """A handler for ``POST`` ``{"rate", "n", …}`` (Jupyter token auth): appends the events
    ``event_of(body, i)`` for ``i`` in ``0..n-1`` to the engine's store at ``rate``
    events/s (``_pacing.paced``), as the engine's own code paths do. Answers with the
    pacing stats and the seq range (``first``, ``last``)."""

    class EmitHandler(APIHandler):
        @web.authenticated
        async def post(self) -> None:
            body = json.loads(self.request.body or b"{}")
            store = self.settings["overmind_engine"].store
            store.flush()
            first = store.last_seq() + 1

            def emit(start: int, count: int) -> None:
                for i in range(start, start + count):
                    type_, data, where = event_of(body, i)
                    store.append_event(type_, data, **where)

            stats = await paced(float(body["rate"]), int(body["n"]), emit)
            store.flush()
            self.finish(json.dumps({**stats, "first": first, "last": store.last_seq()}))

    return EmitHandler


def add_routes(serverapp: Any, prefix: str, routes: dict[str, type[APIHandler]]) -> None:
    """Serve ``routes`` (name → handler) at ``<base_url><prefix>/<name>``."""
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base, prefix, name), handler) for name, handler in routes.items()])
