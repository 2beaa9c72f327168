"""Command missions in their own worktree: a clean exit becomes a change that the merge
queue lands (real git repositories, real child processes, a real engine)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from engine_harness import Harness

from overmind_jupyter import commands
from overmind_jupyter.api import RunBody
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import BlueprintError, UsageError
from overmind_jupyter.model import MissionSpec
from overmind_jupyter.supervisor.blueprint import parse

pytestmark = pytest.mark.timeout(120)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def project(root: Path, tests: bool = False) -> Path:
    """``root`` as a repository on ``main``: ``a/one.py``, ``b/two.py`` (and with ``tests``
    a test that checks ``b/two.py`` still says 2, so merges are verified)."""
    (root / "a").mkdir()
    (root / "b").mkdir()
    (root / "a" / "one.py").write_text("ONE = 1\n")
    (root / "b" / "two.py").write_text("TWO = 2\n")
    if tests:
        (root / "tests").mkdir()
        (root / "tests" / "test_two.py").write_text(
            "import pathlib\n\ndef test_two():\n"
            "    assert 'TWO = 2' in pathlib.Path('b/two.py').read_text()\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "-c", "user.name=host", "-c", "user.email=h@example.com", "commit", "-qm", "init")
    return root


def append(path: str, line: str, status: int = 0) -> str:
    """A TOML argv appending ``line`` to ``path`` (relative to its cwd), then exiting."""
    return json.dumps(["sh", "-c", f"echo '{line}' >> {path}; exit {status}"])


BLUEPRINT = f"""
[missions.alpha]
command = {append('one.py', 'ALPHA = 1')}
cwd = "a"
worktree = true

[missions.beta]
command = {append('b/two.py', 'BETA = 2')}
worktree = true

[missions.idle]
command = "true"
worktree = true

[missions.broken]
command = {append('a/one.py', 'BROKEN = 1', status=3)}
worktree = true
"""


def worktrees(repo: Path) -> list[str]:
    """The host's checkout and the missions' worktrees (not the pool's prepared spares nor
    released ones waiting in the trash for their background deletion)."""
    return [w for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ") and "/.overmind/" not in
            (w := line.split(" ", 1)[1]).replace("/.overmind/worktrees/", "/")]


def branches(repo: Path) -> list[str]:
    """Overmind's branches, sorted."""
    return sorted(git(repo, "branch", "--format=%(refname:short)", "--list", "overmind/*")
                  .split())


def test_a_blueprints_worktree_missions_become_changes_that_merge(harness: Harness) -> None:
    repo = project(harness.root)

    async def body(engine: Engine) -> None:
        bp = await engine.apply(BLUEPRINT, "codemods.toml", str(repo), "codemods")
        assert (await engine.wait(bp.id, timeout_s=60)).status.value == "failed"  # broken
        changes = {c["task"]: c for c in await engine.changes()}
        assert set(changes) == {"alpha", "beta"}  # idle edited nothing, broken failed
        assert changes["alpha"]["files"] == ["a/one.py"]
        assert changes["beta"]["files"] == ["b/two.py"]
        assert changes["alpha"]["state"] == "open" and changes["alpha"]["target"] == "main"
        assert "+ALPHA = 1" in await engine.diff(changes["alpha"]["id"])
        # the host's checkout is untouched; only the two changes' worktrees are left
        assert (repo / "a" / "one.py").read_text() == "ONE = 1\n"
        assert git(repo, "status", "--porcelain") == ""
        assert sorted(Path(w).name for w in worktrees(repo)[1:]) == ["alpha", "beta"]
        assert branches(repo) == ["overmind/alpha", "overmind/beta"]
        author = git(repo, "log", "-1", "--format=%an <%ae>|%B", changes["beta"]["branch"])
        assert author.startswith("Overmind <overmind@overmind.invalid>|beta: sh -c")
        for change in changes.values():
            outcome = (await engine.merge(change["id"]))["outcome"]
            assert outcome["state"] == "merged", outcome
        # main moved by one merge commit per change; worktrees and branches are gone
        subjects = git(repo, "log", "--first-parent", "--format=%s", "main").splitlines()
        assert {s.split(":")[0] for s in subjects[:2]} == \
            {f"Merge change {c['id']}" for c in changes.values()}
        assert subjects[2:] == ["init"]
        assert (repo / "a" / "one.py").read_text() == "ONE = 1\nALPHA = 1\n"
        assert worktrees(repo) == [str(repo)]
        assert branches(repo) == []

    harness.run(body)


def test_run_in_a_worktree_keeps_the_cwd_inside_it(harness: Harness) -> None:
    repo = project(harness.root)

    async def body(engine: Engine) -> None:
        spec = MissionSpec(command=["sh", "-c", "pwd; echo X = 1 >> one.py"], name="fix",
                           cwd=str(repo / "a"), worktree=True)
        m = await engine.run(spec)
        assert Path(m.cwd) == repo / ".overmind" / "worktrees" / "fix" / "a"
        assert m.env["OVERMIND_CHANGE_TARGET"] == "main"
        ended = await engine.wait(m.id, timeout_s=30)
        assert ended.status.value == "exited"
        (change,) = await engine.changes()  # recorded before the mission ended
        assert change["mission"] == m.id and change["files"] == ["a/one.py"]
        assert "change " + change["id"] + " opened" in await engine.logs(m.id)

    harness.run(body)


def test_the_verification_gate_keeps_a_change_that_breaks_the_tests_out(
        harness: Harness) -> None:
    repo = project(harness.root, tests=True)

    async def body(engine: Engine) -> None:
        m = await engine.run(MissionSpec(command=["sh", "-c", "echo TWO = 3 > b/two.py"],
                                         name="break", worktree=True))
        await engine.wait(m.id, timeout_s=30)
        (change,) = await engine.changes()
        outcome = (await engine.merge(change["id"]))["outcome"]
        assert outcome["state"] == "verification-failed"
        assert list(outcome["verification"]["command"][:3]) == [sys.executable, "-m", "pytest"]
        assert (await engine.change(change["id"]))["state"] == "conflicted"
        assert git(repo, "log", "--format=%s", "main").splitlines() == ["init"]

    harness.run(body)


def test_failed_dependencies_and_shutdown_leave_no_worktree(harness: Harness) -> None:
    repo = project(harness.root)
    text = """
[missions.first]
command = "false"
worktree = true
[missions.second]
command = "true"
worktree = true
depends_on = { first = "completed" }
[missions.slow]
command = "sleep 60"
worktree = true
"""

    async def body(engine: Engine) -> None:
        bp = await engine.apply(text, "bp.toml", str(repo), "bp")
        assert len(worktrees(repo)) == 4  # one per mission, made when applied
        second = engine.resolve("second")
        await engine.wait(second.id, timeout_s=30)
        assert engine.store.get_mission(second.id).status.value == "failed"  # never ran
        for _ in range(100):  # released in the background, from the event stream
            if len(worktrees(repo)) == 2:
                break
            await asyncio.sleep(0.05)
        assert [Path(w).name for w in worktrees(repo)[1:]] == ["slow"]
        await engine.close()  # stops `slow`: its worktree and branch go with it
        assert worktrees(repo) == [str(repo)]
        assert branches(repo) == []
        assert engine.store is None and bp.id

    harness.run(body)


def test_a_worktree_mission_needs_a_repository(harness: Harness) -> None:
    async def body(engine: Engine) -> None:
        with pytest.raises(UsageError, match="needs a git repository"):
            await engine.run(MissionSpec(command=["true"], worktree=True))
        assert await engine.ps(all=True) == []

    harness.run(body)


def test_a_worktree_mission_needs_a_branch_to_land_on(harness: Harness) -> None:
    repo = project(harness.root)
    git(repo, "checkout", "-q", "--detach")

    async def body(engine: Engine) -> None:
        with pytest.raises(UsageError, match="detached HEAD"):
            await engine.run(MissionSpec(command=["true"], worktree=True))
        assert worktrees(repo) == [str(repo)]

    harness.run(body)


def test_run_worktree_in_the_grammar_and_over_rest(harness: Harness) -> None:
    repo = project(harness.root)
    args = commands.build_parser().parse_args(
        ["run", "--worktree", "--name", "fmt", "--cwd", "b", "--", "sh", "-c",
         "echo THREE = 3 >> two.py"])
    spec = commands.spec_from_args(args, str(repo))
    assert spec.worktree and spec.cwd == str(repo / "b")
    assert RunBody.of_call(spec=spec).to_spec() == spec  # REST keeps it

    async def body(engine: Engine) -> None:
        await commands.execute(engine, args, str(repo))
        await engine.wait("fmt", timeout_s=30)
        (change,) = await engine.changes()
        assert change["files"] == ["b/two.py"] and change["title"].startswith("fmt: sh -c")

    harness.run(body)


def test_worktree_in_a_blueprint_must_be_a_boolean(tmp_path: Path) -> None:
    text = '[missions.fix]\ncommand = "true"\nworktree = "yes"\n'
    with pytest.raises(BlueprintError, match=r"\[missions.fix\]: worktree: must be true or false"):
        parse(text, "bp.toml", tmp_path)
    ok = parse(text.replace('"yes"', "true"), "bp.toml", tmp_path)
    assert ok.specs["fix"].worktree


def test_a_readopted_mission_whose_exit_is_unknown_keeps_its_work(harness: Harness) -> None:
    repo = project(harness.root)

    async def body(engine: Engine) -> None:
        m = await engine.run(MissionSpec(
            command=["sh", "-c", "echo ONE = 11 > a/one.py; sleep 1.5"], name="slow",
            worktree=True))
        await engine.close(stop_missions=False)  # the process keeps running
        later = await harness.engine()  # re-adopts it; its exit status will be unknown
        ended = await later.wait(m.id, timeout_s=30)
        assert ended.exit is not None and ended.exit.returncode is None
        assert await later.changes() == []  # not known to be clean: no change opened …
        kept = repo / ".overmind" / "worktrees" / "slow"
        assert (kept / "a" / "one.py").read_text() == "ONE = 11\n"  # … and nothing lost
        assert "exit status unknown" in await later.logs(m.id)

    harness.run(body)
