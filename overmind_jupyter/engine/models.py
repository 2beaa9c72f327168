"""Which model answers the engine's roles (story, scope, planner, evaluator, referee) and
its built-in agent (``Models``): read from ``OVERMIND_MODEL`` or the provider keys at
each use, so a changed setting applies to the next objective without a restart."""

from __future__ import annotations

import logging
import os
from typing import Any

from ..agents import adapters
from ..errors import OvermindError, UsageError
from ..llm.contract import ChatModel
from ..llm.registry import describe_model
from ..orchestrator import referee as referee_mod
from ..orchestrator.roles import RoleModels

log = logging.getLogger("overmind.engine")


class Models:
    """The model configuration of one engine.

    Args:
        provider_env: model provider keys and agent settings (never stored); read over
            this process's environment.
    """

    def __init__(self, provider_env: dict[str, str]) -> None:
        self.provider_env = provider_env
        self._roles: RoleModels | None = None

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.provider_env}

    def roles(self) -> RoleModels:
        """Models per role from ``OVERMIND_MODEL`` (or the provider keys present); the
        same ``RoleModels`` while the setting is unchanged (scripts play on, not anew).

        Raises:
            UsageError: no model configured.
        """
        env = self._env()
        model_id = adapters.default_model(env)
        if self._roles is None or self._roles.model_id != model_id:
            self._roles = RoleModels(model_id, env)
        return self._roles

    def status(self) -> dict[str, Any]:
        """``llm.registry.describe_model``'s shape: configured or not, provider, name,
        endpoint, whether it is scripted, and the server-side settings that change it.
        Keys are never included."""
        env = self._env()
        try:
            model_id: str | None = adapters.default_model(env)
        except UsageError:
            model_id = None
        return describe_model(model_id, env)

    async def referee(self, conflict: Any) -> Any:
        """Merge tier 2 on the configured model (``workspace.merge.Referee``); None (→ a
        human) when none is usable."""
        try:
            model: ChatModel = self.roles().engine_model("referee")
        except OvermindError as exc:
            log.info("no referee model (%s): the conflict goes to a human", exc)
            return None
        return await referee_mod.referee_for(model)(conflict)
