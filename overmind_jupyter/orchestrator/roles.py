"""Which model each orchestration role uses.

Roles run inside the engine (``story``, ``scope``, ``planner``, ``evaluator``,
``referee``) or as agent missions (one per task). One model id serves every role, except
for a scripted model given as a directory — ``scripted:DIR`` — where each role replays
its own script so that parallel roles stay deterministic::

    DIR/story.json  DIR/scope.json  DIR/planner.json  DIR/evaluator.json  DIR/referee.json
    DIR/task-<task name>.json      (falls back to DIR/task.json)

A role whose script is missing gets a clear ``UsageError`` when it is first used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import UsageError
from ..llm.contract import ChatModel
from ..llm.registry import resolve_model

ENGINE_ROLES = ("story", "scope", "planner", "evaluator", "referee")


class RoleModels:
    """Model ids and ``ChatModel``s per role for one model configuration.

    Args:
        model_id: e.g. ``openai:gpt-4.1-mini``, ``gemini:gemini-2.5-flash``,
            ``scripted:/path/script.json`` or ``scripted:/path/dir``.
        env: provider keys (never stored).
    """

    def __init__(self, model_id: str, env: Mapping[str, str] | None = None) -> None:
        self.model_id = model_id
        self.env = dict(os.environ if env is None else env)
        self._models: dict[str, ChatModel] = {}
        path = model_id.removeprefix("scripted:")
        self.script_dir = Path(path) if model_id.startswith("scripted:") and \
            Path(path).is_dir() else None

    @property
    def scripted(self) -> bool:
        """Whether responses are scripted (the UI labels them so)."""
        return self.model_id.startswith("scripted:")

    def engine_model(self, role: str) -> ChatModel:
        """The ``ChatModel`` of an in-engine role (created once, then reused).

        Raises:
            UsageError: unknown role, or the role's script is missing.
        """
        if role not in ENGINE_ROLES:
            raise UsageError(f"unknown role {role!r}; roles: {', '.join(ENGINE_ROLES)}")
        if role not in self._models:
            self._models[role] = resolve_model(self._role_id(role), env=self.env)
        return self._models[role]

    def task_model_id(self, task_name: str) -> str:
        """The model id an agent mission for ``task_name`` runs with (``--model``)."""
        if self.script_dir is None:
            return self.model_id
        specific = self.script_dir / f"task-{task_name}.json"
        return f"scripted:{specific if specific.exists() else self.script_dir / 'task.json'}"

    def _role_id(self, role: str) -> str:
        if self.script_dir is None:
            return self.model_id
        script = self.script_dir / f"{role}.json"
        if not script.exists():
            raise UsageError(f"the scripted model has no script for the {role} role: "
                             f"add {script}")
        return f"scripted:{script}"
