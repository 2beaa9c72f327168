"""Answering an agent's ACP ``session/request_permission``: which command the tool call
runs, what the command policy says of it, and which of the agent's options says so.

Agents differ on the wire (notes/real-agents.md): Claude sends ``rawInput.command`` as a
string, Codex as an argv list (``["/bin/bash", "-lc", "git config …"]``), Gemini sends no
``rawInput`` and puts the command in the ``title`` (kind ``execute``). They list their
options in different orders (Claude and Gemini put ``allow_always`` first), so the answer
is picked by option kind, never by position (ACP schema, ``PermissionOptionKind``).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from enum import Enum
from typing import Any

from .policy import CommandPolicy, Decision, decide

__all__ = ["Answer", "Command", "command_of", "judge", "option_for"]

_SHELLS = frozenset({"sh", "bash", "zsh", "dash"})


class Answer(str, Enum):
    """The host's (or the policy's) answer to a permission request."""

    ALLOW = "allow"  # this call only
    ALWAYS = "always"  # this call and the agent's later ones like it
    DENY = "deny"


# answer → the option kinds that carry it, best first (a narrower grant is a safe stand-in
# for a wider one; a wider one never stands in for a narrower one)
_KINDS = {Answer.ALLOW: ("allow_once",), Answer.ALWAYS: ("allow_always", "allow_once"),
          Answer.DENY: ("reject_once", "reject_always")}


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    """The shell command a tool call runs.

    Attributes:
        text: the command line.
        exact: from ``rawInput`` (what the agent runs); False when derived from a
            human ``title``, which the policy may deny but never allow.
    """

    text: str
    exact: bool


def command_of(tool_call: Any) -> Command | None:
    """The command of an ACP ``ToolCallUpdate``, or None when it runs no known command."""
    raw = tool_call.raw_input
    if isinstance(raw, dict):
        command = raw.get("command")
        if isinstance(command, str):
            return Command(command, True)
        if isinstance(command, list) and command and all(isinstance(w, str) for w in command):
            return Command(_unshell(command), True)
    if raw is None and str(tool_call.kind) == "execute" and tool_call.title:
        return Command(str(tool_call.title), False)
    return None


def _unshell(argv: list[str]) -> str:
    """``[bash, -lc, SCRIPT]`` runs SCRIPT in a shell: judge SCRIPT; any other argv as
    its shell-quoted line."""
    if len(argv) == 3 and os.path.basename(argv[0]) in _SHELLS and argv[1] in ("-c", "-lc"):
        return argv[2]
    return shlex.join(argv)


def judge(policy: CommandPolicy, command: Command | None) -> tuple[Decision, str]:
    """The policy's decision on a tool call's command; ``ASK`` for what it cannot judge
    (no command, or one derived from a title that would be allowed)."""
    if command is None:
        return Decision.ASK, "the tool call runs no command the policy can read"
    decision, reason = decide(policy, command.text)
    if decision is Decision.ALLOW and not command.exact:
        return Decision.ASK, "the command was read from the tool call's title, not its input"
    return decision, reason


def option_for(answer: Answer, options: list[Any]) -> str | None:
    """The id of the agent's option (ACP ``PermissionOption``) carrying ``answer``, or
    None when it offers none (the request is then answered ``cancelled``)."""
    by_kind: dict[str, str] = {}
    for option in options:
        by_kind.setdefault(str(option.kind), option.option_id)
    for kind in _KINDS[answer]:
        if kind in by_kind:
            return by_kind[kind]
    return None
