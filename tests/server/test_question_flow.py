"""A question answered through the REST API resumes the agent that asked it, end to end:
a real Jupyter server, a real built-in agent process over ACP with a scripted model, and
only HTTP from this test (``GET questions``, ``POST questions/{id}/answer``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_process import JupyterProcess, wait_until

from overmind_jupyter.testing.scripts import say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[JupyterProcess]:
    (tmp_path / "root").mkdir()
    started = JupyterProcess(tmp_path / "root", tmp_path / "home").start()
    try:
        yield started
    finally:
        assert started.reap() == [], "processes survived"


def test_an_agent_waiting_for_approval_resumes_when_the_host_answers_over_rest(
        server: JupyterProcess, tmp_path: Path) -> None:
    # `touch` is on no allow list: the agent's command waits for the host's approval
    turns = [tool("run_command", command="touch approved.txt"), say("Touched it.")]
    script = write_role_scripts(tmp_path / "s", tasks={"touch": turns}) / "task-touch.json"
    mission = server.api("POST", "missions", {
        "kind": "agent", "agent": "builtin", "command": ["touch approved.txt"],
        "env": {"OVERMIND_MODEL": f"scripted:{script}"}})
    question = wait_until(lambda: server.api("GET", "questions")["questions"],
                          what="the tool-approval question")[0]
    assert question["kind"] == "tool-approval" and question["mission"] == mission["id"]
    assert question["options"] == ["allow", "deny"]
    info = server.api("GET", f"missions/{mission['id']}")
    assert info["liveness"] == "waiting" and not (server.root / "approved.txt").exists()
    answered = server.api("POST", f"questions/{question['id']}/answer", {"text": "allow"})
    assert answered["state"] == "answered"
    ended = server.api("POST", f"missions/{mission['id']}/wait", {"timeout_s": 30}, timeout=40)
    assert ended["status"] == "exited" and ended["exit"]["returncode"] == 0
    assert (server.root / "approved.txt").exists()  # the command ran once allowed
    events = server.api("GET", f"events?mission={mission['id']}&limit=10000")["events"]
    said = "".join(e["data"]["text"] for e in events if e["type"] == "agent-message")
    assert said.startswith("Touched it.") and server.api("GET", "questions")["questions"] == []
