"""Collaborators watch their prompts run: a guest's engine (server B) receives, through
its party link, the plan, tasks and tool calls of the objective its prompt became on the
host (server A) — and another guest of the same party receives none of them (the
visibility rule). Two real Jupyter servers, a real ACP agent process, scripted models."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_process import JupyterProcess, wait_until

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import host_and_guest

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterProcess, ...]]:
    def plain(root: Path, home: Path) -> JupyterProcess:
        return JupyterProcess(root, home).start()

    with host_and_guest(tmp_path_factory.mktemp("party-watch"), plain) as both:
        yield both


def seen_by(b: JupyterProcess, party: str, guest: str) -> list[dict[str, Any]]:
    """What B's engine mirrored through ``guest``'s link."""
    return [e for e in b.api("GET", f"events?party={party}&limit=10000")["events"]
            if e["data"]["mirror"]["via"] == guest]


def test_a_guest_sees_its_objective_run_live_and_the_other_guest_does_not(
        servers: tuple[JupyterProcess, ...]) -> None:
    a, b = servers
    hosted = a.api("POST", "party", {"name": "ann", "auto_approve": ["alice", "bob"],
                                     "auto_approve_prompts": True})
    party = hosted["party"]["id"]
    for name in ("alice", "bob"):
        b.api("POST", "party/join", {"invite": hosted["invite"], "name": name})
    b.api("POST", "party/prompts", {"text": "log every addition", "member": "alice"})
    objective = wait_until(lambda: a.api("GET", "objectives")["objectives"],
                           what="alice's objective")[0]
    ended = a.api("POST", f"objectives/{objective['id']}/wait", {"timeout_s": 60}, timeout=70)
    assert ended["state"] == "done" and ended["members"] == ["alice"]

    def alices_view() -> list[dict[str, Any]]:
        own = [e for e in seen_by(b, party, "alice") if e["objective"] == ended["id"]]
        done = any(e["type"] == "objective-status" and e["data"]["state"] == "done"
                   for e in own)
        return own if done else []
    own = wait_until(alices_view, what="alice's view of her objective, to its end")
    types = {e["type"] for e in own}
    assert {"objective-created", "plan-ready", "task-status", "agent-spawned"} <= types
    [mission] = {e["mission"] for e in own if e["type"] == "agent-spawned"}
    tool_calls = [e for e in seen_by(b, party, "alice")
                  if e["mission"] == mission and e["type"] == "tool-use"]
    assert tool_calls and all(e["data"]["mirror"]["host"] for e in tool_calls)
    bobs = seen_by(b, party, "bob")
    assert bobs and not [e for e in bobs if e["objective"] == ended["id"]
                         or e["mission"] == mission]
    assert "log every addition" not in str(bobs)  # not even in the party's own events
    followed = b.api("GET", "objectives")["objectives"]  # what B's sidebar loads
    assert [(o["id"], o["state"], o["title"], o["mirror"]["via"]) for o in followed] == [
        (ended["id"], "done", ended["title"], "alice")]
