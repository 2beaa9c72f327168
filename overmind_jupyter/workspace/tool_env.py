"""The environment of agents' tool commands: this process's, minus every secret.

Security rule (notes/security.md): API keys are not in the environment of agent tool
commands. Matching is by variable name (and by value for URLs carrying credentials).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SECRET_NAME = re.compile(r"""
      .*(SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|API_KEY|APIKEY|ACCESS_KEY).*
    | .*(_TOKEN|_KEY|_PAT|_PWD)(_.*)?
    | (TOKEN|AUTH|SSH_AUTH_SOCK|GOOGLE_API_KEY|OVERMIND_TOKEN|JPY_API_TOKEN
       |JUPYTERHUB_API_TOKEN|NETRC|GIT_ASKPASS|SSH_ASKPASS)
    | (.*_)?AUTH(_.*)?
    | (OPENAI|AZURE_OPENAI|GEMINI|GOOGLE_GENAI|ANTHROPIC|CLAUDE|OPENROUTER|MISTRAL|GROQ
       |COHERE|XAI|DEEPSEEK|TOGETHER|FIREWORKS|PERPLEXITY|AWS|JPY)_.*
""", re.VERBOSE)
_URL_WITH_CREDENTIALS = re.compile(r"[a-zA-Z][\w+.-]*://[^/\s@]*:[^/\s@]*@")


def _is_secret(name: str, value: str) -> bool:
    return bool(_SECRET_NAME.fullmatch(name.upper()) or _URL_WITH_CREDENTIALS.search(value))


def scrubbed_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without API keys, tokens, passwords and credentials (for tool commands).

    Removed: names containing SECRET, PASSWORD, PASSWD, CREDENTIAL, PRIVATE_KEY, API_KEY,
    ACCESS_KEY; names ending in (or with a ``_``-part) ``_TOKEN``, ``_KEY``, ``_PAT``,
    ``_PWD``, ``AUTH``; every ``OPENAI_*``, ``GEMINI_*``, ``ANTHROPIC_*``, ``AWS_*``,
    ``JPY_*`` and other model providers' variables; ``SSH_AUTH_SOCK`` and askpass helpers;
    any value holding a URL with ``user:password@``. ``PATH``, ``HOME``, ``LANG`` … stay.
    """
    return {k: v for k, v in env.items() if not _is_secret(k, v)}
