"""The administrator's command policy, and how it binds the built-in agent.

An admin sets ``c.Overmind.command_policy`` (``{"allow": [...], "deny": [...], "default":
"allow"|"ask"|"deny"}``, see ``server.app`` and docs/jupyterhub.md). The engine then

- answers every agent's ACP permission request for a command with it (``runtime``), and
- gives it to every agent mission as the environment variable ``OVERMIND_COMMAND_POLICY``
  (JSON, ``mission_env``), at every launch, so the built-in agent's own ``run_command``
  check is bound by it too (``policy_from_env`` → ``BoundPolicy``). A mission may not set
  the variable itself while an admin policy is in force (``check_mission_env``).

Inside the built-in agent, **deny wins** and otherwise nothing changes:

- a command the admin policy denies (``policy.decide``: a deny entry anywhere in the line,
  a command it cannot parse, or anything not on its allow list under ``default: deny``) is
  refused at once, with no question; the agent's own allow list can never override it (and
  its own deny list stays in force too);
- any other command gets the agent's own decision: its allow list (``DEFAULT_POLICY``:
  ``ls``, ``pytest``, ``git status`` …) runs at once; everything else becomes an ACP
  permission request, which the engine answers with the admin policy — allowed there (an
  admin allow entry) → approved without a human; ``ask`` → a question to the host.

So an admin allow entry spares the host the question but never the engine's permission
request, and it never allows what ``policy.decide`` refuses to auto-allow (chains,
substitutions, wrappers, paths outside the workspace …): those still reach the host, or
are refused under ``default: deny``. The admin's ``default: ask`` does not make the agent
ask about its own safe commands (as for every other ACP agent, the admin policy decides what
agents ask about); to stop one, deny it. Without ``OVERMIND_COMMAND_POLICY`` the agent uses
its own policy alone; a malformed value is an error (the agent refuses to start), never "no
policy".
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from ..config import COMMAND_POLICY_ENV
from ..errors import UsageError
from .policy import CommandPolicy, Decision

__all__ = ["ENV_VAR", "BoundPolicy", "check_mission_env", "mission_env", "policy_from_env",
           "policy_from_json", "policy_from_mapping", "policy_json"]

ENV_VAR = COMMAND_POLICY_ENV
_KEYS = ("allow", "deny", "default")


def policy_from_mapping(data: Mapping[str, Any], where: str) -> CommandPolicy:
    """``{"allow": [prefix…], "deny": [prefix…], "default": …}`` as a ``CommandPolicy``.

    Missing ``allow``/``deny`` are empty lists; a missing ``default`` is ``ask``.

    Args:
        data: the mapping (from traitlets config or decoded JSON).
        where: names its source in error messages, e.g. ``c.Overmind.command_policy``.

    Raises:
        UsageError: not a mapping, unknown keys, lists that are not lists of plain command
            prefixes, or a default other than allow/ask/deny.
    """
    if not isinstance(data, Mapping):
        raise UsageError(f"{where}: expected an object with allow, deny and default, "
                         f"not {type(data).__name__}")
    unknown = set(data) - set(_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown keys {sorted(map(str, unknown))}; "
                         "use allow, deny and default")
    try:
        return CommandPolicy(**{"allow": [], "deny": [], **data})
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message}") from None


def policy_json(policy: CommandPolicy) -> str:
    """``policy`` as the compact JSON ``policy_from_json`` reads back (the env value)."""
    return json.dumps({"allow": list(policy.allow), "deny": list(policy.deny),
                       "default": policy.default.value}, separators=(",", ":"))


def policy_from_json(text: str) -> CommandPolicy:
    """The policy in ``text`` (the value of ``OVERMIND_COMMAND_POLICY``).

    Strict: one JSON object, no duplicate keys, only ``allow``/``deny``/``default``.

    Raises:
        UsageError: naming ``OVERMIND_COMMAND_POLICY``, for anything else (empty included).
    """
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, UsageError) as exc:
        raise UsageError(f"{ENV_VAR} is not a valid command policy ({exc}); set it to a JSON "
                         'object like {"allow": ["pytest"], "deny": ["curl"], '
                         '"default": "ask"} or unset it') from None
    return policy_from_mapping(data, ENV_VAR)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise UsageError(f"duplicate keys in {keys}")
    return dict(pairs)


@dataclasses.dataclass(frozen=True)
class BoundPolicy:
    """The built-in agent's own policy bound by the admin's: the admin's deny wins.

    Args:
        own: the agent's policy (its allow and deny lists, its default).
        admin: the administrator's policy (from ``OVERMIND_COMMAND_POLICY``).
    """

    own: CommandPolicy
    admin: CommandPolicy

    def decide(self, command: str) -> tuple[Decision, str]:
        """``(decision, reason)``: ``deny`` when the admin policy denies ``command`` (the
        reason says so), otherwise the agent's own decision and reason."""
        verdict, reason = self.admin.decide(command)
        if verdict is Decision.DENY:
            return verdict, f"the administrator's command policy ({ENV_VAR}): {reason}"
        return self.own.decide(command)


def policy_from_env(own: CommandPolicy,
                    env: Mapping[str, str]) -> CommandPolicy | BoundPolicy:
    """``own``, bound by the admin policy in ``env[OVERMIND_COMMAND_POLICY]`` when set.

    Raises:
        UsageError: the variable is set but not a valid policy (see ``policy_from_json``).
    """
    text = env.get(ENV_VAR)
    return own if text is None else BoundPolicy(own, policy_from_json(text))


def mission_env(admin: CommandPolicy | None) -> dict[str, str]:
    """What the engine adds to an agent mission's environment at every launch:
    ``{"OVERMIND_COMMAND_POLICY": policy_json(admin)}``, or nothing without an admin policy."""
    return {} if admin is None else {ENV_VAR: policy_json(admin)}


def check_mission_env(admin: CommandPolicy | None, env: Mapping[str, str]) -> None:
    """Refuse a mission that sets its own ``OVERMIND_COMMAND_POLICY`` under an admin policy
    (the admin's binds every agent; a mission's own environment would otherwise win).

    Raises:
        UsageError: ``env`` sets the variable while ``admin`` is not None.
    """
    if admin is not None and ENV_VAR in env:
        raise UsageError(f"the administrator's command policy (c.Overmind.command_policy) "
                         f"binds every agent on this server; remove {ENV_VAR} from the "
                         "mission's environment")
