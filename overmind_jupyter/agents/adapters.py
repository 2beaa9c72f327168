"""Agent adapters: which ACP command starts which agent, and whether it is installed.

Built in: ``builtin`` (Overmind's own agent over OpenAI, Gemini or a scripted model),
``claude`` (Claude Code through the ACP project's adapter), ``gemini`` (Gemini CLI in ACP
mode), ``codex`` (Codex through the ACP project's adapter), ``goose`` (``goose acp``); plus
any custom ACP command given in configuration (``{"name": ["cmd", "arg", …]}``).

Model provider keys are given per provider (security rule, notes/security.md): an agent
mission gets only the variables of the provider its agent uses (``PROVIDERS``): ``claude``
the Anthropic ones, ``codex`` the OpenAI ones, ``gemini`` the Google ones, ``builtin`` those
of its model's provider; custom agents and plain commands get none.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections.abc import Mapping

from ..config import (
    FALLBACK_MODEL_ENV,
    MAX_COST_USD_ENV,
    MAX_MODEL_CALLS_ENV,
    MAX_TOKENS_ENV,
    MODEL_ENV,
)
from ..errors import UsageError

# provider → the variables that configure it (keys and endpoints)
PROVIDERS: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
                  "CLAUDE_CODE_OAUTH_TOKEN"),
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_API_KEY"),
    "google": ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL"),
}
PROVIDER_KEYS = tuple(name for names in PROVIDERS.values() for name in names)
# settings of the built-in agent, not secrets: every agent mission gets them
SETTINGS = (MODEL_ENV, FALLBACK_MODEL_ENV, MAX_COST_USD_ENV,
            MAX_MODEL_CALLS_ENV, MAX_TOKENS_ENV)


@dataclasses.dataclass(frozen=True, slots=True)
class Adapter:
    """An agent that speaks ACP on stdio. ``argv[0]`` must be on PATH unless it is Python."""

    name: str
    title: str
    argv: tuple[str, ...]
    install: str
    provider: str | None = None  # key of PROVIDERS whose variables it gets ("model": builtin)

    def installed(self) -> bool:
        """Whether the executable can be found."""
        return self.argv[0] == sys.executable or shutil.which(self.argv[0]) is not None


BUILTIN_MODULE = "overmind_jupyter.agents.builtin"
KNOWN = (
    Adapter("builtin", "Overmind built-in agent", (sys.executable, "-m", BUILTIN_MODULE),
            "included with Overmind", "model"),
    Adapter("claude", "Claude Code (ACP adapter)", ("claude-agent-acp",),
            "npm install -g @agentclientprotocol/claude-agent-acp", "anthropic"),
    Adapter("gemini", "Gemini CLI", ("gemini", "--acp"),
            "npm install -g @google/gemini-cli", "google"),
    Adapter("codex", "Codex (ACP adapter)", ("codex-acp",),
            "npm install -g @agentclientprotocol/codex-acp", "openai"),
    Adapter("goose", "Goose", ("goose", "acp"),
            "not on npm: see https://block.github.io/goose/docs/getting-started/installation"),
)
_MODEL_PROVIDERS = {"openai": "openai", "gemini": "google"}  # builtin model prefix → provider


def registry(custom: Mapping[str, list[str]] | None = None) -> dict[str, Adapter]:
    """Known adapters plus custom ACP commands (a custom name overrides a known one)."""
    found = {a.name: a for a in KNOWN}
    for name, argv in (custom or {}).items():
        if not argv:
            raise UsageError(f"custom agent {name!r} has an empty command")
        known = found.get(name)  # a known agent's own command: still its provider's keys
        found[name] = Adapter(name, f"custom: {' '.join(argv)}", tuple(argv),
                              "configured in c.Overmind.agents",
                              known.provider if known else None)
    return found


def default_model(env: Mapping[str, str]) -> str:
    """``$OVERMIND_MODEL``, else a provider whose key is set.

    Raises:
        UsageError: no model configured and no provider key present.
    """
    if env.get(MODEL_ENV):
        return env[MODEL_ENV]
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return "openai:gpt-4.1-mini"
    if env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY"):
        return "gemini:gemini-2.5-flash"
    raise UsageError("no model configured for the built-in agent: set OVERMIND_MODEL "
                     "(e.g. openai:gpt-4.1, gemini:gemini-2.5-pro or scripted:PATH) or an "
                     "OPENAI_API_KEY / GEMINI_API_KEY on the server")


def command_for(name: str, adapters: Mapping[str, Adapter], env: Mapping[str, str]
                ) -> list[str]:
    """The argv that starts agent ``name``.

    Raises:
        UsageError: unknown agent, or its CLI is not installed (with the install command).
    """
    adapter = adapters.get(name)
    if adapter is None:
        raise UsageError(f"unknown agent {name!r}; known agents: {', '.join(adapters)}")
    if not adapter.installed():
        raise UsageError(f"agent {name!r} is not installed ({adapter.argv[0]} not found on "
                         f"PATH); install it with: {adapter.install}")
    argv = list(adapter.argv)
    if name == "builtin":
        argv += ["--model", default_model(env)]
    return argv


def rows(adapters: Mapping[str, Adapter]) -> list[dict[str, object]]:
    """``overmind agents --json`` shape: name, title, installed, command, install."""
    return [{"name": a.name, "title": a.title, "installed": a.installed(),
             "command": list(a.argv), "install": a.install} for a in adapters.values()]


def provider_env(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The model provider variables and agent settings present in ``env`` (the server's;
    ``keys_for`` picks what one agent mission gets)."""
    return {k: env[k] for k in (*PROVIDER_KEYS, *SETTINGS) if env.get(k)}


def key_names(adapter: Adapter | None) -> list[str]:
    """The variables that hold the API key of ``adapter``'s provider (for a question
    asking to configure one); empty for custom agents and the built-in one."""
    names = PROVIDERS.get(adapter.provider or "", ()) if adapter else ()
    return [n for n in names if not n.endswith("_BASE_URL")]


def keys_for(adapter: Adapter | None, command: list[str], env: Mapping[str, str]
             ) -> dict[str, str]:
    """What of ``env`` (``provider_env``) one agent mission gets: the settings, plus the
    variables of its agent's provider (the built-in agent: its ``--model``'s provider,
    read from ``command``). Unknown and custom agents get the settings only."""
    provider = adapter.provider if adapter else None
    if provider == "model":
        model = command[command.index("--model") + 1] if "--model" in command[:-1] else ""
        provider = _MODEL_PROVIDERS.get(model.split(":", 1)[0])
    names = (*SETTINGS, *PROVIDERS.get(provider or "", ()))
    return {k: env[k] for k in names if k in env}
