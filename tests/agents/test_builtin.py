"""The built-in agent as a real subprocess over real ACP, with the scripted model,
editing a real temporary git repository."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from overmind_jupyter.engine import Engine
from overmind_jupyter.model import MissionKind, MissionSpec

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    return root


def script(tmp_path: Path, turns: list[dict]) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"turns": turns}))
    return f"scripted:{path}"


def run_agent(repo: Path, model: str, prompt: str, body=None):
    async def main():
        engine = Engine(repo, provider_env={"OVERMIND_MODEL": model})
        await engine.start()
        try:
            m = await engine.run(MissionSpec(prompt.split(), kind=MissionKind.AGENT))
            if body is not None:
                await body(engine, m)
            m = await engine.wait(m.id, 60)
            events = await engine.events(mission=m.id, limit=10_000)
            return m, events, await engine.logs(m.id)
        finally:
            await engine.close()
    return asyncio.run(main())


def texts(events: list[dict], kind: str = "agent-message") -> str:
    return "".join(e["data"]["text"] for e in events if e["type"] == kind)


def test_edits_the_repository_and_reports_the_files_changed(repo, tmp_path):
    plan = [{"content": "add sub() to calc.py", "status": "in_progress"},
            {"content": "add a test", "status": "pending"}]
    model = script(tmp_path, [
        {"expect": "subtract", "text": "Reading calc.py.",
         "tool_calls": [{"name": "update_plan", "arguments": {"entries": plan}},
                        {"name": "read_file", "arguments": {"path": "calc.py"}}],
         "usage": {"input_tokens": 100, "output_tokens": 20}},
        {"expect": "return a + b", "tool_calls": [{"name": "edit_file", "arguments": {
            "path": "calc.py", "old_text": "    return a + b\n",
            "new_text": "    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"}}]},
        {"tool_calls": [{"name": "write_file", "arguments": {
            "path": "tests/test_calc.py",
            "content": "from calc import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"}}]},
        {"expect": "wrote tests/test_calc.py", "text": "Added sub() with a test."}])
    m, events, log = run_agent(repo, model, "add a subtract function")
    assert m.status.value == "exited"
    assert "def sub(a, b):\n    return a - b" in (repo / "calc.py").read_text()
    assert (repo / "tests" / "test_calc.py").exists()
    finished = next(e for e in events if e["type"] == "agent-finished")
    assert finished["data"]["stop_reason"] == "end_turn"
    assert finished["data"]["changed"] == ["calc.py", "tests/test_calc.py"]
    assert "Files changed: calc.py, tests/test_calc.py" in texts(events)
    turns = [e["data"] for e in events if e["type"] == "agent-usage"]
    assert len(turns) == 4  # every model turn's tokens are recorded, not just the total
    assert turns[0]["input_tokens"] == 100 and turns[0]["scope"] == "turn"
    assert all(t["model"] == "scripted model" for t in turns)
    totals = finished["data"]["usage"]
    assert totals["input_tokens"] == sum(t["input_tokens"] for t in turns)
    assert totals["output_tokens"] == sum(t["output_tokens"] for t in turns)
    results = [e["data"]["status"] for e in events if e["type"] == "tool-result"]
    assert results == ["completed"] * 4
    (shared,) = [e["data"]["entries"] for e in events if e["type"] == "agent-plan"]
    assert [(x["content"], x["status"]) for x in shared] == [
        ("add sub() to calc.py", "in_progress"), ("add a test", "pending")]
    assert "→ edit_file calc.py" in log
    assert "[finished: end_turn; scripted model: " in log


def test_a_missing_anchor_goes_back_to_the_model_as_an_error(repo, tmp_path):
    model = script(tmp_path, [
        {"tool_calls": [{"name": "edit_file", "arguments": {
            "path": "calc.py", "old_text": "return a * b", "new_text": "x"}}]},
        {"expect": "was not found", "tool_calls": [{"name": "read_file",
                                                   "arguments": {"path": "../../etc/passwd"}}]},
        {"expect": "outside", "text": "Giving up."}])
    m, events, _ = run_agent(repo, model, "break things")
    assert m.status.value == "exited"
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    results = [e["data"]["status"] for e in events if e["type"] == "tool-result"]
    assert results == ["failed", "failed"]


async def question(engine, timeout_s: float = 30.0):
    """The one open question, once it is asked."""
    for _ in range(int(timeout_s / 0.05)):
        if await engine.list_questions():
            break
        await asyncio.sleep(0.05)
    (q,) = await engine.list_questions()
    return q


def test_the_same_error_three_times_pauses_and_the_answer_resumes(repo, tmp_path):
    bad = {"tool_calls": [{"name": "read_file", "arguments": {"path": "missing.py"}}]}
    model = script(tmp_path, [bad, bad, bad,
                              {"expect": "read calc.py instead", "text": "Resumed."}])

    async def body(engine, m):
        q = await question(engine)
        assert q.kind == "guard" and "same error 3 times" in q.text
        assert (await engine.info(m.id))["liveness"] == "waiting"  # paused, not spinning
        await engine.answer(q.id, "read calc.py instead")
    m, events, _ = run_agent(repo, model, "read a missing file", body)
    assert m.status.value == "exited"
    finished = [e["data"] for e in events if e["type"] == "agent-finished"]
    assert finished[0]["stop_reason"] == "max_turn_requests"
    assert "same error 3 times" in finished[0]["guard"]
    assert finished[1]["stop_reason"] == "end_turn"  # the same session went on
    assert "Resumed." in texts(events)


def test_an_exhausted_provider_pauses_and_asks(repo, tmp_path):
    model = script(tmp_path, [{"error": {"kind": "rate-limit", "message": "quota exhausted"}}])

    async def body(engine, m):
        q = await question(engine)
        assert "model provider failed (rate-limit)" in q.text and "quota exhausted" in q.text
        await engine.answer(q.id, "stop")
    m, events, _ = run_agent(repo, model, "do something", body)
    assert m.status.value == "exited"
    (finished,) = [e["data"] for e in events if e["type"] == "agent-finished"]
    assert finished["stop_reason"] == "max_turn_requests"


def test_stopping_a_waiting_agent_cancels_its_session(repo, tmp_path):
    model = script(tmp_path, [{"tool_calls": [{"name": "run_command", "arguments": {
        "command": "make deploy"}}]}, {"text": "never reached"}])

    async def body(engine, m):
        q = await question(engine)
        assert q.kind == "tool-approval"
        stopped = await engine.stop(m.id)
        assert stopped.status.value in ("killed", "exited")
    _, events, _ = run_agent(repo, model, "deploy it", body)
    (finished,) = [e["data"] for e in events if e["type"] == "agent-finished"]
    assert finished["stop_reason"] == "cancelled"
    assert "never reached" not in texts(events)
