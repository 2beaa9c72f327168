"""The mailbox: agents message each other and the host; messages are events."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from flow_helpers import SCOPE, project

from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import UsageError
from overmind_jupyter.orchestrator.mailbox import Mailbox
from overmind_jupyter.store import Store
from overmind_jupyter.store.records import Records
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(90)


def test_inbox_marks_read_and_bad_messages_are_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    box = Mailbox(Records(store))
    box.send("host", "docs", "mention the CLI")
    assert [r.data.text for r in box.inbox(("docs",))] == ["mention the CLI"]
    assert box.inbox(("docs",)) == []  # read once
    with pytest.raises(UsageError, match="recipient"):
        box.send("host", " ", "hi")
    store.flush()
    assert [e["type"] for e in store.read_events()] == ["message"]


async def test_an_agent_messages_the_next_task_and_the_host(tmp_path: Path) -> None:
    repo = project(tmp_path / "p")
    scripts = write_role_scripts(
        tmp_path / "s", story=respond({"groups": [{"title": "Pair", "prompt_ids": ["p1"],
                                                   "summary": "pair"}], "story": ""}),
        scope=SCOPE, evaluator=respond({"done": True, "feedback": "ok"}),
        planner=respond({"tasks": [
            {"name": "design", "description": "decide the naming", "scope": ["calc.py"]},
            {"name": "build", "description": "build it", "scope": ["calc.py"],
             "depends_on": ["design"]}]}),
        tasks={"design": [tool("send_message", to="build", text="use snake_case names"),
                          tool("send_message", to="host", text="naming decided"),
                          say("Told the builder.")],
               "build": [tool("read_messages"),
                         {**tool("write_file", path="names.txt", content="snake_case\n"),
                          "expect": "from design-"},
                         say("Following the advice.")]})
    engine = Engine(repo, provider_env={"OVERMIND_MODEL": f"scripted:{scripts}"})
    await engine.start()
    try:
        done = await asyncio.wait_for(engine.prompt("pair up", wait=True), 60)
        to_host = await engine.messages("host")
        events = [e for e in await engine.events(limit=10_000) if e["type"] == "message"]
    finally:
        await engine.close()
    assert done["state"] == "done", done.get("error")
    assert {t["name"]: t["state"] for t in done["tasks"]} == {"design": "done", "build": "done"}
    assert [m["text"] for m in to_host] == ["naming decided"]
    assert to_host[0]["sender"].startswith("design-")
    assert len(events) == 2 and events[0]["data"]["recipient"] == "build"
