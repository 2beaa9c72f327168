"""Which model answers the engine's roles (story, scope, planner, evaluator, referee) and
its built-in agent (``Models``): read from ``OVERMIND_MODEL`` or the provider keys at
each use, so a changed setting applies to the next objective without a restart."""

from __future__ import annotations

import logging
import os
from typing import Any

from ..agents import adapters
from ..config import MODELS_ENV
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
        choices: more models a prompt may give its agents (``Settings.models``).
    """

    def __init__(self, provider_env: dict[str, str], choices: tuple[str, ...] = ()) -> None:
        self.provider_env = provider_env
        self.choices = choices
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
        return {**describe_model(model_id, env), "choices": self.choice_rows()}

    def choice_rows(self) -> list[dict[str, Any]]:
        """The models a prompt may give its agents, the default first: ``[{id, name,
        provider, configured, problem}]`` with ``id`` as shown (no user info in a URL)
        and as ``choose`` takes it back."""
        env = self._env()
        rows = []
        for model_id in self._choice_ids(env):
            found = describe_model(model_id, env)
            rows.append({"id": found["model"], "name": found["name"],
                         "provider": found["provider"], "configured": found["configured"],
                         "problem": found["problem"]})
        return rows

    def choose(self, shown: str) -> str:
        """The model id of choice ``shown`` (an ``id`` of ``choice_rows``).

        Raises:
            UsageError: not a configured choice (the choices are named).
        """
        env = self._env()
        by_shown = {describe_model(m, env)["model"]: m for m in self._choice_ids(env)}
        if shown not in by_shown:
            raise UsageError(f"model {shown!r} is not one the server offers; choose one of "
                             f"{', '.join(by_shown) or 'none'} (c.Overmind.models or "
                             f"{MODELS_ENV} on the server add more)")
        return by_shown[shown]

    def _choice_ids(self, env: dict[str, str]) -> list[str]:
        try:
            default = [adapters.default_model(env)]
        except UsageError:
            default = []
        return list(dict.fromkeys([*default, *self.choices]))

    async def referee(self, conflict: Any) -> Any:
        """Merge tier 2 on the configured model (``workspace.merge.Referee``); None (→ a
        human) when none is usable."""
        try:
            model: ChatModel = self.roles().engine_model("referee")
        except OvermindError as exc:
            log.info("no referee model (%s): the conflict goes to a human", exc)
            return None
        return await referee_mod.referee_for(model)(conflict)
