"""A Jupyter server extension used only by ``tree_bench.py`` (on PYTHONPATH there).

It adds nothing to the product. ``POST <base>overmind-tree-bench/objective`` (Jupyter token
auth) records objective ``bench`` with one task whose agent mission is ``bench-agent``
(``objective-created``, ``plan-ready``, ``task-status``, ``agent-spawned``, as the
orchestrator does). ``POST <base>overmind-tree-bench/emit`` with ``{"rate", "n"}`` then
appends ``n`` events for that agent — tool call ``k`` is event ``2k``, its ``tool-use``,
and ``2k + 1``, its ``tool-result`` — at a steady ``rate`` of events/s
(``_bench_ext.emit_handler``), as the ACP runtime records them.
"""

from __future__ import annotations

import json
from typing import Any

from _bench_ext import add_routes, emit_handler
from jupyter_server.base.handlers import APIHandler
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


def tool_call(body: dict[str, Any], i: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Event ``i``: half ``k = i // 2`` of tool call ``call-k`` (reading one module)."""
    k, path = i // 2, f"src/module_{i // 2}.py"
    if i % 2 == 0:
        return "tool-use", {"id": f"call-{k}", "title": f"read_file {path}", "kind": "read",
                            "status": "in_progress", "input": {"path": path},
                            "paths": [path]}, {"mission": AGENT}
    return "tool-result", {"id": f"call-{k}", "status": "completed",
                           "output": f"def f{i}():\n    return {i}\n" * 4}, {"mission": AGENT}


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "_tree_bench_ext"}]


def _load_jupyter_server_extension(serverapp) -> None:
    add_routes(serverapp, "overmind-tree-bench", {"objective": ObjectiveHandler,
                                                  "emit": emit_handler(tool_call)})
