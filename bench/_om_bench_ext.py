"""A Jupyter server extension used only by ``server_bench.py`` (on PYTHONPATH there).

It adds nothing to the product: it takes the Overmind engine the real extension put in
``serverapp.web_app.settings["overmind_engine"]`` and, on REST triggers (Jupyter token
auth), writes into its store exactly as the engine's own code paths do:

``POST <base>overmind-bench/emit``      ``{"rate", "n"}``: ``store.append_event`` at a steady
                                        rate (``_pacing.paced``), ``time.time()`` in each
                                        event's data; answers when done. Optional
                                        ``flush_delay_s`` overrides the engine's
                                        ``FLUSH_DELAY_S`` during the run (diagnostic).
``POST <base>overmind-bench/fill``      ``{"n"}``: append ``n`` events as fast as possible.
``POST <base>overmind-bench/missions``  ``{"n"}``: insert ``n`` ended missions (rows only).
"""

from __future__ import annotations

import json
import time

from _missions import ended_missions, insert_missions
from _pacing import paced
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

import overmind_jupyter.engine.engine as engine_module


class _Bench(APIHandler):
    @property
    def store(self):
        return self.settings["overmind_engine"].store

    def args(self) -> dict:
        return json.loads(self.request.body or b"{}")


class EmitHandler(_Bench):
    @web.authenticated
    async def post(self) -> None:
        a = self.args()
        store = self.store

        def emit(first: int, count: int) -> None:
            for i in range(first, first + count):
                store.append_event("bench-tick", {"t": time.time(), "i": i})

        delay = a.get("flush_delay_s")  # diagnostic: the engine's batching delay, if any
        saved = getattr(engine_module, "FLUSH_DELAY_S", None)
        if delay is not None and saved is None:
            raise web.HTTPError(400, "this engine has no FLUSH_DELAY_S")
        if delay is not None:
            engine_module.FLUSH_DELAY_S = float(delay)
        try:
            stats = await paced(float(a["rate"]), int(a["n"]), emit)
        finally:
            if delay is not None:
                engine_module.FLUSH_DELAY_S = saved
        self.finish(json.dumps({**stats, "flush_delay_s": getattr(
            engine_module, "FLUSH_DELAY_S", None) if delay is None else float(delay)}))


class FillHandler(_Bench):
    @web.authenticated
    async def post(self) -> None:
        n = int(self.args()["n"])
        store = self.store
        store.flush()
        first = store.last_seq() + 1
        t0 = time.perf_counter()
        for i in range(n):
            store.append_event("bench-fill", {"t": time.time(), "i": i})
        store.flush()
        self.finish(json.dumps({"first": first, "last": store.last_seq(),
                                "s": time.perf_counter() - t0}))


class MissionsHandler(_Bench):
    @web.authenticated
    async def post(self) -> None:
        n = int(self.args()["n"])
        store = self.store
        missions = ended_missions(self.settings["overmind_engine"], n, "bench-", {"FOO": "1"})
        store.flush()
        insert_missions(store, missions)
        self.finish(json.dumps({"inserted": n}))


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "_om_bench_ext"}]


def _load_jupyter_server_extension(serverapp) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base, "overmind-bench", "emit"), EmitHandler),
        (url_path_join(base, "overmind-bench", "fill"), FillHandler),
        (url_path_join(base, "overmind-bench", "missions"), MissionsHandler),
    ])
