"""ACP authentication: which of an agent's advertised ``authMethods`` the mission can use.

A method names its key either as ``vars`` (``type: env_var``, ACP schema
``EnvVarAuthMethod``), through ``_meta["api-key"].provider`` (Codex 2.x ``api-key``,
Gemini CLI ``gemini-api-key``), or by a well-known id (Codex 0.x ``openai-api-key`` /
``codex-api-key``). The runtime calls ``authenticate`` with the first method whose key is
set in the mission's environment; when none is, the variables named here go into the
question that asks the host to configure one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Choice", "choose", "variables", "wanted"]

# _meta["api-key"].provider → the variables that hold such a key
_PROVIDER_VARIABLES = {"openai": ("OPENAI_API_KEY", "CODEX_API_KEY"),
                       "google": ("GEMINI_API_KEY",), "gemini": ("GEMINI_API_KEY",),
                       "anthropic": ("ANTHROPIC_API_KEY",)}
_METHOD_VARIABLES = {"openai-api-key": ("OPENAI_API_KEY",),
                     "codex-api-key": ("CODEX_API_KEY",),
                     "gemini-api-key": ("GEMINI_API_KEY",),
                     "anthropic-api-key": ("ANTHROPIC_API_KEY",)}


@dataclasses.dataclass(frozen=True, slots=True)
class Choice:
    """The method to ``authenticate`` with and the variables that make it usable."""

    method_id: str
    variables: tuple[str, ...]


def variables(method: Any) -> tuple[str, ...]:
    """The environment variables an ACP auth method reads its key from (any of them
    will do; for an ``env_var`` method every non-optional one is needed)."""
    env_vars = getattr(method, "vars", None)
    if env_vars:
        return tuple(v.name for v in env_vars if not v.optional)
    meta = (getattr(method, "field_meta", None) or {}).get("api-key")
    if isinstance(meta, dict) and meta.get("provider") in _PROVIDER_VARIABLES:
        return _PROVIDER_VARIABLES[meta["provider"]]
    return _METHOD_VARIABLES.get(method.id, ())


def choose(methods: Sequence[Any] | None, env: Mapping[str, str]) -> Choice | None:
    """The first advertised method whose key is set in ``env``, or None."""
    for method in methods or ():
        names = variables(method)
        present = tuple(n for n in names if env.get(n))
        usable = len(present) == len(names) if getattr(method, "vars", None) else present
        if names and usable:
            return Choice(method.id, present)
    return None


def wanted(methods: Sequence[Any] | None) -> list[str]:
    """Every variable some advertised method would take a key from, in order."""
    found: list[str] = []
    for method in methods or ():
        found += [n for n in variables(method) if n not in found]
    return found
