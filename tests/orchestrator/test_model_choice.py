"""A prompt chooses its agents' model among those the server offers (the default model
and ``Settings.models``): the choice is named in ``model_status`` without user info,
checked at submission, and its agents run on it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from flow_helpers import log_task_scripts, project

from overmind_jupyter.config import Settings
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import UsageError
from overmind_jupyter.testing.scripts import say, tool

pytestmark = pytest.mark.timeout(120)


def test_a_prompt_runs_its_agents_on_the_model_it_chose(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    default = log_task_scripts(tmp_path / "a")
    other = log_task_scripts(tmp_path / "b", [
        tool("edit_file", path="calc.py", old_text="    return a + b\n",
             new_text="    print('chosen')\n    return a + b\n"), say("Done.")])
    chosen = f"scripted:{other / 'task-log.json'}"
    secret_url = "openai:m@http://ann:s3cret@127.0.0.1:9/v1"

    async def session() -> tuple[dict, dict]:
        engine = Engine(repo, Settings(mode="local", auto_merge=True,
                                       models=(chosen, secret_url)),
                        provider_env={"OVERMIND_MODEL": f"scripted:{default}"})
        await engine.start()
        try:
            status = await engine.model_status()
            with pytest.raises(UsageError, match="is not one the server offers"):
                await engine.prompt("log every addition", model="openai:gpt-9")
            done = await engine.prompt("log every addition", model=chosen, wait=True)
            return status, done
        finally:
            await engine.close()
    status, done = asyncio.run(session())
    assert [c["id"] for c in status["choices"]] == [
        f"scripted:{default}", chosen, "openai:m@http://127.0.0.1:9/v1"]
    assert "s3cret" not in str(status)
    assert done["state"] == "done" and done["agent_model"] == chosen
    landed = subprocess.run(["git", "show", "main:calc.py"], cwd=repo, check=True,
                            capture_output=True, text=True).stdout
    assert "print('chosen')" in landed  # the chosen model's agent did the work
