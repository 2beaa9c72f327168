"""A Jupyter server extension used only by ``ui_bench.py`` (on PYTHONPATH there).

It adds nothing to the product. ``POST <base>overmind-ui-bench/emit`` with
``{"mission", "rate", "n"}`` (Jupyter token auth) appends ``n`` ``tool-use`` events for
``mission`` to the engine's store at a steady ``rate`` (``_pacing.paced``), the way the
ACP runtime records a tool call; each event's ``ts`` is its emission time. Answers with
the pacing stats and the seq range.
"""

from __future__ import annotations

import json

from _pacing import paced
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web


class EmitHandler(APIHandler):
    @web.authenticated
    async def post(self) -> None:
        a = json.loads(self.request.body or b"{}")
        store = self.settings["overmind_engine"].store
        store.flush()
        first = store.last_seq() + 1

        def emit(start: int, count: int) -> None:
            for i in range(start, start + count):
                store.append_event("tool-use", {"id": f"bench-{i}", "title": f"bench {i}",
                                                "kind": "other", "status": "in_progress"},
                                   mission=a["mission"])

        stats = await paced(float(a["rate"]), int(a["n"]), emit)
        store.flush()
        self.finish(json.dumps({**stats, "first": first, "last": store.last_seq()}))


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "_ui_bench_ext"}]


def _load_jupyter_server_extension(serverapp) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base, "overmind-ui-bench", "emit"), EmitHandler)])
