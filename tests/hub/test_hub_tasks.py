"""Tasks placed on a hub target run on named servers of a real JupyterHub.

The host (an in-process engine on a git project with a test suite) has its ``local``
target disabled and a hub target of capacity 2: an objective's two tasks each get a named
server, the repository is shipped there as a bundle, the scripted agents edit it there,
their events stream into the host's log, and their work comes back and lands through the
merge queue with the project's tests. Nothing is left on the hub afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from hub_harness import Hub
from jupyter_process import wait_until

from overmind_jupyter.config import HUB_TOKEN_ENV, MODEL_ENV, Settings
from overmind_jupyter.engine import Engine
from overmind_jupyter.model import Mission, MissionKind, MissionSpec, MissionStatus
from overmind_jupyter.testing.openai_server import OpenAIWireServer, Turn
from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.scripts import respond, say, tool, write_role_scripts

pytestmark = pytest.mark.timeout(300)
USER = "carol"
ADD, SUB = "def add(a, b):\n    return a + b\n", "def sub(a, b):\n    return a - b\n"
TEST = ("from adding import add\nfrom subtracting import sub\n\n\ndef test_calc():\n"
        "    assert add(2, 3) == 5 and sub(5, 3) == 2\n")


def scripts(directory: Path) -> Path:
    """Two tasks: "adder" documents add(), "subber" documents sub() (disjoint edits)."""
    def doc(fn: str, op: str, path: str) -> list[dict[str, Any]]:
        line = f"def {fn}(a, b):\n"
        return [tool("edit_file", path=path, old_text=line,
                     new_text=f"{line}    \"\"\"a {op} b\"\"\"\n"), say(f"Documented {fn}().")]
    return write_role_scripts(
        directory,
        story=respond({"groups": [{"title": "Docs", "prompt_ids": ["p1"], "summary": "docs"}],
                       "story": "calc"}),
        scope=respond({"files": [{"path": "adding.py"}, {"path": "subtracting.py"}],
                       "complexity": "low", "rationale": "calc"}),
        planner=respond({"tasks": [  # disjoint scopes: the scheduler runs them at once
            {"name": "adder", "description": "document add()", "scope": ["adding.py"]},
            {"name": "subber", "description": "document sub()", "scope": ["subtracting.py"]}]}),
        evaluator=respond({"done": True, "feedback": "ok"}),
        tasks={"adder": doc("add", "+", "adding.py"), "subber": doc("sub", "-",
                                                                     "subtracting.py")})


def test_an_objectives_two_tasks_run_on_two_named_servers_and_land(
        named_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUB_TOKEN_ENV, named_hub.token(USER))
    repo = make_repo(tmp_path / "project", {"adding.py": ADD, "subtracting.py": SUB,
                                            "test_calc.py": TEST})
    model = f"scripted:{scripts(tmp_path / 'scripts')}"

    async def session() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        engine = Engine(repo, Settings(mode="local", auto_merge=True),
                        provider_env={"OVERMIND_MODEL": model})
        await engine.start()
        try:
            await engine.target_action("local", "disable")
            added = await engine.target_add("hub", named_hub.url, USER, capacity=2,
                                            doctor=False)
            assert added["state"] == "active"
            made = await engine.prompt("Document add() and sub().")
            done = await engine.wait_objective(made["id"], timeout_s=240)
            return done, await engine.events(limit=100_000)
        finally:
            await engine.close()
    done, events = asyncio.run(session())
    tasks = {t["name"]: t for t in done["tasks"]}
    assert done["state"] == "done", (done.get("outcome"), done.get("error"), tasks)
    assert {t["runs_on"] for t in tasks.values()} == {"hub"}
    assert [c["state"] for c in done["changes"]] == ["merged", "merged"]
    spawned = [e for e in events if e["type"] == "agent-spawned"]
    assert sorted(e["data"]["target"] for e in spawned) == ["hub", "hub"]
    remote_edits = [e for e in events if e["type"] == "tool-use" and
                    e["data"].get("target") == "hub"]
    assert len({e["mission"] for e in remote_edits}) == 2  # both agents' steps streamed
    held = [len(e["data"]["claims"]) for e in events if e["type"] == "target-status"
            and e["data"]["target"] == "hub"]
    assert max(held) == 2 and held[-1] == 0  # both ran at once; every slot was freed
    assert '"""a + b"""' in _main_file(repo, "adding.py")
    assert '"""a - b"""' in _main_file(repo, "subtracting.py")
    assert named_hub.api("GET", f"users/{USER}").json().get("servers") == {}
    remote = named_hub.home / "homes" / USER / ".overmind" / "remote"
    assert not remote.exists() or list(remote.iterdir()) == []


def _main_file(repo: Path, path: str) -> str:
    return subprocess.run(["git", "show", f"main:{path}"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


@contextlib.asynccontextmanager
async def hub_engine(repo: Path, directory: Path, hub: Hub, local: bool = True
                     ) -> AsyncIterator[Engine]:
    """A started engine on ``repo`` with scripted model ``directory`` and hub target
    "hub" (``USER``'s named servers, capacity 1, no doctor); ``local``: whether this
    machine takes tasks too. Closed afterwards."""
    engine = Engine(repo, Settings(mode="local"),
                    provider_env={"OVERMIND_MODEL": f"scripted:{directory}"})
    await engine.start()
    try:
        if not local:
            await engine.target_action("local", "disable")
        await engine.target_add("hub", hub.url, USER, capacity=1, doctor=False)
        yield engine
    finally:
        await engine.close()


def slow_project(tmp_path: Path) -> tuple[Path, Path]:
    """A project and scripts whose one task's agent thinks for 120 s (busy when its
    server dies or its objective is cancelled)."""
    repo = make_repo(tmp_path / "project", {"adding.py": ADD, "subtracting.py": SUB,
                                            "test_calc.py": TEST})
    directory = scripts(tmp_path / "scripts")
    slow = [{"text": "thinking", "delay_s": 120}]
    (directory / "task-adder.json").write_text(json.dumps({"turns": slow}))
    (directory / "planner.json").write_text(json.dumps({"turns": [respond({"tasks": [
        {"name": "adder", "description": "document add()", "scope": ["adding.py"]}]})]}))
    return repo, directory


def test_cancelling_an_objective_stops_its_remote_agent_and_removes_the_server(
        named_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUB_TOKEN_ENV, named_hub.token(USER))
    repo, directory = slow_project(tmp_path)

    async def session() -> tuple[dict[str, Any], list[int]]:
        async with hub_engine(repo, directory, named_hub, local=False) as engine:
            made = await engine.prompt("Document add().")
            agents = server_tree(await until_remote_agent(engine, made["id"]))
            await engine.cancel_objective(made["id"])
            await engine.wait_objective(made["id"], timeout_s=60)
            return await task_ended(engine, made["id"]), agents
    done, agents = asyncio.run(session())
    assert done["state"] == "cancelled" and done["tasks"][0]["state"] == "cancelled"
    assert named_hub.api("GET", f"users/{USER}").json().get("servers") == {}
    wait_until(lambda: not [p for p in agents if psutil.pid_exists(p)], 30,
               "the remote server and agent to end")


def test_a_named_server_killed_mid_task_fails_the_task_with_a_question_and_leaves_nothing(
        named_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUB_TOKEN_ENV, named_hub.token(USER))
    repo, directory = slow_project(tmp_path)

    async def session() -> tuple[dict[str, Any], list[int]]:
        async with hub_engine(repo, directory, named_hub, local=False) as engine:
            made = await engine.prompt("Document add().")
            server = await until_remote_agent(engine, made["id"])
            agents = server_tree(server)
            psutil.Process(server).kill()  # the named server dies, its agent with it
            await engine.wait_objective(made["id"], timeout_s=120, or_question=True)
            question = next(q for q in await engine.list_questions()
                            if q.kind == "target-lost")
            await engine.answer(question.id, "stop")
            done = await engine.wait_objective(made["id"], timeout_s=120, or_question=True)
            return {"question": question.text, "done": done}, agents
    found, agents = asyncio.run(session())
    assert "lost its named server" in found["question"] and "hub" in found["question"]
    task = found["done"]["tasks"][0]
    assert task["state"] == "failed" and task["runs_on"] == "hub"
    assert named_hub.api("GET", f"users/{USER}").json().get("servers") == {}
    wait_until(lambda: not [p for p in agents if psutil.pid_exists(p)], 30,
               "the remote agent's processes to end")


async def task_ended(engine: Engine, objective: str, timeout: float = 60) -> dict[str, Any]:
    """The objective once its tasks ended (a cancelled task ends after its agent stopped)."""
    async def poll() -> dict[str, Any]:
        while True:
            found = await engine.objective(objective)
            if all(t["state"] in ("done", "failed", "cancelled") for t in found["tasks"]):
                return found
            await asyncio.sleep(0.1)
    return await asyncio.wait_for(poll(), timeout)


async def until_remote_agent(engine: Engine, objective: str, timeout: float = 120) -> int:
    """The pid of the named server whose agent is thinking for ``objective`` (its first
    mirrored ``agent-prompt``), found by its server name (other tests' hubs may run
    servers of the same prefix on this machine)."""
    async def poll() -> int:
        while True:
            events = await engine.events(limit=10_000)
            if any(e["type"] == "agent-prompt" and e["data"].get("target") == "hub"
                   for e in events):
                names = {run.server for run in engine.hub_runner.runs.values()}
                return next(p.pid for p in psutil.process_iter(["cmdline", "environ"])
                            if "jupyterhub-singleuser" in " ".join(p.info["cmdline"] or [])
                            and (p.info["environ"] or {}).get("JUPYTERHUB_SERVER_NAME")
                            in names)
            await asyncio.sleep(0.2)
    return await asyncio.wait_for(poll(), timeout)


def server_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (its missions run in their own sessions, so
    also those whose parent is gone after the kill are found by their ancestry now)."""
    root = psutil.Process(pid)
    return [pid, *(child.pid for child in root.children(recursive=True))]


def test_a_remote_agents_permission_request_is_asked_and_answered_on_the_host(
        named_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUB_TOKEN_ENV, named_hub.token(USER))
    repo, directory = slow_project(tmp_path)
    asking = [tool("run_command", command="echo one && echo two"),  # the policy asks
              tool("edit_file", path="adding.py", old_text="def add(a, b):\n",
                   new_text="def add(a, b):\n    \"\"\"a + b\"\"\"\n"), say("Documented.")]
    (directory / "task-adder.json").write_text(json.dumps({"turns": asking}))

    async def session() -> tuple[dict[str, Any], Any]:
        engine = Engine(repo, Settings(mode="local", auto_merge=True),
                        provider_env={"OVERMIND_MODEL": f"scripted:{directory}"})
        await engine.start()
        try:
            await engine.target_add("hub", named_hub.url, USER, capacity=1, doctor=False)
            made = await engine.prompt("Document add().")
            await engine.wait_objective(made["id"], timeout_s=120, or_question=True)
            question = next(q for q in await engine.list_questions()
                            if q.objective == made["id"])
            await engine.answer(question.id, question.options[0])
            return await engine.wait_objective(made["id"], timeout_s=120), question
        finally:
            await engine.close()
    done, question = asyncio.run(session())
    assert question.text.startswith("[on hub] ") and "echo one && echo two" in question.text
    assert question.data["target"] == "hub"
    assert done["state"] == "done" and done["tasks"][0]["runs_on"] == "hub"
    assert [c["state"] for c in done["changes"]] == ["merged"]
    assert '"""a + b"""' in _main_file(repo, "adding.py")


def test_the_hosts_provider_key_reaches_the_remote_agent_and_is_stored_nowhere(
        named_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUB_TOKEN_ENV, named_hub.token(USER))
    key = "sk-host-key-for-the-remote-agent-42"
    repo = make_repo(tmp_path / "project", {"adding.py": ADD})
    worktree = tmp_path / "worktree"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "keyed", str(worktree)], cwd=repo,
                   check=True)
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()
    with OpenAIWireServer(api_key=key) as llm:  # 401 for any other key
        llm.script(Turn(text="Nothing needs to change."))
        model = f"openai:m@{llm.url}"

        async def session() -> tuple[Mission, list[dict[str, Any]]]:
            engine = Engine(repo, Settings(mode="local"),
                            provider_env={"OPENAI_API_KEY": key, MODEL_ENV: model})
            await engine.start()
            try:
                await engine.target_add("hub", named_hub.url, USER, doctor=False)
                hub, target = engine.task_runner.hub, engine.target_registry.resolve("hub")
                assert hub is not None
                spec = MissionSpec(["Say whether adding.py needs a docstring."],
                                   kind=MissionKind.AGENT, name="keyed", cwd=str(worktree),
                                   env={MODEL_ENV: model})
                started = await hub.run(target, spec, "task-keyed", "o-keyed", base, worktree)
                ended = await asyncio.wait_for(hub.wait(started.id), 120)
                return ended, await engine.events(mission=started.id, limit=10_000)
            finally:
                await engine.close()
        ended, events = asyncio.run(session())
    finished = [e["data"] for e in events if e["type"] == "agent-finished"]
    assert ended.status is MissionStatus.EXITED, (ended, finished)
    assert finished and finished[-1]["stop_reason"] == "end_turn"
    assert llm.requests and {r.headers.get("authorization") for r in llm.requests} == {
        f"Bearer {key}"}
    remote_home = named_hub.home / "homes" / USER
    stored = [p for p in remote_home.rglob("*") if p.is_file() and key.encode() in
              p.read_bytes()]
    assert stored == []  # not in the remote store, logs or transcripts
    assert key not in json.dumps(events)


def test_a_warm_server_takes_the_task_the_pool_refills_and_the_engine_close_empties_it(
        named_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUB_TOKEN_ENV, named_hub.token(USER))
    repo = make_repo(tmp_path / "project", {"adding.py": ADD, "subtracting.py": SUB,
                                            "test_calc.py": TEST})
    directory = scripts(tmp_path / "scripts")
    (directory / "planner.json").write_text(json.dumps({"turns": [respond({"tasks": [
        {"name": "adder", "description": "document add()", "scope": ["adding.py"]}]})]}))

    def servers() -> list[str]:
        return sorted(named_hub.api("GET", f"users/{USER}").json().get("servers") or {})

    async def session() -> tuple[list[str], dict[str, Any], list[dict[str, Any]], list[str]]:
        engine = Engine(repo, Settings(mode="local", auto_merge=True),
                        provider_env={"OVERMIND_MODEL": f"scripted:{directory}"})
        await engine.start()
        try:
            await engine.target_add("hub", named_hub.url, USER, capacity=1, warm=1,
                                    doctor=False)
            await until(lambda: len(engine.hub_runner.pool.idle.get("hub", [])) == 1)
            warm = servers()
            made = await engine.prompt("Document add().")
            done = await engine.wait_objective(made["id"], timeout_s=120)
            await until(lambda: len(engine.hub_runner.pool.idle.get("hub", [])) == 1)
            return warm, done, await engine.events(limit=100_000), servers()
        finally:
            await engine.close()
    warm, done, events, after = asyncio.run(session())
    assert len(warm) == 1 and warm[0].startswith("overmind-pool-")
    assert done["state"] == "done" and done["tasks"][0]["runs_on"] == "hub"
    created = [e["data"] for e in events if e["type"] == "mission-created"
               and e["data"].get("target") == "hub"]
    assert [c["server"] for c in created] == warm  # the task ran on the warm server
    # taking it started a new idle one; the used one found the pool full and was deleted
    assert len(after) == 1 and after != warm and after[0].startswith("overmind-pool-")
    assert servers() == []  # the engine's close deleted the idle one


async def until(predicate: Any, timeout: float = 90) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.1)
    await asyncio.wait_for(poll(), timeout)


def test_a_new_named_server_leaves_the_agents_of_the_others_running(
        named_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's named servers share its home; each task server's engine keeps its own
    store, so a server starting up does not re-adopt (and stop) another's agent."""
    monkeypatch.setenv(HUB_TOKEN_ENV, named_hub.token(USER))
    repo, directory = slow_project(tmp_path)

    async def session() -> tuple[str, str, bool]:
        async with hub_engine(repo, directory, named_hub) as engine:
            made = await engine.prompt("Document add().")
            await until_remote_agent(engine, made["id"])
            (run,) = engine.hub_runner.runs.values()
            doctor = await engine.target_doctor("hub")  # another named server starts
            mission = await run.api.call("GET", run.remote(f"missions/{run.remote_id}"))
            await engine.cancel_objective(made["id"])
            ok = all(c["ok"] for c in doctor["checks"])
            return mission["status"], doctor["checks"][4]["detail"], ok
    status, started, ok = asyncio.run(session())
    assert ok and "ready in" in started
    assert status == "running"
    assert named_hub.api("GET", f"users/{USER}").json().get("servers") == {}  # all deleted


def test_stopping_a_remote_agents_host_mission_stops_it_there(
        named_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HUB_TOKEN_ENV, named_hub.token(USER))
    repo, directory = slow_project(tmp_path)

    async def session() -> tuple[Mission, dict[str, Any], list[int]]:
        async with hub_engine(repo, directory, named_hub) as engine:
            made = await engine.prompt("Document add().")
            agents = server_tree(await until_remote_agent(engine, made["id"]))
            (host_mission,) = engine.hub_runner.runs
            stopped = await engine.stop(host_mission)  # `overmind stop` on the host
            return stopped, await task_ended(engine, made["id"]), agents
    stopped, found, agents = asyncio.run(session())
    assert stopped.status is MissionStatus.KILLED and stopped.exit.stopped
    assert found["tasks"][0]["state"] in ("failed", "cancelled")
    try:
        wait_until(lambda: not named_hub.api("GET", f"users/{USER}").json().get("servers"),
                   30, "the named server to be deleted")
    except AssertionError as err:
        raise AssertionError(f"{err}\nhub log:\n{named_hub.log()[-6000:]}") from None
    wait_until(lambda: not [p for p in agents if psutil.pid_exists(p)], 30,
               "the remote server and agent to end")
