"""Agent missions run under the OS sandbox: an external ACP agent running its own shell
commands (as Claude Code does) and the built-in agent's tools try to write outside their
worktree, read Jupyter and hub tokens and another server's runtime file, see other processes'
command lines and escape with a symlink — the OS refuses each (real bwrap, real git,
real agent processes)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from overmind_jupyter.config import HUB_TOKEN_ENV
from overmind_jupyter.engine import Engine
from overmind_jupyter.model import MissionKind, MissionSpec
from overmind_jupyter.workspace.sandbox import Sandbox

pytestmark = pytest.mark.timeout(120)
FAKE = [sys.executable, "-m", "overmind_jupyter.testing.acp_agent"]
GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]


@pytest.fixture
def secrets_around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A git repository, a Jupyter runtime dir inside it (so only hiding protects it)
    with this server's and another server's files, a private file elsewhere, and a
    process whose command line carries a token."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.txt").write_text("a\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=repo, check=True)
    runtime = repo / "runtime"
    runtime.mkdir()
    (runtime / "overmind-1.json").write_text('{"token": "OVERMIND-TOKEN-A"}')
    (runtime / "jpserver-2.json").write_text('{"token": "OTHER-SERVER-TOKEN-B"}')
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("OVERMIND_TOKEN", "SCOPED-TOKEN-C")  # as the extension exports it
    monkeypatch.setenv(HUB_TOKEN_ENV, "HUB-TOKEN-F")  # a hub target's API token
    private = tmp_path / "private"
    private.mkdir()
    (private / "notes.txt").write_text("PRIVATE-TEXT-D\n")
    return {"repo": repo, "runtime": runtime, "private": private}


@pytest.fixture
def witness():
    """A process whose command line carries a token (as a Jupyter server's used to)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                             "--IdentityProvider.token=CMDLINE-TOKEN-E"])
    yield proc
    proc.kill()
    proc.wait()


SECRETS = ("OVERMIND-TOKEN-A", "OTHER-SERVER-TOKEN-B", "SCOPED-TOKEN-C", "PRIVATE-TEXT-D",
           "CMDLINE-TOKEN-E", "HUB-TOKEN-F")


def run_engine(repo: Path, body, **kwargs):
    async def main():
        engine = Engine(repo, agents={"fake": FAKE}, **kwargs)
        await engine.start()
        try:
            return await body(engine)
        finally:
            await engine.close()
    return asyncio.run(main())


async def messages(engine: Engine, mission_id: str) -> str:
    events = await engine.events(mission=mission_id, limit=100_000)
    return "".join(e["data"]["text"] for e in events if e["type"] == "agent-message")


def test_an_acp_agents_own_shell_is_confined_by_the_os(secrets_around, witness):
    repo, runtime, private = (secrets_around[k] for k in ("repo", "runtime", "private"))
    attempts = {
        "write": f"shell echo pwned > {repo}/a.txt",
        "escape": f"shell echo pwned > {private}/new.txt",
        "token": f"shell cat {runtime}/overmind-1.json",
        "other": f"shell cat {runtime}/jpserver-2.json",
        "symlink": f"shell ln -s {private}/notes.txt leak && cat leak",
        "procs": "shell cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ | tr '\\0' ' '",
        "env": "shell env",
        "commit": "shell echo ok > b.txt && git add b.txt && git -c user.name=a "
                  "-c user.email=a@b commit -qm in-sandbox && echo COMMITTED",
    }

    async def body(engine: Engine):
        said = {}
        for name, prompt in attempts.items():
            m = await engine.run(MissionSpec(prompt.split(), kind=MissionKind.AGENT,
                                             agent="fake", worktree=True, name=name))
            await engine.wait(m.id, 60)
            said[name] = await messages(engine, m.id)
        return said
    said = run_engine(repo, body)
    assert "Read-only file system" in said["write"], said["write"]
    assert (repo / "a.txt").read_text() == "a\n"
    assert "shell exit 2" in said["escape"] and not (private / "new.txt").exists()
    assert "No such file" in said["token"] and "No such file" in said["other"]
    assert "No such file" in said["symlink"]
    assert "CMDLINE-TOKEN-E" in " ".join(witness.args)  # the secret is on a command line …
    for text in said.values():  # … yet no attempt saw any secret
        assert not any(secret in text for secret in SECRETS), text
    assert "COMMITTED" in said["commit"], said["commit"]


def test_the_builtin_agents_commands_are_confined_by_the_os(secrets_around, witness,
                                                             tmp_path):
    repo, runtime, private = (secrets_around[k] for k in ("repo", "runtime", "private"))
    calls = [f"cat {runtime}/overmind-1.json", f"cat {runtime}/jpserver-2.json",
             f"cat {private}/notes.txt", "cat /proc/1/cmdline",
             f"sh -c 'ln -s {private}/notes.txt leak; cat leak; echo x > {repo}/a.txt'"]
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": [
        *({"tool_calls": [{"name": "run_command", "arguments": {"command": c}}]}
          for c in calls), {"text": "done"}]}))

    async def body(engine: Engine):
        m = await engine.run(MissionSpec(["try", "things"], kind=MissionKind.AGENT,
                                         worktree=True))
        # the agent's own checks ask about paths outside its workspace: the host approves
        # every command, so only the OS stands in the way
        while not (await engine.wait(m.id, 0.05)).status.terminal:
            for q in await engine.list_questions():
                await engine.answer(q.id, "allow")
        events = await engine.events(mission=m.id, limit=100_000)
        return [e["data"] for e in events if e["type"] == "tool-result"]
    results = run_engine(repo, body, provider_env={"OVERMIND_MODEL": f"scripted:{script}"})
    outputs = [json.dumps(r) for r in results]
    assert len(outputs) == len(calls), outputs
    for output in outputs[:3]:
        assert "No such file" in output, output
    assert "Read-only file system" in outputs[4] and "No such file" in outputs[4]
    assert (repo / "a.txt").read_text() == "a\n"
    for output in outputs:
        assert not any(secret in output for secret in SECRETS), output


def test_without_a_sandbox_agents_are_refused_unless_allowed(secrets_around, tmp_path):
    repo = secrets_around["repo"]
    bwrap = tmp_path / "bwrap"
    bwrap.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\n"
                     "exit 1\n")
    bwrap.chmod(0o755)

    async def refused(engine: Engine):
        status = await engine.status()
        assert status["sandbox"]["available"] is False
        with pytest.raises(Exception, match="OVERMIND_ALLOW_UNSANDBOXED=1"):
            await engine.run(MissionSpec(["hi"], kind=MissionKind.AGENT, agent="fake"))
        while not (started := [e for e in await engine.events(limit=10)
                                if e["type"] == "engine-started"]):
            await asyncio.sleep(0.01)  # committed with the next flush
        (event,) = started
        assert "No permissions to create new namespace" in event["data"]["sandbox"]["reason"]
    run_engine(repo, refused, sandbox=Sandbox(bwrap=str(bwrap)))

    async def allowed(engine: Engine):
        m = await engine.run(MissionSpec(["env", "OVERMIND_TOKEN"], kind=MissionKind.AGENT,
                                         agent="fake"))
        assert (await engine.wait(m.id, 60)).status.value == "exited"
        # unsandboxed, yet without the server's credentials
        return await messages(engine, m.id)
    said = run_engine(repo, allowed, sandbox=Sandbox(allow_unsandboxed=True, bwrap=str(bwrap)))
    assert said == "OVERMIND_TOKEN is unset"
    assert os.environ["OVERMIND_TOKEN"] == "SCOPED-TOKEN-C"
