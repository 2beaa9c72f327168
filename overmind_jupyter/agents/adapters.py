"""Agent adapters: which ACP command starts which agent, and whether it is installed.

Built in: ``builtin`` (Overmind's own agent over OpenAI, Gemini or a scripted model),
``claude`` (Claude Code through Zed's ACP adapter), ``gemini`` (Gemini CLI in ACP mode),
``codex`` (Codex through its ACP adapter), ``goose`` (``goose acp``); plus any custom ACP
command given in configuration (``{"name": ["cmd", "arg", …]}``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections.abc import Mapping

from ..errors import UsageError

PROVIDER_KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY")


@dataclasses.dataclass(frozen=True, slots=True)
class Adapter:
    """An agent that speaks ACP on stdio. ``argv[0]`` must be on PATH unless it is Python."""

    name: str
    title: str
    argv: tuple[str, ...]
    install: str

    def installed(self) -> bool:
        """Whether the executable can be found."""
        return self.argv[0] == sys.executable or shutil.which(self.argv[0]) is not None


BUILTIN_MODULE = "overmind_jupyter.agents.builtin"
KNOWN = (
    Adapter("builtin", "Overmind built-in agent", (sys.executable, "-m", BUILTIN_MODULE),
            "included with Overmind"),
    Adapter("claude", "Claude Code (ACP adapter)", ("claude-agent-acp",),
            "npm install -g @zed-industries/claude-agent-acp"),
    Adapter("gemini", "Gemini CLI", ("gemini", "--experimental-acp"),
            "npm install -g @google/gemini-cli"),
    Adapter("codex", "Codex (ACP adapter)", ("codex-acp",),
            "npm install -g @zed-industries/codex-acp"),
    Adapter("goose", "Goose", ("goose", "acp"),
            "see https://block.github.io/goose/docs/getting-started/installation"),
)


def registry(custom: Mapping[str, list[str]] | None = None) -> dict[str, Adapter]:
    """Known adapters plus custom ACP commands (a custom name overrides a known one)."""
    found = {a.name: a for a in KNOWN}
    for name, argv in (custom or {}).items():
        if not argv:
            raise UsageError(f"custom agent {name!r} has an empty command")
        found[name] = Adapter(name, f"custom: {' '.join(argv)}", tuple(argv),
                              "configured in c.Overmind.agents")
    return found


def default_model(env: Mapping[str, str]) -> str:
    """``$OVERMIND_MODEL``, else a provider whose key is set.

    Raises:
        UsageError: no model configured and no provider key present.
    """
    if env.get("OVERMIND_MODEL"):
        return env["OVERMIND_MODEL"]
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
    """The model provider variables present in ``env`` (given to agent missions only)."""
    names = (*PROVIDER_KEYS, "OVERMIND_MODEL", "OVERMIND_FALLBACK_MODEL",
             "OVERMIND_MAX_COST_USD", "OVERMIND_MAX_MODEL_CALLS", "OVERMIND_MAX_TOKENS")
    return {k: env[k] for k in names if env.get(k)}
