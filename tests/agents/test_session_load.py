"""ACP session/load: the built-in agent resumes a session after its process was killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from acp import PROTOCOL_VERSION, connect_to_agent, text_block

pytestmark = pytest.mark.timeout(60)


class Recorder:
    """A minimal ACP client: records agent messages, serves nothing else."""

    def __init__(self) -> None:
        self.text = ""

    def on_connect(self, conn: Any) -> None:
        pass

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if getattr(update, "session_update", "") == "agent_message_chunk":
            self.text += update.content.text


async def start(env: dict[str, str], cwd: Path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "overmind_jupyter.agents.builtin", cwd=cwd, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    client = Recorder()
    conn = connect_to_agent(client, proc.stdin, proc.stdout)
    init = await conn.initialize(protocol_version=PROTOCOL_VERSION)
    return proc, conn, client, init


def test_a_killed_agent_resumes_its_session_from_the_transcript(tmp_path):
    first_script, second_script = tmp_path / "one.json", tmp_path / "two.json"
    first_script.write_text(json.dumps({"turns": [
        {"expect": "remember the word kumquat", "text": "Noted."}]}))
    second_script.write_text(json.dumps({"turns": [
        {"expect": "what was the word", "text": "It was kumquat."}]}))
    state = tmp_path / "state"
    env = {**os.environ, "OVERMIND_MODEL": f"scripted:{first_script}",
           "OVERMIND_AGENT_STATE": str(state)}

    async def main():
        proc, conn, client, init = await start(env, tmp_path)
        assert init.agent_capabilities.load_session
        session = (await conn.new_session(cwd=str(tmp_path), mcp_servers=[])).session_id
        first = await conn.prompt(session_id=session,
                                  prompt=[text_block("remember the word kumquat")])
        assert first.stop_reason == "end_turn" and "Noted." in client.text
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

        env["OVERMIND_MODEL"] = f"scripted:{second_script}"  # a new process, a new script
        proc, conn, client, _ = await start(env, tmp_path)
        try:
            await conn.load_session(cwd=str(tmp_path), session_id=session, mcp_servers=[])
            second = await conn.prompt(session_id=session,
                                       prompt=[text_block("what was the word?")])
            assert second.stop_reason == "end_turn"
            assert "It was kumquat." in client.text
            transcript = json.loads((state / f"{session}.json").read_text())
            said = [m["content"] for m in transcript if m["role"] in ("user", "assistant")]
            assert said == ["remember the word kumquat", "Noted.", "what was the word?",
                            "It was kumquat."]
        finally:
            proc.kill()
            await proc.wait()
    asyncio.run(main())
