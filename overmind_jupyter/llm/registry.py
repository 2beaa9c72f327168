"""Model ids to ``ChatModel`` instances: ``resolve_model("openai:gpt-4.1")``.

Grammar::

    openai:MODEL               OpenAI, or OPENAI_BASE_URL when that is set
    openai:MODEL@BASE_URL      any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp
                               server, LM Studio, OpenRouter), e.g.
                               openai:llama3.1@http://127.0.0.1:11434/v1
    gemini:MODEL               the Gemini API (or GOOGLE_GEMINI_BASE_URL)
    gemini:MODEL@BASE_URL      a Gemini-compatible proxy
    scripted:PATH              a ScriptedModel replaying a JSON/YAML script

Keys come from the environment: ``OPENAI_API_KEY``; ``GOOGLE_API_KEY`` or
``GEMINI_API_KEY`` (the first wins, as in google-genai). A compatible endpoint
without ``OPENAI_API_KEY`` gets a placeholder key (local servers need none). Keys are
never logged, never put in a repr or an error message. The SDK adapters are imported
only here, and only when such a model is resolved, so ``import overmind_jupyter.llm``
stays light.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from typing import Any

from ..config import MODEL_ENV
from ..errors import OvermindError, UsageError
from .contract import ChatModel
from .fallback import FallbackModel
from .retry import public_url
from .scripted import ScriptedModel

PLACEHOLDER_KEY = "no-key-required"
GEMINI_KEY_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")


class MissingAPIKey(OvermindError):
    """A provider's API key is not in the environment; the message names the variable."""

    reason = "missing-api-key"
    http_status = 400


def resolve_model(model_id: str, *, env: Mapping[str, str] = os.environ,
                  fallback: str | None = None, **options: Any) -> ChatModel:
    """The ``ChatModel`` for ``model_id`` (grammar in the module docstring).

    Args:
        model_id: e.g. ``openai:gpt-4.1``, ``gemini:gemini-2.5-pro``, ``scripted:s.json``.
        env: where keys and base URLs are read.
        fallback: another model id to switch to when this one is exhausted; the result
            is then a ``FallbackModel``.
        **options: passed to the SDK adapters (``timeout_s``, ``policy``, ``sleep``,
            ``max_output_tokens``); ignored by scripted models.

    Raises:
        UsageError: malformed id or unknown provider.
        MissingAPIKey: the provider's key is not set.
        ScriptError: a scripted model's script cannot be loaded.
    """
    model = _resolve_one(model_id, env, options)
    if fallback:
        return FallbackModel(model, _resolve_one(fallback, env, options))
    return model


def _resolve_one(model_id: str, env: Mapping[str, str], options: dict[str, Any]) -> ChatModel:
    provider, sep, rest = model_id.strip().partition(":")
    if not sep or not rest.strip():
        raise UsageError(f"model id {model_id!r} must look like openai:MODEL, gemini:MODEL "
                         "or scripted:PATH")
    if provider == "openai":
        return _openai(rest.strip(), env, options)
    if provider == "gemini":
        return _gemini(rest.strip(), env, options)
    if provider == "scripted":
        return ScriptedModel.from_file(rest.strip())
    raise UsageError(f"unknown model provider {provider!r} in {model_id!r}: "
                     "use openai:, gemini: or scripted:")


_URL_START = re.compile(r"@https?://")


def split_base_url(rest: str) -> tuple[str, str | None]:
    """``"MODEL@http://host/v1"`` → ``("MODEL", "http://host/v1")``; no URL → ``(rest, None)``.
    The URL starts at the first ``@http(s)://``, so one with user info
    (``MODEL@http://user:pw@host/v1``) stays whole."""
    found = _URL_START.search(rest)
    if found and found.start() > 0:
        return rest[:found.start()], rest[found.start() + 1:]
    return rest, None


def _openai(rest: str, env: Mapping[str, str], options: dict[str, Any]) -> ChatModel:
    name, base_url = split_base_url(rest)
    base_url = base_url or env.get("OPENAI_BASE_URL") or None
    key = env.get("OPENAI_API_KEY") or (PLACEHOLDER_KEY if base_url else None)
    if key is None:
        raise MissingAPIKey(f"openai:{name} needs an API key: set OPENAI_API_KEY "
                            "(or use a compatible endpoint with openai:MODEL@BASE_URL)")
    adapter = _load("openai_model", "OpenAIModel", "openai")
    return adapter(name, api_key=key, base_url=base_url, **options)


def _gemini(rest: str, env: Mapping[str, str], options: dict[str, Any]) -> ChatModel:
    name, base_url = split_base_url(rest)
    base_url = base_url or env.get("GOOGLE_GEMINI_BASE_URL") or None
    key_env = next((var for var in GEMINI_KEY_VARS if env.get(var)), None)
    if key_env is None:
        raise MissingAPIKey(f"gemini:{name} needs an API key: set GEMINI_API_KEY "
                            "(or GOOGLE_API_KEY)")
    adapter = _load("gemini_model", "GeminiModel", "google-genai")
    return adapter(name, api_key=env[key_env], base_url=base_url, key_env=key_env, **options)


SETTINGS = (MODEL_ENV, "OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY",
            "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL")  # what chooses the model, server-side


def describe_model(model_id: str | None, env: Mapping[str, str]) -> dict[str, Any]:
    """What answers for ``model_id`` without resolving it (no SDK import, no key shown).

    Returns ``{configured, model, provider, name, endpoint, scripted, key_set, problem,
    settings}``: ``endpoint`` is the base URL when one is set (None: the provider's own),
    ``key_set`` whether the provider's key variable is set (a compatible endpoint needs
    none), ``problem`` what stops it from answering (None: nothing known), ``settings`` the
    server-side variables that choose the model. URLs lose their user info (a password in
    a base URL never reaches a browser).
    """
    found: dict[str, Any] = {"configured": False, "model": model_id, "provider": None,
                             "name": None, "endpoint": None, "scripted": False,
                             "key_set": False, "problem": None, "settings": list(SETTINGS)}
    if not model_id:
        return {**found, "problem": "no model configured: set OVERMIND_MODEL (e.g. "
                "openai:gpt-4.1 or openai:MODEL@http://127.0.0.1:8091/v1) or a provider key "
                "on the server"}
    provider, _, rest = model_id.strip().partition(":")
    name, url = split_base_url(rest.strip())
    shown = f"{provider}:{name}" + (f"@{public_url(url)}" if url else "")
    found.update(model=shown, provider=provider, name=name, scripted=provider == "scripted")
    if provider == "openai":
        endpoint = url or env.get("OPENAI_BASE_URL") or None
        key_set = bool(env.get("OPENAI_API_KEY"))
        problem = None if key_set or endpoint else "set OPENAI_API_KEY on the server"
    elif provider == "gemini":
        endpoint = url or env.get("GOOGLE_GEMINI_BASE_URL") or None
        key_set = any(env.get(var) for var in GEMINI_KEY_VARS)
        problem = None if key_set else "set GEMINI_API_KEY (or GOOGLE_API_KEY) on the server"
    elif provider == "scripted":
        endpoint, key_set, problem = None, False, None
    else:
        endpoint, key_set, problem = None, False, f"unknown model provider {provider!r}"
    return {**found, "endpoint": endpoint and public_url(endpoint), "key_set": key_set,
            "problem": problem, "configured": problem is None}


def _load(module: str, name: str, package: str) -> Any:
    """Import adapter ``name`` from ``module`` now, when a model of its kind is resolved.

    Raises:
        OvermindError: the SDK is not installed (the message says what to install).
    """
    try:
        loaded = importlib.import_module(f"{__package__}.{module}")
    except ImportError as exc:
        raise OvermindError(f"this model needs the {package} package: "
                            f"pip install {package}") from exc
    return getattr(loaded, name)


__all__ = ["FallbackModel", "MissingAPIKey", "describe_model", "resolve_model",
           "split_base_url"]
