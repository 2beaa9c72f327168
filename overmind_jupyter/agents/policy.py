"""The command policy of agents' ``run_command`` tool (their environment: ``tool_env``).

``decide(policy, command)`` answers ``(Decision, reason)``. The rules, in order:

1. A command that cannot be shown faithfully or parsed is **denied**: not a string, empty,
   control or invisible formatting characters (anything but tab and newline: they can hide
   part of the command from the host who approves it), unbalanced quotes, a trailing
   backslash. Parsing is ``shlex`` (POSIX mode, ``punctuation_chars``, no comments); it is
   not a shell parser, so doubt always goes the safe way.
2. **Deny wins**: a deny entry matching any simple command of the line is a denial, also
   inside chains, ``$(…)``/backticks, ``sh -c '…'`` strings, behind wrappers (``sudo``,
   ``env``, ``xargs``, ``timeout`` …) and after ``find -exec``. The first word of a deny
   entry also matches by basename (``/bin/rm`` for ``rm``).
3. **Never auto-allowed** (at most ``ASK``; ``DENY`` when the policy's default is deny):
   a line break; ``$`` (substitution, expansion) or backticks; shell operators ``&&``
   ``||`` ``;`` ``|`` ``&`` ``(`` ``)`` ``<`` ``>`` and their combinations (a quoted
   operator standing alone as a word, like ``grep ';'``, counts too); leading
   ``NAME=value`` assignments; wrappers that run another command (``env``, ``sudo``,
   ``xargs``, ``eval``, ``exec``, ``nohup``, ``timeout`` …); shells (``bash``, ``sh``,
   ``zsh`` … with any arguments); interpreters given inline code (``python -c``,
   ``perl -e``, ``node -e``, ``ruby -e`` …: a command string in disguise, like ``sh -c``,
   even when the interpreter itself is on the allow list); ``awk`` (its program is always
   inline and can call ``system``); ``git -c``/``--config-env``/``--exec-path``; arguments
   that run commands (``-exec``, ``-execdir``, ``-ok``, ``-okdir``, ``--exec``, ``--pre``);
   arguments naming a path outside the working directory (starting with ``/`` or ``~``,
   or with a ``..`` component, also as ``--opt=value``) or a path protected from agents'
   writes (``.git``, ``.bashrc``, … see ``confine.protection``).
4. Otherwise an allow entry that is a prefix of the command's words **allows** it
   (``pytest`` allows ``pytest -q tests``; ``git status`` does not allow ``git stash``).
5. Otherwise the policy's ``default``.

An allowed command is meant to run as an argv without a shell; an approved ``ASK`` runs
exactly as shown to the host.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shlex
import unicodedata
from collections.abc import Iterator, Sequence
from enum import Enum

from ..errors import OvermindError, UsageError
from .confine import protection

__all__ = ["DEFAULT_POLICY", "CommandDenied", "CommandPolicy", "Decision", "decide"]


class CommandDenied(OvermindError):
    """A command the policy denies (or the host declined)."""

    reason = "command-denied"
    http_status = 403


class Decision(str, Enum):
    """What happens to a command: run it, ask the host first, or refuse it."""

    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


@dataclasses.dataclass(frozen=True)
class CommandPolicy:
    """Allow and deny lists of command prefixes (as shell words) and a default.

    Args:
        allow: prefixes run without asking, e.g. ``"pytest"``, ``"git status"``.
        deny: prefixes refused outright; they win over ``allow``.
        default: the decision for commands on neither list.

    Raises:
        UsageError: lists that are not lists of plain command prefixes (strings), or a
            default other than allow/ask/deny.
    """

    allow: Sequence[str]
    deny: Sequence[str]
    default: Decision = Decision.ASK

    def __post_init__(self) -> None:
        for field in ("allow", "deny"):
            entries = getattr(self, field)
            if not isinstance(entries, (list, tuple)) or not all(isinstance(e, str)
                                                                 for e in entries):
                raise UsageError(f"{field} must be a list of command prefixes (strings)")
            for entry in entries:
                _entry_words(entry)  # validates
            object.__setattr__(self, field, tuple(entries))
        try:
            object.__setattr__(self, "default", Decision(self.default))
        except ValueError:
            raise UsageError(f"default must be allow, ask or deny, not {self.default!r}") from None

    def decide(self, command: str) -> tuple[Decision, str]:
        """Same as ``decide(self, command)``."""
        return decide(self, command)


@functools.lru_cache(maxsize=512)
def _entry_words(entry: str) -> tuple[str, ...]:
    try:
        words = tuple(_tokens(entry)) if isinstance(entry, str) else ()
    except ValueError:
        words = ()
    if not words or any(_is_operator(w) for w in words):
        raise UsageError(f"bad command prefix {entry!r}: give plain shell words like "
                         "'git status' (no operators, balanced quotes)")
    return words


# -- parsing ------------------------------------------------------------------------------

_OPERATOR_CHARS = frozenset("();<>|&")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh",
                     "tcsh", "busybox", "rbash", "pwsh", "powershell"})
# wrapper → its options that take a separate argument
_WRAPPERS: dict[str, frozenset[str]] = {
    "env": frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
    "sudo": frozenset({"-u", "-g", "-U", "-C", "-D", "-h", "-p", "-r", "-t", "-T"}),
    "doas": frozenset({"-u", "-C"}), "su": frozenset({"-c", "-s", "-g", "-G"}),
    "runuser": frozenset({"-u", "-g", "-G", "-c", "-s"}),
    "xargs": frozenset({"-I", "-i", "-d", "-E", "-e", "-L", "-l", "-n", "-P", "-s", "-a"}),
    "eval": frozenset(), "exec": frozenset({"-a"}), "command": frozenset(),
    "builtin": frozenset(), "nohup": frozenset(), "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n", "-p"}), "timeout": frozenset({"-s", "-k", "--signal"}),
    "time": frozenset({"-f", "-o"}), "stdbuf": frozenset({"-i", "-o", "-e"}),
    "setsid": frozenset(), "chroot": frozenset(), "unshare": frozenset(),
    "nsenter": frozenset({"-t"}), "watch": frozenset({"-n", "-d"}),
    "parallel": frozenset(), "strace": frozenset({"-e", "-o", "-p"}),
    "ltrace": frozenset({"-e", "-o", "-p"}), "flock": frozenset({"-w", "-E"}),
    "script": frozenset(), "unbuffer": frozenset(), "chronic": frozenset(),
    "ssh": frozenset({"-p", "-i", "-o", "-l", "-F", "-J", "-L", "-R", "-D", "-b", "-c", "-E",
                      "-e", "-m", "-O", "-Q", "-S", "-w", "-W", "-B", "-I"}),
    "source": frozenset(), ".": frozenset(), "fakeroot": frozenset(),
}
_AWKS = frozenset({"awk", "gawk", "mawk", "nawk"})
_PYTHON = re.compile(r"(python|pypy)[\d.]*")
_INLINE_FLAGS = {  # interpreter → flags taking inline code
    "perl": frozenset({"-e", "-E"}), "ruby": frozenset({"-e"}),
    "node": frozenset({"-e", "--eval", "-p", "--print"}),
    "nodejs": frozenset({"-e", "--eval", "-p", "--print"}),
    "bun": frozenset({"-e", "--eval", "-p", "--print"}), "deno": frozenset({"eval"}),
    "php": frozenset({"-r", "-R", "-B", "-E"}), "lua": frozenset({"-e"}),
    "Rscript": frozenset({"-e"}), "osascript": frozenset({"-e"}),
}
_EXEC_ARGS = frozenset({"-exec", "-execdir", "-ok", "-okdir", "--exec", "--exec-batch",
                        "--pre"})
_NUMBER = re.compile(r"[\d.]+[smhd]?")


def _tokens(text: str) -> list[str]:
    """Shell words and operator tokens of ``text``; ``ValueError`` when unparseable."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    return list(lexer)


def _is_operator(word: str) -> bool:
    return bool(word) and set(word) <= _OPERATOR_CHARS


def _strip_assignments(words: Sequence[str]) -> list[str]:
    i = 0
    while i < len(words) and _ASSIGNMENT.match(words[i]):
        i += 1
    return list(words[i:])


def _segments(words: Sequence[str]) -> Iterator[list[str]]:
    segment: list[str] = []
    for word in [*words, ";"]:
        if _is_operator(word):
            if segment:
                yield segment
            segment = []
        else:
            segment.append(word)


def _wrapped(head: str, words: Sequence[str]) -> list[str]:
    """The command a wrapper ``words[0]`` runs (its options and arguments skipped)."""
    takes_argument = _WRAPPERS.get(head, frozenset())
    i = 1
    while i < len(words):
        word = words[i]
        if word == "--":
            i += 1
            break
        if word in takes_argument:
            i += 2
        elif word.startswith("-") or _ASSIGNMENT.match(word) or _NUMBER.fullmatch(word):
            i += 1
        else:
            break
    return list(words[i:])


def _shell_script(words: Sequence[str]) -> str | None:
    """The ``-c`` string of a shell command line, if any."""
    for i, word in enumerate(words[1:], 1):
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            return words[i + 1] if i + 1 < len(words) else ""
    return None


def _commands(text: str, depth: int = 0) -> Iterator[list[str]]:
    """Every simple command ``text`` may run, as far as we can tell (for deny matching)."""
    try:
        words = _tokens(text.replace("`", " ; "))
    except ValueError:
        try:
            words = _tokens(text)
        except ValueError:
            return
    for segment in _segments(words):
        yield from _unwrap(segment, depth)


def _unwrap(words: Sequence[str], depth: int) -> Iterator[list[str]]:
    words = _strip_assignments(words)
    if not words:
        return
    yield words
    head = os.path.basename(words[0])
    if head == "ssh":  # host, then a command line for the remote shell
        yield from _commands(shlex.join(_wrapped(head, words)[1:]), depth + 1)
    elif head in _WRAPPERS:
        yield from _unwrap(_wrapped(head, words), depth)
    for i, word in enumerate(words):
        if word in _EXEC_ARGS:
            yield from _unwrap(words[i + 1:], depth)
    if depth >= 4:
        return
    if head in _SHELLS or head in ("su", "runuser"):
        script = _shell_script(words)
        if script:
            yield from _commands(script, depth + 1)
    for word in words[1:]:
        if "$(" in word or " ; " in word:  # quoted substitution (backticks became " ; ")
            yield from _commands(word.replace("$(", " ; ").replace(")", " ; "), depth + 1)


def _matches(entry: Sequence[str], words: Sequence[str], *, basename: bool) -> bool:
    if len(words) < len(entry) or list(words[1:len(entry)]) != list(entry[1:]):
        return False
    return words[0] == entry[0] or (basename and os.path.basename(words[0]) == entry[0])


# -- hazards: what a prefix match never allows ----------------------------------------------

def _inline_code(head: str, words: Sequence[str]) -> str | None:
    if _PYTHON.fullmatch(head):
        i = 1
        while i < len(words):
            word = words[i]
            if not word.startswith("-") or word.startswith("--") or word == "-":
                return None  # a script, stdin or a long option ends the interpreter's flags
            for j, flag in enumerate(word[1:], 1):
                if flag == "c":
                    return f"`{head} -c` runs inline code"
                if flag == "m":
                    return None  # what follows belongs to the module
                if flag in "WX":
                    i += j == len(word) - 1  # the option's argument is the next word
                    break
            i += 1
        return None
    flags = _INLINE_FLAGS.get(head)
    if flags is None:
        return None
    for word in words[1:]:
        name = word.split("=", 1)[0]
        if name in flags or (head in ("perl", "ruby") and re.fullmatch(r"-[a-zA-Z]*[eE]",
                                                                          word)):
            return f"`{head} {name}` runs inline code"
    return None


def _path_hazard(word: str) -> str | None:
    values = [word]
    if word.startswith("-") and "=" in word:
        values.append(word.split("=", 1)[1])
    for value in values:
        if value.startswith(("/", "~")) or ".." in value.split("/"):
            return f"`{word}` names a path outside the working directory"
    for value in values:
        why = protection([p for p in value.split("/") if p not in ("", ".")], write=True)
        if why is not None:
            return f"`{word}` names a protected path: {values[-1]} {why}"
    return None


def _hazard(command: str, words: Sequence[str]) -> str | None:
    """Why ``command`` may not be allowed by a prefix match, or ``None``."""
    if "\n" in command:
        return "it contains a line break (several commands)"
    if "$(" in command or "`" in command:
        return "it uses command substitution (`$(…)` or backticks)"
    if "$" in command:
        return "it uses `$` expansion"
    for word in words:
        if _is_operator(word):
            return f"it uses the shell operator `{word}` (chaining, piping, redirection)"
    if _ASSIGNMENT.match(words[0]):
        return f"it sets environment variables (`{words[0]}`)"
    head = os.path.basename(words[0])
    if head in _SHELLS:
        return f"`{head}` runs a shell"
    if head in _WRAPPERS:
        return f"`{head}` runs another command"
    if head in _AWKS:
        return f"`{head}` runs an inline program that can start commands"
    inline = _inline_code(head, words)
    if inline:
        return inline
    if head == "git":
        for word in words[1:]:
            if not word.startswith("-"):
                break
            if word == "-c" or word.startswith(("--config-env", "--exec-path", "-c")):
                return f"`git {word}` overrides git's configuration"
    for word in words[1:]:
        if word in _EXEC_ARGS or word.split("=", 1)[0] in _EXEC_ARGS:
            return f"`{word}` runs another command"
    for word in words[1:]:
        why = _path_hazard(word)
        if why:
            return why
    return None


def _unsafe_char(command: str) -> str | None:
    for ch in command:
        if ch in "\t\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            return f"U+{ord(ch):04X}"
    return None


def decide(policy: CommandPolicy, command: str) -> tuple[Decision, str]:
    """The decision for ``command`` under ``policy``, with a reason for humans."""
    if not isinstance(command, str):
        return Decision.DENY, "the command is not a string"
    char = _unsafe_char(command)
    if char:
        return Decision.DENY, (f"the command contains the invisible or control character "
                               f"{char}, which could hide part of it from the host")
    try:
        words = _tokens(command)
    except ValueError as exc:
        return Decision.DENY, (f"the command cannot be parsed ({exc}); balance its quotes "
                               "and escapes")
    if not words:
        return Decision.DENY, "the command is empty"
    for simple in _commands(command):
        for entry in policy.deny:
            if _matches(_entry_words(entry), simple, basename=True):
                return Decision.DENY, (f"`{shlex.join(simple)}` matches the deny list "
                                       f"entry `{entry}`")
    hazard = _hazard(command, words)
    if hazard:
        decision = Decision.DENY if policy.default is Decision.DENY else Decision.ASK
        return decision, f"{hazard}, so no allow list entry applies"
    for entry in policy.allow:
        if _matches(_entry_words(entry), words, basename=False):
            return Decision.ALLOW, f"matches the allow list entry `{entry}`"
    return policy.default, (f"`{words[0]}` is not on the allow list "
                            f"(policy default: {policy.default.value})")


DEFAULT_POLICY = CommandPolicy(
    allow=["ls", "pwd", "cat", "head", "tail", "wc", "stat", "du", "tree", "diff", "grep",
           "rg", "which", "echo", "git status", "git diff", "git log", "git show",
           "git blame", "git ls-files", "git rev-parse", "git branch --show-current",
           "pytest", "python -m pytest", "python3 -m pytest", "ruff check",
           "ruff format --check", "python -m ruff check", "mypy"],
    deny=["sudo", "su", "doas", "git push", "git config", "git credential",
          "git credential-store", "git credential-cache", "git remote add",
          "git remote set-url", "mkfs", "shutdown", "reboot", "rm -rf /", "rm -rf ~"],
    default=Decision.ASK,
)
