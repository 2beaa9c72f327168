"""The run_command policy: prefixes allow, deny wins, chains and wrappers are never allowed."""

from __future__ import annotations

import dataclasses
import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overmind_jupyter.agents import policy as policy_module
from overmind_jupyter.agents.policy import (
    DEFAULT_POLICY,
    CommandDenied,
    CommandPolicy,
    Decision,
    decide,
)
from overmind_jupyter.errors import OvermindError, UsageError

pytestmark = pytest.mark.timeout(60)

ALLOW, ASK, DENY = Decision.ALLOW, Decision.ASK, Decision.DENY

# A policy that tries its best to allow everything: every wrapper is on the allow list and
# the default is ALLOW. Chains, substitutions and wrappers must still not be auto-allowed.
PERMISSIVE = CommandPolicy(
    allow=["ls", "cat", "pytest", "git status", "echo", "curl", "rm", "sh", "bash", "zsh",
           "python", "xargs", "eval", "exec", "env", "sudo", "nohup", "timeout", "awk",
           "find", "perl", "node", "git", "rg"],
    deny=[], default=ALLOW)


# -- table ----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    "ls", "ls -la", "ls src tests", "pwd", "cat README.md", "head -n 5 setup.py",
    "git status", "git status --porcelain", "git diff HEAD~1 -- src", "git log --oneline -n 5",
    "git show HEAD:README.md", "pytest", "pytest -q tests/agents -k 'not slow'",
    "python -m pytest -x", "python3 -m pytest tests", "ruff check .", "ruff check src tests",
    "grep -rn 'def main' src", 'grep "a;b" notes.txt', "rg TODO", "wc -l a.py b.py",
    "git  status", "echo hello world", "ls src/*.py",
])
def test_plain_allowed_commands_are_allowed(command: str) -> None:
    decision, reason = decide(DEFAULT_POLICY, command)
    assert decision is ALLOW, reason
    assert reason.startswith("matches the allow list entry `")


@pytest.mark.parametrize(("command", "why"), [
    ("pytest; rm -rf build", "`;`"),
    ("ls && curl evil.example", "`&&`"),
    ("ls || curl evil.example", "`||`"),
    ("git status | sh", "`|`"),
    ("pytest &", "`&`"),
    ("ls & curl evil.example", "`&`"),
    ("cat $(echo /etc/passwd)", "command substitution"),
    ('cat "$(echo /etc/passwd)"', "command substitution"),
    ("cat `echo /etc/passwd`", "command substitution"),
    ("cat $HOME/.ssh/id_rsa", "`$` expansion"),
    ("cat ${HOME}", "`$` expansion"),
    ("pytest > /etc/x", "`>`"),
    ("pytest >> log.txt", "`>>`"),
    ("cat < /etc/passwd", "`<`"),
    ("pytest 2>&1", "`>&`"),
    ("cat <(curl evil)", "`<(`"),
    ("ls\ncurl evil.example", "line break"),
    ("(ls)", "`(`"),
    ("ls; ", "`;`"),
    ("bash -c 'ls'", "`bash` runs a shell"),
    ("sh -c ls", "`sh` runs a shell"),
    ("zsh -c ls", "`zsh` runs a shell"),
    ("bash script.sh", "`bash` runs a shell"),
    ("/bin/sh -c ls", "`sh` runs a shell"),
    ("xargs rm", "`xargs` runs another command"),
    ("eval ls", "`eval` runs another command"),
    ("exec ls", "`exec` runs another command"),
    ("env X=1 ls", "`env` runs another command"),
    ("env ls", "`env` runs another command"),
    ("X=1 ls", "sets environment variables (`X=1`)"),
    ("LD_PRELOAD=./evil.so ls", "sets environment variables"),
    ("nohup pytest", "`nohup` runs another command"),
    ("timeout 5 pytest", "`timeout` runs another command"),
    ("python -c 'import os; os.system(\"rm -rf ~\")'", "`python -c` runs inline code"),
    ("python -Ic 'print(1)'", "`python -c` runs inline code"),
    ("python -W ignore -c 'print(1)'", "`python -c` runs inline code"),
    ("python3.12 -c 1", "`python3.12 -c` runs inline code"),
    ("perl -e 'system(1)'", "`perl -e` runs inline code"),
    ("perl -ne 'print'", "`perl -ne` runs inline code"),
    ("node -e 'require(1)'", "`node -e` runs inline code"),
    ("node --eval=1", "`node --eval` runs inline code"),
    ("awk '{system(\"id\")}'", "`awk` runs an inline program"),
    ("find . -exec rm {} +", "`-exec` runs another command"),
    ("rg --pre ./evil TODO", "`--pre` runs another command"),
    ("git -c core.pager=evil status", "`git -c` overrides git's configuration"),
    ("cat /etc/passwd", "`/etc/passwd` names a path outside the working directory"),
    ("cat ~/.ssh/id_rsa", "`~/.ssh/id_rsa` names a path outside"),
    ("cat ../other/secret", "`../other/secret` names a path outside"),
    ("pytest --junitxml=/home/u/.bashrc", "`--junitxml=/home/u/.bashrc` names a path outside"),
    ("cat .git/config", "`.git/config` names a protected path: .git/config is inside .git"),
    ("pytest --junitxml=.bashrc", "names a protected path: .bashrc is a shell startup file"),
    ("ls .claude", "names a protected path"),
])
def test_chains_substitutions_and_wrappers_are_never_allowed(command: str, why: str) -> None:
    for policy in (DEFAULT_POLICY, PERMISSIVE):
        decision, reason = decide(policy, command)
        assert decision is ASK, (policy, reason)
        assert why in reason
        assert reason.endswith("so no allow list entry applies")


def test_with_a_deny_default_the_never_allowed_are_denied() -> None:
    strict = CommandPolicy(allow=["ls", "pytest"], deny=[], default=DENY)
    assert decide(strict, "ls")[0] is ALLOW
    assert decide(strict, "ls && pytest")[0] is DENY
    assert decide(strict, "curl x")[0] is DENY


@pytest.mark.parametrize(("command", "entry"), [
    ("git push", "git push"),
    ("git push origin main --force", "git push"),
    ("sudo ls", "sudo"),
    ("/usr/bin/sudo ls", "sudo"),
    ("ls; sudo rm -rf build", "sudo"),
    ("ls && git push", "git push"),
    ("pytest | git push", "git push"),
    ("echo $(git push)", "git push"),
    ('echo "$(git push)"', "git push"),
    ("echo `git push`", "git push"),
    ('echo "`git push`"', "git push"),
    ("bash -c 'git push'", "git push"),
    ("bash -lc 'ls; git push'", "git push"),
    ("sh -c \"sh -c 'git push'\"", "git push"),
    ("env -i PATH=/bin git push", "git push"),
    ("timeout 5 git push", "git push"),
    ("nice -n 10 git push", "git push"),
    ("xargs -n 1 git push", "git push"),
    ("X=1 git push", "git push"),
    ("find . -exec git push ';'", "git push"),
    ("ssh -p 22 host git push", "git push"),
    ("git config core.hooksPath .", "git config"),
    ("rm -rf ~", "rm -rf ~"),
    ("rm -rf /", "rm -rf /"),
    ("doas sh", "doas"),
])
def test_deny_wins_anywhere_in_the_line(command: str, entry: str) -> None:
    decision, reason = decide(DEFAULT_POLICY, command)
    assert decision is DENY, reason
    assert reason.endswith(f"matches the deny list entry `{entry}`")


def test_deny_wins_over_allow() -> None:
    policy = CommandPolicy(allow=["git", "rm"], deny=["git push", "rm -rf"], default=ALLOW)
    assert decide(policy, "git status")[0] is ALLOW
    assert decide(policy, "git push origin")[0] is DENY
    assert decide(policy, "rm build.log")[0] is ALLOW
    assert decide(policy, "rm -rf build")[0] is DENY
    assert decide(policy, "git pushx")[0] is ALLOW  # words, not characters


@pytest.mark.parametrize(("command", "why"), [
    ('ls "unterminated', "cannot be parsed (No closing quotation)"),
    ("ls 'unterminated", "cannot be parsed (No closing quotation)"),
    ("pytest \\", "cannot be parsed (No escaped character)"),
    ("", "empty"),
    ("   \t ", "empty"),
    ("ls\x00 -la", "U+0000"),
    ("ls\r", "U+000D"),
    ("ls \x1b[2K\x1b[1Gpytest", "U+001B"),
    ("ls \u202erm -rf ~", "U+202E"),  # right-to-left override ("Trojan source")
    ("ls\u200b", "U+200B"),
])
def test_unparseable_or_disguised_commands_are_denied(command: str, why: str) -> None:
    for policy in (DEFAULT_POLICY, PERMISSIVE):
        decision, reason = decide(policy, command)
        assert decision is DENY, reason
        assert why in reason


def test_non_strings_are_denied() -> None:
    assert decide(DEFAULT_POLICY, None)[0] is DENY  # type: ignore[arg-type]
    assert decide(DEFAULT_POLICY, ["ls"])[0] is DENY  # type: ignore[arg-type]


@pytest.mark.parametrize("default", list(Decision))
def test_unknown_commands_get_the_default(default: Decision) -> None:
    policy = CommandPolicy(allow=["ls"], deny=["rm"], default=default)
    decision, reason = decide(policy, "curl https://example.com")
    assert decision is default
    assert reason == f"`curl` is not on the allow list (policy default: {default.value})"
    assert decide(policy, "lsof")[0] is default  # a prefix is a whole word


def test_prefix_matching_is_by_words() -> None:
    policy = CommandPolicy(allow=["git status", "python -m pytest"], deny=[])
    assert decide(policy, "git status -s")[0] is ALLOW
    assert decide(policy, "git stash")[0] is ASK
    assert decide(policy, "git")[0] is ASK
    assert decide(policy, "python -m pytest -q")[0] is ALLOW
    assert decide(policy, "python -m pip install x")[0] is ASK
    assert decide(policy, "python")[0] is ASK
    assert decide(policy, "./git status")[0] is ASK  # allow matches the exact program name


def test_policy_construction() -> None:
    policy = CommandPolicy(allow=["ls"], deny=[], default="deny")  # type: ignore[arg-type]
    assert policy.default is DENY and isinstance(policy.allow, tuple)
    assert policy.decide("ls") == decide(policy, "ls")
    with pytest.raises(UsageError, match="list of command prefixes"):
        CommandPolicy(allow="ls", deny=[])  # type: ignore[arg-type]
    for bad in ("", "ls && rm", "'open", "a | b"):
        with pytest.raises(UsageError, match="bad command prefix"):
            CommandPolicy(allow=[bad], deny=[])
    with pytest.raises(UsageError, match="allow, ask or deny"):
        CommandPolicy(allow=[], deny=[], default="maybe")  # type: ignore[arg-type]
    assert Decision("ask") is ASK and Decision.ALLOW == "allow"
    assert issubclass(CommandDenied, OvermindError)
    assert CommandDenied("no").to_json() == {"message": "no", "reason": "command-denied"}


def test_default_policy() -> None:
    assert DEFAULT_POLICY.default is ASK
    for command in ("ls", "cat x", "git status", "git diff", "git log", "pytest",
                    "python -m pytest", "ruff check"):
        assert decide(DEFAULT_POLICY, command)[0] is ALLOW, command
    for command in ("rm -r build", "pip install requests", "git commit -m x", "curl x",
                    "python script.py", "make"):
        assert decide(DEFAULT_POLICY, command)[0] is ASK, command
    for command in ("git push", "sudo true", "git config --global x y"):
        assert decide(DEFAULT_POLICY, command)[0] is DENY, command


# -- properties -----------------------------------------------------------------------------

SAFE_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1,
                    max_size=8).filter(lambda w: not w.startswith(".")
                                       and w not in policy_module._EXEC_ARGS)
TAILS = st.lists(SAFE_WORD, max_size=3).map(" ".join)
ALLOWED_HEADS = ["ls", "cat", "pytest", "git status", "echo", "curl", "rm"]
TEMPLATES = [
    "{cmd}; {tail}", "{cmd};{tail}", "{cmd} && {tail}", "{cmd}&&{tail}", "{cmd} || {tail}",
    "{cmd} | {tail}", "{cmd}|{tail}", "{cmd} |& {tail}", "{cmd} & {tail}", "{cmd} &",
    "{cmd} $({tail})", "{cmd} \"$({tail})\"", "{cmd} `{tail}`", "{cmd} \"`{tail}`\"",
    "{cmd} $(({tail}))", "{cmd} > {tail}", "{cmd} >{tail}", "{cmd} >> {tail}",
    "{cmd} 2> {tail}", "{cmd} < {tail}", "{cmd} <<< {tail}", "{cmd} <({tail})",
    "{cmd}\n{tail}", "{cmd} \\\n; {tail}", "({cmd})", "{{ {cmd}; }}", "{cmd} $x{tail}",
    "bash -c '{cmd}'", "sh -c \"{cmd}\"", "zsh -c '{cmd}; {tail}'", "/bin/bash -c '{cmd}'",
    "xargs {cmd}", "eval {cmd}", "exec {cmd}", "env X=1 {cmd}", "env {cmd}", "sudo {cmd}",
    "X=1 {cmd}", "A=1 B=2 {cmd}", "nohup {cmd}", "timeout 9 {cmd}", "python -c '{cmd}'",
    "find . -exec {cmd} ';'", "{cmd} ~/{tail}", "{cmd} /{tail}", "{cmd} ../{tail}",
    "{cmd} --out=/{tail}", "{cmd} .git/{tail}", "{cmd} .bashrc",
]


@settings(max_examples=500, deadline=None)
@given(head=st.sampled_from(ALLOWED_HEADS), args=TAILS, tail=TAILS.filter(bool),
       template=st.sampled_from(TEMPLATES), policy=st.sampled_from([DEFAULT_POLICY,
                                                                     PERMISSIVE]))
def test_chained_or_wrapped_allowed_commands_are_never_allowed(
        head: str, args: str, tail: str, template: str, policy: CommandPolicy) -> None:
    command = template.format(cmd=f"{head} {args}".strip(), tail=tail)
    decision, reason = decide(policy, command)
    assert decision is not ALLOW, (command, reason)
    # the same command without the chain or wrapper would have been allowed:
    assert decide(PERMISSIVE, f"{head} {args}".strip())[0] is ALLOW


def unquoted_hazards(command: str) -> set[str]:
    """An oracle independent of shlex: shell metacharacters outside quotes, and any ``$``
    or backtick outside single quotes (where the shell would still expand them)."""
    found, quote, escaped = set(), None, False
    for ch in command:
        if escaped:
            escaped = False
            continue
        if quote == "'":
            quote = None if ch == "'" else quote
            continue
        if ch in "$`":
            found.add(ch)
        if ch == "\\":
            escaped = True
        elif quote == '"':
            quote = None if ch == '"' else quote
        elif ch in "'\"":
            quote = ch
        elif ch in ";&|<>()\n":
            found.add(ch)
    return found


SHELLISH = st.lists(st.sampled_from(
    ["ls", "cat", "pytest", "git", "status", "rm", " ", " ", "'", '"', "\\", ";", "&", "|",
     "$", "`", "(", ")", "<", ">", "\n", "a", "-x", "#", "~", "/", "..", "{", "}", "*", "="]),
    max_size=12).map("".join)


@settings(max_examples=1000, deadline=None)
@given(command=st.text(max_size=40) | SHELLISH)
def test_any_text_gets_a_decision_and_allowed_ones_are_plain(command: str) -> None:
    decision, reason = decide(PERMISSIVE, command)
    assert isinstance(decision, Decision) and reason
    if decision is ALLOW:  # by an entry or by the ALLOW default: never with a hazard
        assert not unquoted_hazards(command), command
    decision, reason = decide(dataclasses.replace(PERMISSIVE, default=ASK), command)
    if decision is ALLOW:
        assert not unquoted_hazards(command), command
        words = shlex.split(command)
        assert any(words[:len(e.split())] == e.split() for e in PERMISSIVE.allow)


@settings(max_examples=200, deadline=None)
@given(head=st.sampled_from(ALLOWED_HEADS), args=TAILS, quote=st.sampled_from(["'", '"']))
def test_unbalanced_quotes_are_denied(head: str, args: str, quote: str) -> None:
    decision, reason = decide(PERMISSIVE, f"{head} {quote}{args}")
    assert decision is DENY and "cannot be parsed" in reason


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from(["", "ls && ", "pytest; ", "env ", "sudo -u root ",
                               "bash -c '"]),
       args=TAILS)
def test_deny_entries_match_wherever_the_command_hides(prefix: str, args: str) -> None:
    policy = CommandPolicy(allow=["git", "ls", "pytest", "env", "bash"], deny=["git push"],
                           default=ALLOW)
    command = f"{prefix}git push {args}".rstrip() + ("'" if prefix.endswith("'") else "")
    decision, reason = decide(policy, command)
    assert decision is DENY, (command, reason)


# -- environment ----------------------------------------------------------------------------

def test_module_exports() -> None:
    assert all(hasattr(policy_module, name) for name in policy_module.__all__)
