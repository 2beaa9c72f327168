"""Builders of scripted-model scripts for orchestration (``scripted:DIR``, see
``orchestrator.roles``): one JSON script per role, written into a directory.

    write_role_scripts(dir, story=respond({...}), planner=respond({...}),
                       tasks={"add-multiply": [tool("edit_file", ...), say("Done")]})
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

USAGE = {"input_tokens": 200, "output_tokens": 40}


def respond(arguments: dict[str, Any], usage: dict[str, int] | None = None) -> dict[str, Any]:
    """A turn answering a structured request (the ``respond`` tool of ``structured.ask``)."""
    return {"tool_calls": [{"name": "respond", "arguments": arguments}],
            "usage": usage or USAGE}


def tool(name: str, usage: dict[str, int] | None = None, **arguments: Any) -> dict[str, Any]:
    """An agent turn calling one built-in tool (``write_file``, ``edit_file`` …)."""
    return {"tool_calls": [{"name": name, "arguments": arguments}], "usage": usage or USAGE}


def say(text: str, usage: dict[str, int] | None = None) -> dict[str, Any]:
    """An agent turn that only answers with text (ends the prompt)."""
    return {"text": text, "usage": usage or USAGE}


def write_role_scripts(directory: Path, *, tasks: dict[str, list[dict[str, Any]]] | None = None,
                       **roles: dict[str, Any] | list[dict[str, Any]]) -> Path:
    """Write ``<role>.json`` for each role (a turn or a list of turns) and
    ``task-<name>.json`` for each task; return ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for role, turns in roles.items():
        _write(directory / f"{role}.json", turns if isinstance(turns, list) else [turns])
    for name, turns in (tasks or {}).items():
        _write(directory / f"task-{name}.json", turns)
    return directory


def _write(path: Path, turns: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"turns": turns}, indent=1))
