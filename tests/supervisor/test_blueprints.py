"""Blueprints: dependency ordering, failure propagation, validation errors, wait and kill."""

from __future__ import annotations

import asyncio

import pytest
from engine_harness import read_pid, until

from overmind_jupyter.errors import BlueprintError

pytestmark = pytest.mark.timeout(60)

ORDERING = """
name = "stack"
[missions.a]
command = "sh -c 'echo a-start >> order; sleep 0.8; echo a-done >> order'"
[missions.b]
command = "sh -c 'echo b-start >> order'"
depends_on = ["a"]
[missions.c]
command = ["sh", "-c", "echo c-start >> order"]
depends_on = { a = "completed" }
"""


def apply_and_wait(harness, text: str):
    async def body(engine):
        bp = await engine.apply(text, "stack.toml", base_dir=str(harness.root))
        done = await engine.wait(bp.id, timeout_s=20)
        children = {c.name: c for c in (await engine.ps(all=True)) if c.parent_id == bp.id}
        return done, children, await engine.logs(bp.id)
    return harness.run(body)


def test_started_and_completed_dependencies_order_the_missions(harness) -> None:
    done, children, _ = apply_and_wait(harness, ORDERING)
    order = (harness.root / "order").read_text().split()
    assert order == ["a-start", "b-start", "a-done", "c-start"]
    assert children["b"].started_at >= children["a"].started_at
    assert children["c"].started_at >= children["a"].updated_at  # after a exited
    assert done.name == "stack" and done.status.value == "exited"
    assert {n: m.status.value for n, m in children.items()} == dict.fromkeys("abc", "exited")


def test_failed_dependency_fails_the_dependents_without_starting_them(harness) -> None:
    text = """
    [missions.a]
    command = "sh -c 'exit 3'"
    [missions.b]
    command = "touch b-ran"
    depends_on = { a = "completed" }
    [missions.c]
    command = "touch c-ran"
    depends_on = { b = "completed" }
    [missions.d]
    command = "true"
    """
    done, children, log = apply_and_wait(harness, text.replace("\n    ", "\n"))
    assert done.status.value == "failed"
    assert {n: m.status.value for n, m in children.items()} == {
        "a": "failed", "b": "failed", "c": "failed", "d": "exited"}
    for name in "bc":
        assert children[name].started_at is None and children[name].pid is None
        assert not (harness.root / f"{name}-ran").exists()
    assert "not starting b: a failed" in log
    assert "missions that did not exit cleanly: a, b, c" in done.exit.reason


def test_wait_on_a_child_waiting_for_its_dependency_waits_for_its_end(harness) -> None:
    text = """
[missions.a]
command = "sleep 0.3"
[missions.b]
command = "true"
depends_on = { a = "completed" }
"""

    async def body(engine):
        bp = await engine.apply(text, "stack.toml")
        assert engine.resolve("b").status.value == "pending"
        b = await engine.wait("b", timeout_s=10)
        return b, engine.resolve("a"), await engine.wait(bp.id, timeout_s=10)

    b, a, bp = harness.run(body)
    assert b.status.value == "exited"
    assert b.started_at >= a.updated_at
    assert bp.status.value == "exited"


@pytest.mark.parametrize(("text", "message"), [
    ("[missions.a]\ncommand = 'true'\ndepends_on = ['b']\n"
     "[missions.b]\ncommand = 'true'\ndepends_on = ['a']\n",
     "stack.toml: dependency cycle: a → b → a"),
    ("[missions.a]\ncommand = 'true'\ndepends_on = ['a']\n",
     "stack.toml: dependency cycle: a → a"),
    ("[missions.a]\ncommand = 'true'\ncomand = 'x'\n",
     "stack.toml: [missions.a]: unknown keys ['comand']; valid keys are"),
    ("[missions.a]\ncommand = 'true'\ndepends_on = ['nope']\n",
     "stack.toml: a depends on nope, which is not declared (declared: a)"),
    ("[missions.a]\ncommand = 'true'\ndepends_on = { b = 'healthy' }\n"
     "[missions.b]\ncommand = 'true'\n",
     "depends_on conditions must be one of ('started', 'completed')"),
    ("[missions.a]\ncommand = 'true'\nrestart = 'sometimes'\n",
     "restart: must be 'never', 'on-failure' or 'always'"),
    ("nam = 'x'\n[missions.a]\ncommand = 'true'\n", "unknown top-level keys ['nam']"),
    ("[missions]\n", "declare at least one [missions.NAME] table"),
    ("[missions.a\ncommand = 'true'\n", "stack.toml: not valid TOML"),
    # wrong types: the key and the type expected, never Python internals
    ("name = 5\n[missions.a]\ncommand = 'true'\n", "stack.toml: name must be a mission name"),
    ("[missions.a]\ncommand = 'true'\ncwd = 5\n", "[missions.a]: cwd: must be a valid string"),
    ("[missions.a]\ncommand = 'true'\nmax_restarts = 'x'\n",
     "[missions.a]: max_restarts: must be a valid integer"),
    ("[missions.a]\ncommand = [1]\n",
     "[missions.a]: command: must be a non-empty string or a list of strings"),
    ("[missions.a]\ncommand = 'true'\nenv = 'X=1'\n", "env: must be a table of strings"),
    ("[missions.a]\ncommand = 'true'\nworktree = 'yes'\n",
     "worktree: must be true or false"),
    ("[missions.a]\ncommand = 'true'\n[missions.'b c']\ncommand = 'true'\n",
     "[missions.b c]: invalid mission name"),
    ("x = " + "[" * 5000 + "]" * 5000 + "\n", "stack.toml is nested too deeply"),
    ("x = '" + "y" * (1024 * 1024) + "'\n", "the limit is 1,048,576 bytes"),
])
def test_invalid_blueprints_are_refused_with_a_clear_message(harness, text, message) -> None:
    async def body(engine):
        with pytest.raises(BlueprintError) as err:
            await engine.apply(text, "stack.toml")
        return err.value.message, await engine.ps(all=True)

    got, missions = harness.run(body)
    assert message in got
    assert missions == []  # nothing was recorded or started


def test_kill_cascade_on_a_running_blueprint_leaves_no_process(harness) -> None:
    text = """
[missions.web]
command = "sh -c 'echo $$ > web.pid; exec sleep 300'"
[missions.worker]
command = "sh -c 'sleep 300 & echo $! > grandchild.pid; wait'"
depends_on = ["web"]
[missions.report]
command = "touch report-ran"
depends_on = { web = "completed" }
"""

    async def body(engine):
        bp = await engine.apply(text, "stack.toml", base_dir=str(harness.root))
        pids = [harness.track(await asyncio.to_thread(read_pid, harness.root / f))
                for f in ("web.pid", "grandchild.pid")]
        await until(lambda: all(m.status.value == "running" for m in engine.store.missions()
                                if m.name in ("web", "worker")), what="web and worker running")
        ended = await engine.kill(bp.id, cascade=True)
        waited = await asyncio.wait_for(engine.wait(bp.id), 5)
        return bp, pids, ended, waited, await engine.ps()

    bp, pids, ended, waited, live = harness.run(body)
    assert ended[-1].id == bp.id
    assert {m.name: m.status.value for m in ended[:-1]} == dict.fromkeys(
        ["web", "worker", "report"], "killed")
    assert waited.status.value == "killed"
    assert live == []
    assert not (harness.root / "report-ran").exists()
    assert harness.survivors(pids) == []
