"""A Jupyter server extension used only by ``tree_bench.py`` (on PYTHONPATH there).

It adds nothing to the product. ``POST <base>overmind-tree-bench/objective`` (Jupyter token
auth) records objective ``bench`` with one task whose agent mission is ``bench-agent``
(``objective-created``, ``plan-ready``, ``task-status``, ``agent-spawned``, as the
orchestrator does). ``POST <base>overmind-tree-bench/emit`` with ``{"rate", "n"}`` then
appends ``n`` tool calls for that agent — a ``tool-use`` then its ``tool-result`` — at a
steady ``rate`` of events/s (``_pacing.paced``), as the ACP runtime records them.
"""

from __future__ import annotations

import json

from _pacing import paced
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from overmind_jupyter.store.records import EventSpec, Records

OBJECTIVE, TASK, AGENT = "bench", "benchtask", "bench-agent"


class ObjectiveHandler(APIHandler):
    @web.authenticated
    async def post(self) -> None:
        store = self.settings["overmind_engine"].store
        Records(store).insert("objective", OBJECTIVE, "running", {"title": "tree bench"},
                              event=EventSpec("objective-created", {
                                  "id": OBJECTIVE, "title": "tree bench", "prompts": []},
                                  objective=OBJECTIVE))
        task = {"id": TASK, "name": "bench", "description": "many tool calls",
                "scope": [], "depends_on": [], "agent": None}
        for type_, data in (("plan-ready", {"round": 1, "tasks": [task]}),
                            ("task-status", {"task": TASK, "name": "bench", "state": "running",
                                             "previous": "pending", "reason": ""})):
            store.append_event(type_, data, objective=OBJECTIVE)
        store.append_event("agent-spawned", {"task": TASK, "name": "bench", "agent": "builtin",
                                             "workspace": "", "branch": ""},
                           mission=AGENT, objective=OBJECTIVE)
        store.flush()
        self.finish(json.dumps({"objective": OBJECTIVE}))


class EmitHandler(APIHandler):
    @web.authenticated
    async def post(self) -> None:
        a = json.loads(self.request.body or b"{}")
        store = self.settings["overmind_engine"].store
        store.flush()
        first = store.last_seq() + 1

        def emit(start: int, count: int) -> None:
            for i in range(start, start + count):
                call = f"call-{i // 2}"
                if i % 2 == 0:
                    store.append_event("tool-use", {
                        "id": call, "title": f"read_file src/module_{i // 2}.py", "kind": "read",
                        "status": "in_progress", "input": {"path": f"src/module_{i // 2}.py"},
                        "paths": [f"src/module_{i // 2}.py"]}, mission=AGENT)
                else:
                    store.append_event("tool-result", {
                        "id": call, "status": "completed",
                        "output": f"def f{i}():\n    return {i}\n" * 4}, mission=AGENT)

        stats = await paced(float(a["rate"]), int(a["n"]), emit)
        store.flush()
        self.finish(json.dumps({**stats, "first": first, "last": store.last_seq()}))


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "_tree_bench_ext"}]


def _load_jupyter_server_extension(serverapp) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base, "overmind-tree-bench", "objective"), ObjectiveHandler),
        (url_path_join(base, "overmind-tree-bench", "emit"), EmitHandler)])
