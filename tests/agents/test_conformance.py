"""Conformance matrix: every agent through Overmind, cell by cell (issue 14).

Agents (``SUBJECTS``):

- ``scripted``: the scripted ACP agent behaving like Gemini CLI on the wire
  (``overmind_jupyter.testing.acp_agent --like gemini``);
- ``builtin``: Overmind's own agent, its model the loopback Gemini API server;
- ``gemini``: the real Gemini CLI (``@google/gemini-cli``, ``gemini --acp``) against the
  loopback Gemini API server (``GOOGLE_GEMINI_BASE_URL``);
- ``codex``: the real Codex adapter (``@agentclientprotocol/codex-acp``) against the
  loopback OpenAI Responses API server (a provider in ``~/.codex/config.toml``);
- ``sdk-echo`` and ``sdk-example``: the ACP Python SDK's example agents
  (``examples/echo_agent.py`` and ``examples/agent.py`` of the ``agent-client-protocol``
  sdist): they echo prompts and use no tools, so only handshake, prompt and end of turn
  apply;
- ``claude``: the real Claude Code adapter (``@agentclientprotocol/claude-agent-acp``)
  against the loopback Anthropic Messages API server (``ANTHROPIC_BASE_URL``).

The real adapters come from ``make agents`` (``tests/agents/install_adapters.sh``, part of
``make test``); where one is not installed its cells fail with that command. Claude Code
runs with ``IS_SANDBOX=1`` (its own switch to run as root, which CI is).

Cells: handshake, auth from env, auth missing → question, prompt, file edit, shell
command with permission, command denied by policy, cancel, end of turn → mission ends,
usage, crash. A cell that does not apply to an agent is not generated (``APPLIES``): the
built-in agent advertises no ACP ``authMethods`` and reads its key itself. Claude Code
advertises none either but answers a prompt with "authentication required" (-32000),
which becomes the same question.

The loopback model is ``testing.model_script.ScriptedModel``: prompts carry
``SCRIPT: VERB ARGS`` lines telling it which tool to call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from overmind_jupyter.engine import Engine
from overmind_jupyter.model import MissionKind, MissionSpec, exit_status
from overmind_jupyter.testing.anthropic_server import AnthropicWireServer
from overmind_jupyter.testing.gemini_server import GeminiWireServer
from overmind_jupyter.testing.model_script import (
    BUILTIN_TOOLS,
    CLAUDE_TOOLS,
    CODEX_TOOLS,
    GEMINI_TOOLS,
    ScriptedModel,
    anthropic_exchange,
    gemini_exchange,
    responses_exchange,
)
from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.responses_server import ResponsesWireServer

pytestmark = pytest.mark.timeout(120)
ADAPTERS_BIN = Path(os.environ.get("OVERMIND_AGENTS_PREFIX",
                                   Path.home() / ".cache" / "overmind-agents"),
                    "node_modules", ".bin")
EXAMPLES = ADAPTERS_BIN.parent.parent / "acp-examples"
FAKE = [sys.executable, "-m", "overmind_jupyter.testing.acp_agent", "--like", "gemini"]
INSTALL = "make agents"


@dataclasses.dataclass
class Subject:
    """One agent under test: how to start it and how to phrase each action for it."""

    name: str  # the agent name missions use (its provider's keys follow it)
    argv: Callable[[], list[str]]
    server: Callable[[], object] | None  # loopback model server factory
    env: Callable[[object | None], dict[str, str]]  # provider env given the server
    key: str  # the variable its authentication needs
    say: Callable[[str], str]
    write: Callable[[str, str], str]  # (absolute path, text) → prompt
    run: Callable[[str], str]
    slow: str
    real_tools: bool  # commands really run (the scripted agent only asks)
    prepare: Callable[[Path, object | None], None] = lambda home, server: None  # its HOME
    mode_from: str | None = None  # the non-asking mode it starts in (switched at handshake)
    named: bool = True  # it sends agentInfo (optional in ACP)
    auth_methods: bool = True  # it advertises ACP authMethods (else it asks at prompt time)


def _real(binary: str, *args: str) -> Callable[[], list[str]]:
    def argv() -> list[str]:
        path = ADAPTERS_BIN / binary
        if not path.exists():
            pytest.fail(f"{binary} is not installed in {ADAPTERS_BIN}: run `{INSTALL}`")
        return [str(path), *args]
    return argv


def _example(script: str) -> Callable[[], list[str]]:
    def argv() -> list[str]:
        path = EXAMPLES / script
        if not path.exists():
            pytest.fail(f"{script} is not in {EXAMPLES}: run `{INSTALL}`")
        return [sys.executable, str(path)]
    return argv


def _codex_config(home: Path, server) -> None:
    """Codex reads its model provider from ``~/.codex/config.toml``: the loopback one."""
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text(
        'model = "gpt-5-codex"\nmodel_provider = "loopback"\n'
        '[model_providers.loopback]\nname = "loopback"\n'
        f'base_url = "{server.url}"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n')


def _script(verb: str) -> Callable[..., str]:
    return lambda *args: f"SCRIPT: {verb} {' '.join(args)}"


SUBJECTS = {
    "scripted": Subject(
        "gemini", lambda: FAKE, None, lambda server: {"GEMINI_API_KEY": "k"},
        "GEMINI_API_KEY", lambda text: text, lambda path, text: f"write {path} {text}",
        lambda command: f"ask {command}", "slow", real_tools=False),
    "builtin": Subject(
        "builtin", lambda: [sys.executable, "-m", "overmind_jupyter.agents.builtin"],
        lambda: GeminiWireServer(responder=ScriptedModel(BUILTIN_TOOLS, gemini_exchange)),
        lambda server: {"GEMINI_API_KEY": "k",
                        "OVERMIND_MODEL": f"gemini:gemini-2.5-flash@{server.url}"},
        "GEMINI_API_KEY", _script("say"), _script("write"), _script("run"),
        "SCRIPT: slow", real_tools=True),
    "gemini": Subject(
        "gemini", _real("gemini", "--acp", "--model", "gemini-2.5-flash"),
        lambda: GeminiWireServer(responder=ScriptedModel(GEMINI_TOOLS, gemini_exchange)),
        lambda server: {"GEMINI_API_KEY": "k", "GOOGLE_GEMINI_BASE_URL": server.base_url},
        "GEMINI_API_KEY", _script("say"), _script("write"), _script("run"),
        "SCRIPT: slow", real_tools=True),
    "codex": Subject(
        "codex", _real("codex-acp"),
        lambda: ResponsesWireServer(responder=ScriptedModel(CODEX_TOOLS, responses_exchange)),
        lambda server: {"OPENAI_API_KEY": "sk-loopback"}, "OPENAI_API_KEY",
        _script("say"), _script("write"), _script("run"), "SCRIPT: slow", real_tools=True,
        prepare=lambda home, server: _codex_config(home, server), mode_from="agent"),
    "sdk-echo": Subject(
        "sdk-echo", _example("echo_agent.py"), None, lambda server: {}, "", lambda t: t,
        lambda path, text: "", lambda command: "", "", real_tools=False, named=False),
    "sdk-example": Subject(
        "sdk-example", _example("agent.py"), None, lambda server: {}, "", lambda t: t,
        lambda path, text: "", lambda command: "", "", real_tools=False),
    "claude": Subject(
        "claude", _real("claude-agent-acp"),
        lambda: AnthropicWireServer(responder=ScriptedModel(CLAUDE_TOOLS,
                                                            anthropic_exchange)),
        lambda server: {"ANTHROPIC_API_KEY": "sk-ant-loopback",
                        "ANTHROPIC_BASE_URL": server.base_url},
        "ANTHROPIC_API_KEY", _script("say"), _script("write"), _script("run"),
        "SCRIPT: slow", real_tools=True, mode_from="auto", auth_methods=False),
}
CELLS = ("handshake", "auth_from_env", "auth_missing", "prompt", "file_edit", "write_outside",
         "shell_with_permission", "denied_by_policy", "cancel", "end_of_turn", "usage",
         "crash")
APPLIES = {"builtin": set(CELLS) - {"auth_from_env", "auth_missing"},
           "sdk-echo": {"handshake", "prompt", "end_of_turn"},
           "sdk-example": {"handshake", "prompt", "end_of_turn"}}


class Bench:
    """An engine with one subject registered, a git repository as the missions' cwd, and
    the subject's loopback model server."""

    def __init__(self, subject: Subject, root: Path, keys: bool = True) -> None:
        self.subject = subject
        self.repo = make_repo(root / "repo", {"notes.txt": "old notes\n"})
        self.home = root / "home"
        self.home.mkdir()
        self.server = subject.server() if subject.server else None
        if self.server is not None:
            self.server.start()
        if keys:  # no key means no model provider configured at all
            subject.prepare(self.home, self.server)
        env = subject.env(self.server) if keys else {}  # no key, no gateway URL either
        base = {"PATH": os.environ["PATH"], "HOME": str(self.home), "LANG": "C.UTF-8",
                "IS_SANDBOX": "1", "DISABLE_AUTOUPDATER": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
        self.engine = Engine(root / "state", base_env=base, provider_env=env,
                             agents={subject.name: subject.argv()})

    async def __aenter__(self) -> Bench:
        await self.engine.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.close()
        if self.server is not None:
            self.server.stop()

    async def run(self, prompt: str):
        spec = MissionSpec(command=prompt.split(" "), kind=MissionKind.AGENT,
                           agent=self.subject.name, cwd=str(self.repo))
        return await self.engine.run(spec)

    async def events(self, mission_id: str, kind: str | None = None) -> list[dict]:
        events = await self.engine.events(after=0, limit=100_000, mission=mission_id)
        return [e for e in events if kind is None or e["type"] == kind]

    async def said(self, mission_id: str) -> str:
        return "".join(e["data"]["text"] for e in await self.events(mission_id,
                                                                      "agent-message"))

    async def question(self, timeout: float = 60.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while not (qs := await self.engine.list_questions()):
            assert asyncio.get_running_loop().time() < deadline, "no question was asked"
            await asyncio.sleep(0.05)
        return qs[0]

    async def finish(self, mission_id: str, answer: str | None = None, timeout: float = 60):
        """Wait for the mission, answering each tool question with ``answer``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        asked = []
        while not (m := self.engine.store.get_mission(mission_id)).status.terminal:
            assert loop.time() < deadline, f"mission still {m.status.value}"
            for q in await self.engine.list_questions():
                assert answer is not None, f"unexpected question: {q.text}"
                asked.append(q)
                await self.engine.answer(q.id, answer)
            await asyncio.sleep(0.05)
        return m, asked

    async def working(self, mission_id: str) -> None:
        """Until the agent is in a turn (its prompt was sent)."""
        while self.engine.agents.liveness(mission_id) != "working" or not \
                await self.events(mission_id, "agent-session"):
            await asyncio.sleep(0.05)


def cells():
    for name in SUBJECTS:
        for cell in CELLS:
            if cell in APPLIES.get(name, set(CELLS)):
                yield pytest.param(name, cell, id=f"{name}-{cell}")


@pytest.mark.parametrize("name,cell", list(cells()))
def test_cell(tmp_path, name, cell):
    subject = SUBJECTS[name]

    async def main():
        async with Bench(subject, tmp_path, keys=cell != "auth_missing") as bench:
            await globals()[f"_{cell}"](bench, subject)
    asyncio.run(main())


async def _handshake(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.say("hello"))
    await bench.finish(m.id)
    sessions = await bench.events(m.id, "agent-session")
    assert len(sessions) == 1 and sessions[0]["data"]["session_id"]
    assert bool(sessions[0]["data"]["agent"]) is s.named
    modes = [(e["data"]["from"], e["data"]["to"]) for e in await bench.events(m.id, "agent-mode")]
    assert modes == ([(s.mode_from, modes[0][1])] if s.mode_from else [])


async def _auth_from_env(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.say("hello"))
    done, _ = await bench.finish(m.id)
    assert done.status.value == "exited", done.exit
    auth = await bench.events(m.id, "agent-auth")
    assert [a["data"]["variables"] for a in auth] == ([[s.key]] if s.auth_methods else [])
    assert await bench.said(m.id)  # it answered: the key in its environment was taken


async def _auth_missing(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.say("hello"))
    q = await bench.question()
    assert q.kind == "agent-auth" and s.key in q.text
    await bench.engine.answer(q.id, "stop")
    done, _ = await bench.finish(m.id)
    assert done.status.value == "failed" and exit_status(done) != 0
    assert s.key in await bench.engine.logs(m.id)


async def _prompt(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.say("hello there"))
    await bench.finish(m.id)
    assert "hello there" in await bench.said(m.id)
    finished = await bench.events(m.id, "agent-finished")
    assert [f["data"]["stop_reason"] for f in finished] == ["end_turn"]


async def _file_edit(bench: Bench, s: Subject) -> None:
    target = bench.repo / "notes.txt"
    m = await bench.run(s.write(str(target), "new notes"))
    done, _ = await bench.finish(m.id, answer="allow")
    assert done.status.value == "exited", done.exit
    assert target.read_text() == "new notes\n"


async def _write_outside(bench: Bench, s: Subject) -> None:
    """The issue's Claude wrote a file outside the repository after an allow (it writes
    with its own tools, not through Overmind's fs methods): now the host never sees it."""
    outside = bench.repo.parent / "outside.txt"
    m = await bench.run(s.write(str(outside), "escaped"))
    await bench.finish(m.id, answer="allow")
    assert not outside.exists()
    assert (bench.repo / "notes.txt").read_text() == "old notes\n"
    tried = [e for e in await bench.events(m.id, "tool-use") if "outside.txt" in str(e["data"])]
    # Gemini CLI refuses a path outside its workspace before it calls any tool
    assert tried or not s.real_tools or s.name == "gemini", "the agent never tried"


async def _shell_with_permission(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.run("touch made-by-agent.txt"))
    done, asked = await bench.finish(m.id, answer="allow")
    assert done.status.value == "exited", done.exit
    assert [q.kind for q in asked] == ["tool-approval"]
    assert asked[0].data["command"] == "touch made-by-agent.txt"
    if s.real_tools:
        assert (bench.repo / "made-by-agent.txt").exists()
    else:
        assert "allow_once" in await bench.said(m.id)


async def _denied_by_policy(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.run("git config user.email agent@example.invalid"))
    done, _ = await bench.finish(m.id, answer=None)  # no question may be asked
    assert done.status.value == "exited", done.exit
    assert "agent@example.invalid" not in (bench.repo / ".git" / "config").read_text()
    if not s.real_tools:
        assert "reject_once" in await bench.said(m.id)
    elif s.name != "builtin":  # the built-in agent refuses it itself, without a request
        decisions = [e["data"] for e in await bench.events(m.id, "tool-decision")]
        assert [(d["command"], d["decision"]) for d in decisions] == [
            ("git config user.email agent@example.invalid", "deny")]


async def _cancel(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.slow)
    await bench.working(m.id)
    done = await asyncio.wait_for(bench.engine.stop(m.id), 30)
    # an agent may end by itself on session/cancel before the SIGTERM: a stop either way
    assert done.status.value in ("killed", "exited") and done.exit.stopped, done.exit
    finished = await bench.events(m.id, "agent-finished")
    assert [f["data"]["stop_reason"] for f in finished] == ["cancelled"]


async def _end_of_turn(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.say("bye"))
    done = await bench.engine.wait(m.id, 30)
    assert done.status.value == "exited" and exit_status(done) == 0, done.exit
    assert (await bench.engine.info(m.id))["liveness"] == "done"


async def _usage(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.say("count me"))
    await bench.finish(m.id)
    usage = [e["data"] for e in await bench.events(m.id, "agent-usage")]
    assert usage and all(u["input_tokens"] > 0 and u["output_tokens"] > 0 for u in usage)


async def _crash(bench: Bench, s: Subject) -> None:
    m = await bench.run(s.slow)
    await bench.working(m.id)
    os.killpg(bench.engine.store.get_mission(m.id).pid, signal.SIGKILL)
    done = await bench.engine.wait(m.id, 30)
    assert done.status.value == "failed" and exit_status(done) != 0
    finished = await bench.events(m.id, "agent-finished")
    assert [f["data"]["stop_reason"] for f in finished] == ["error"]
    assert (await bench.engine.info(m.id))["liveness"] == "dead"
