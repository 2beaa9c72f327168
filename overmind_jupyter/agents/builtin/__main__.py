"""``python -m overmind_jupyter.agents.builtin [--model ID]``: serve ACP on stdio.

Its ``run_command`` policy is the built-in one, bound by the administrator's policy in
``$OVERMIND_COMMAND_POLICY`` when set (see ``agents.admin_policy``); a malformed value makes
it exit with status 2 and a message naming the variable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sys

from ...config import MAX_COST_USD_ENV, MAX_MODEL_CALLS_ENV, MAX_TOKENS_ENV, MODEL_ENV
from ...errors import UsageError
from ..admin_policy import BoundPolicy, policy_from_env
from ..policy import DEFAULT_POLICY, CommandPolicy


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the agent until stdin closes."""
    parser = argparse.ArgumentParser(prog="overmind-builtin-agent")
    parser.add_argument("--model", default=os.environ.get(MODEL_ENV),
                        help="model id, e.g. openai:gpt-4.1, gemini:gemini-2.5-pro, "
                             "scripted:PATH (default: $OVERMIND_MODEL)")
    parser.add_argument("--max-cost-usd", type=float,
                        default=_env_float(MAX_COST_USD_ENV),
                        help="stop and ask once a prompt has cost this much (USD; default: "
                             "$OVERMIND_MAX_COST_USD, unlimited)")
    parser.add_argument("--max-tokens", type=int,
                        default=_env_int(MAX_TOKENS_ENV),
                        help="stop and ask once a prompt has used this many tokens (input + "
                             "output; default: $OVERMIND_MAX_TOKENS, unlimited)")
    parser.add_argument("--max-model-calls", type=int,
                        default=int(_env_float(MAX_MODEL_CALLS_ENV) or 40),
                        help="stop and ask after this many model calls per prompt "
                             "(default: $OVERMIND_MAX_MODEL_CALLS or 40)")
    args = parser.parse_args(argv)
    if not args.model:
        print("overmind-builtin-agent: no model configured: pass --model or set "
              "OVERMIND_MODEL", file=sys.stderr)
        return 2
    policy = _command_policy()
    if policy is None:
        return 2
    _skip_schema_docstrings()
    _defer_schema_builds()
    gc.disable()  # the imports below make ~100k objects and free none: collecting is waste
    from acp import run_agent

    from ..guards import LoopLimits
    from .agent import BuiltinAgent, state_dir_from_env
    gc.enable()
    limits = LoopLimits(max_model_calls=args.max_model_calls, max_cost_usd=args.max_cost_usd,
                        max_tokens=args.max_tokens)
    asyncio.run(run_agent(BuiltinAgent(args.model, limits=limits, policy=policy,
                                       state_dir=state_dir_from_env())))
    return 0


def _command_policy() -> CommandPolicy | BoundPolicy | None:
    """The built-in policy bound by ``$OVERMIND_COMMAND_POLICY``; None (after saying why on
    stderr) when that is malformed: the agent then refuses to start rather than run
    commands unconfined by the administrator's policy."""
    try:
        return policy_from_env(DEFAULT_POLICY, os.environ)
    except UsageError as exc:
        print(f"overmind-builtin-agent: not starting: {exc.message}", file=sys.stderr)
        return None


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    try:
        return float(value) if value else None
    except ValueError:
        print(f"overmind-builtin-agent: ignoring {name}={value!r} (not a number)",
              file=sys.stderr)
        return None


def _env_int(name: str) -> int | None:
    value = _env_float(name)
    return None if value is None else int(value)


def _skip_schema_docstrings() -> None:
    """Start faster: don't read field docstrings while ``acp.schema`` builds its models.

    The SDK sets pydantic's ``use_attribute_docstrings``, so importing it parses the
    schema's source for ~270 models (~300 ms of a ~700 ms start). Descriptions only feed
    JSON Schema output, which this process never produces. Uses a private pydantic hook:
    when it is missing the import just stays slower.
    """
    try:
        from pydantic._internal import _fields
    except ImportError:  # pragma: no cover - another pydantic layout
        return
    if hasattr(_fields, "_update_fields_from_docstrings"):
        _fields._update_fields_from_docstrings = lambda *args, **kwargs: None


def _defer_schema_builds() -> None:
    """Start faster: build a pydantic model's validator when it is first used, not when
    its class is made. ``acp.schema`` defines ~270 models; an agent session uses a few
    dozen, so eager builds cost ~100 ms of CPU per agent start (~30 % of it; 8 agents
    starting at once on 2 cores wait on each other for it). Same private-hook caveat as
    ``_skip_schema_docstrings``: a pydantic without it just starts slower.
    """
    try:
        from pydantic._internal import _config
    except ImportError:  # pragma: no cover - another pydantic layout
        return
    defaults = getattr(_config, "config_defaults", None)
    if isinstance(defaults, dict) and "defer_build" in defaults:
        defaults["defer_build"] = True


def _exit_at_once(code: int) -> None:
    """End the process without the interpreter's teardown (freeing every module and the
    ~270 schema classes costs 60–160 ms of CPU, taken from agents starting beside it).
    Nothing is lost: the ACP session is over (stdin closed), transcripts are written
    synchronously, and the standard streams are flushed first."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_at_once(main())
