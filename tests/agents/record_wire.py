"""Records what the real ACP adapters send, as fixtures for ``test_real_wire.py``.

``python tests/agents/record_wire.py [claude|codex|gemini …]`` (after
``install_adapters.sh``) runs each adapter with a plain ACP client against its loopback
model server (the setup of ``test_conformance.py``) and writes every JSON-RPC message both
ways to ``tests/agents/wire/NAME.jsonl`` (``{"dir": "in"|"out", "msg": …}``; the
``available_commands_update`` lists are left out). The session: initialize,
authenticate (when a method's key is set), session/new, session/set_mode to the asking
mode, a prompt answered with text, a denied command (reject_once), an allowed command
(allow_once).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, connect_to_agent, text_block
from acp.connection import StreamDirection, StreamEvent
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    FileSystemCapabilities,
    RequestPermissionResponse,
)

sys.path.insert(0, str(Path(__file__).parent))
import test_conformance as tc

from overmind_jupyter.agents import auth
from overmind_jupyter.agents.permissions import Answer, option_for
from overmind_jupyter.agents.runtime import ASKING_MODES

WIRE = Path(__file__).parent / "wire"


class Client:
    """Denies ``git config``, allows anything else (by option kind); serves no files."""

    def on_connect(self, conn: Any) -> None:
        pass

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        pass

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **kwargs: Any) -> RequestPermissionResponse:
        denied = "git config" in json.dumps(tool_call.model_dump(by_alias=True))
        chosen = option_for(Answer.DENY if denied else Answer.ALLOW, options)
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected",
                                                                option_id=chosen))


async def record(name: str) -> None:
    subject = tc.SUBJECTS[name]
    root = Path(tempfile.mkdtemp())
    repo = tc.make_repo(root / "repo", {"notes.txt": "old notes\n"})
    home = root / "home"
    home.mkdir()
    server = subject.server()
    server.start()
    subject.prepare(home, server)
    env = {"PATH": tc.os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
           "IS_SANDBOX": "1", "DISABLE_AUTOUPDATER": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **subject.env(server)}
    messages: list[dict] = []

    def observe(event: StreamEvent) -> None:
        if "available_commands" not in json.dumps(event.message):
            way = "in" if event.direction is StreamDirection.INCOMING else "out"
            messages.append({"dir": way, "msg": event.message})

    proc = await asyncio.create_subprocess_exec(
        *subject.argv(), cwd=repo, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    conn = connect_to_agent(Client(), proc.stdin, proc.stdout,
                            observers=[observe])
    try:
        init = await conn.initialize(protocol_version=PROTOCOL_VERSION,
                                     client_capabilities=ClientCapabilities(
                                         fs=FileSystemCapabilities(read_text_file=True,
                                                                   write_text_file=True)))
        choice = auth.choose(init.auth_methods, env)
        if choice:
            await conn.authenticate(method_id=choice.method_id)
        session = await conn.new_session(cwd=str(repo), mcp_servers=[])
        modes = session.modes
        if modes and modes.current_mode_id not in ASKING_MODES:
            wanted = next(m.id for m in modes.available_modes if m.id in ASKING_MODES)
            await conn.set_session_mode(mode_id=wanted, session_id=session.session_id)
        for prompt in ("SCRIPT: say hello there",
                       "SCRIPT: run git config user.email agent@example.invalid",
                       "SCRIPT: run touch made-by-agent.txt"):
            await asyncio.wait_for(conn.prompt(session_id=session.session_id,
                                               prompt=[text_block(prompt)]), 90)
    except asyncio.TimeoutError:
        for message in messages[-6:]:
            print(json.dumps(message)[:600], file=sys.stderr)
        for request in server.requests[-3:]:
            print("REQUEST", request.path, json.dumps(request.body)[-1500:], file=sys.stderr)
        raise
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            proc.kill()
        server.stop()
    WIRE.mkdir(exist_ok=True)
    with open(WIRE / f"{name}.jsonl", "w") as f:
        for message in messages:
            f.write(json.dumps(message) + "\n")
    print(f"{name}: {len(messages)} messages → {WIRE / (name + '.jsonl')}")


if __name__ == "__main__":
    for agent in sys.argv[1:] or ["claude", "codex", "gemini"]:
        asyncio.run(record(agent))
