"""Helpers of the planning tests: scripted turns that call the answer tool, and a runner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from overmind_jupyter.llm.registry import resolve_model
from overmind_jupyter.llm.scripted import ScriptedModel

T = TypeVar("T")


def respond(arguments: dict[str, Any], *, expect: str | None = None, name: str = "respond",
            usage: tuple[int, int] = (100, 20)) -> dict[str, Any]:
    """A script turn in which the model calls ``name`` with ``arguments``."""
    turn: dict[str, Any] = {"tool_calls": [{"name": name, "arguments": arguments}],
                            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]}}
    if expect is not None:
        turn["expect"] = expect
    return turn


def scripted(tmp_path: Path, *turns: dict[str, Any]) -> ScriptedModel:
    """A ``ScriptedModel`` from a JSON script written to ``tmp_path`` (through the registry)."""
    path = tmp_path / f"script-{len(list(tmp_path.glob('script-*.json')))}.json"
    path.write_text(json.dumps({"turns": list(turns)}), encoding="utf-8")
    model = resolve_model(f"scripted:{path}")
    assert isinstance(model, ScriptedModel)
    return model


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``."""
    return asyncio.run(coro)
