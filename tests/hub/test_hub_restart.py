"""A host killed (SIGKILL) while a task runs on a named server: the restarted host deletes
that server (its agent goes with it), fails the task and asks about the objective, as
for a local task interrupted by a crash. Real JupyterHub, real host server processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hub_harness import Hub
from jupyter_process import JupyterProcess, wait_until

from overmind_jupyter.config import HUB_TOKEN_ENV, HUB_URL_ENV, HUB_USER_ENV
from overmind_jupyter.testing.repos import make_repo

sys.path.insert(0, str(Path(__file__).parents[1] / "orchestrator"))
from flow_helpers import log_task_scripts

pytestmark = pytest.mark.timeout(300)
USER = "carol"


def slow_scripts(directory: Path) -> Path:
    """One task, "log", whose agent thinks for 120 s."""
    scripts = log_task_scripts(directory)
    (scripts / "task-log.json").write_text(json.dumps(
        {"turns": [{"text": "thinking", "delay_s": 120}]}))
    return scripts


def test_a_restarted_host_deletes_the_named_server_of_its_interrupted_task(
        named_hub: Hub, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "project", {"calc.py": "def add(a, b):\n    return a + b\n"})
    env = {HUB_URL_ENV: named_hub.url, HUB_USER_ENV: USER,
           HUB_TOKEN_ENV: named_hub.token(USER),
           "OVERMIND_MODEL": f"scripted:{slow_scripts(tmp_path / 'scripts')}"}

    def servers() -> dict:
        return named_hub.api("GET", f"users/{USER}").json().get("servers") or {}

    first = JupyterProcess(repo, tmp_path / "home", env=env).start()
    try:
        made = first.api("POST", "prompts", {"text": "log every addition"}, expect=201)
        wait_until(lambda: any(t.get("server") for t in first.api(
            "GET", f"objectives/{made['id']}")["tasks"]), 90, "the task's named server")
        (task,) = first.api("GET", f"objectives/{made['id']}")["tasks"]
        assert task["runs_on"] == "hub" and task["server"] in servers()
        first.kill9()  # the host dies; the named server and its agent live on
        assert task["server"] in servers()
    finally:
        first.reap()
    second = JupyterProcess(repo, tmp_path / "home", env=env).start()
    try:
        wait_until(lambda: servers() == {}, 90, "the orphaned named server to be deleted")
        after = second.api("GET", f"objectives/{made['id']}")
        (task,) = after["tasks"]
        assert task["state"] == "failed" and "interrupted" in task["reason"]
        asked = second.api("GET", "questions")["questions"]
        assert [q["kind"] for q in asked if q["objective"] == made["id"]] == ["interrupted"]
    finally:
        assert second.reap() == []
