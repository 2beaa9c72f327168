"""A Jupyter server extension used only by ``ui_bench.py`` (on PYTHONPATH there).

It adds nothing to the product. ``POST <base>overmind-ui-bench/emit`` with
``{"mission", "rate", "n"}`` (Jupyter token auth) appends ``n`` ``tool-use`` events for
``mission`` to the engine's store at a steady ``rate`` (``_pacing.paced``), the way the
ACP runtime records a tool call; each event's ``ts`` is its emission time. Answers with
the pacing stats and the seq range.
"""

from __future__ import annotations

from typing import Any

from _bench_ext import add_routes, emit_handler


def tool_use(body: dict[str, Any], i: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The ``i``-th event: a tool call of ``body["mission"]`` starting."""
    return "tool-use", {"id": f"bench-{i}", "title": f"bench {i}", "kind": "other",
                        "status": "in_progress"}, {"mission": body["mission"]}


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "_ui_bench_ext"}]


def _load_jupyter_server_extension(serverapp) -> None:
    add_routes(serverapp, "overmind-ui-bench", {"emit": emit_handler(tool_use)})
