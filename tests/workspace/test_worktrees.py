"""The worktree pool on real repositories: one worktree + branch per task, the host's
work untouched, dirty worktrees never deleted, concurrent acquires kept apart."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from overmind_jupyter.errors import NotFound
from overmind_jupyter.workspace.worktrees import (
    PortAllocator,
    Workspace,
    WorkspaceDirty,
    WorktreePool,
)

pytestmark = pytest.mark.timeout(90)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def worktrees(repo: Path) -> set[Path]:
    out = git(repo, "worktree", "list", "--porcelain")
    return {Path(line[9:]) for line in out.splitlines() if line.startswith("worktree ")}


async def warm(pool: WorktreePool) -> None:
    """Wait until the pool holds ``pool_size`` prepared spares."""
    for _ in range(600):
        if pool.spare_count >= pool.config.pool_size:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {pool.spare_count} spares after 30 s")


def edit_host(repo: Path) -> str:
    """Uncommitted host work: an edited tracked file and an untracked one."""
    (repo / "app" / "main.py").write_text("print('host edit')\n")
    (repo / "notes.txt").write_text("host notes\n")
    return git(repo, "status", "--porcelain")


def test_acquire_gives_a_branch_and_worktree_and_leaves_the_host_alone(
        host_repo: Path, pool_run) -> None:
    before = edit_host(host_repo)

    async def body(pool: WorktreePool) -> Workspace:
        await warm(pool)
        return await pool.acquire("Fix login!")

    ws = pool_run(body, pool_size=1)
    assert ws.path == host_repo / ".overmind" / "worktrees" / "Fix-login"
    assert ws.branch == "overmind/Fix-login" and not ws.shared
    assert git(ws.path, "branch", "--show-current").strip() == ws.branch
    assert ws.base_commit == git(host_repo, "rev-parse", "main").strip()
    assert (ws.path / "app" / "main.py").read_text() == "print('v1')\n"  # committed, not host's
    assert git(ws.path, "status", "--porcelain") == ""
    assert git(host_repo, "status", "--porcelain") == before  # no .overmind/ entries
    assert (host_repo / "app" / "main.py").read_text() == "print('host edit')\n"
    assert git(host_repo, "branch", "--show-current").strip() == "main"
    assert worktrees(host_repo) == {host_repo, ws.path}  # the unused spare was removed


def test_a_warm_pool_hands_out_its_spare_and_prepares_another(pool_run) -> None:
    async def body(pool: WorktreePool) -> tuple[int, Workspace, int]:
        await warm(pool)
        ws = await pool.acquire("docs")
        after = pool.spare_count
        await warm(pool)
        return after, ws, pool.spare_count

    after, ws, refilled = pool_run(body, pool_size=2)
    assert after == 1 and refilled == 2
    assert git(ws.path, "status", "--porcelain") == ""


def test_spare_follows_a_base_other_than_the_one_it_was_prepared_at(
        host_repo: Path, pool_run) -> None:
    git(host_repo, "tag", "v1")

    async def body(pool: WorktreePool) -> tuple[Workspace, Workspace]:
        await warm(pool)  # spares at v1
        (host_repo / "app" / "util.py").unlink()
        (host_repo / "app" / "new.py").write_text("NEW = 2\n")
        git(host_repo, "add", "-A")
        git(host_repo, "commit", "-q", "-m", "second")
        newer = await pool.acquire("newer")  # default base: the host's HEAD now
        older = await pool.acquire("older", base="v1")
        return newer, older

    newer, older = pool_run(body, pool_size=2)
    assert (newer.path / "app" / "new.py").read_text() == "NEW = 2\n"
    assert not (newer.path / "app" / "util.py").exists()
    assert newer.base_commit == git(host_repo, "rev-parse", "HEAD").strip()
    assert (older.path / "app" / "util.py").exists() and not (older.path / "app/new.py").exists()
    assert older.base_commit == git(host_repo, "rev-parse", "v1").strip()
    for ws in (newer, older):
        assert git(ws.path, "status", "--porcelain") == ""
        assert git(ws.path, "rev-parse", "HEAD").strip() == ws.base_commit


def test_four_concurrent_acquires_get_four_worktrees_branches_and_port_blocks(
        host_repo: Path, pool_run) -> None:
    before = edit_host(host_repo)

    async def body(pool: WorktreePool) -> list[Workspace]:
        await warm(pool)  # two spares for four acquires: two fall back to `worktree add`
        return await asyncio.gather(*(pool.acquire("job") for _ in range(4)))

    spaces = pool_run(body, pool_size=2, ports=3)
    assert sorted(ws.branch for ws in spaces) == [
        "overmind/job", "overmind/job-2", "overmind/job-3", "overmind/job-4"]
    assert len({ws.path for ws in spaces}) == 4
    ports = [p for ws in spaces for p in ws.ports]
    assert len(ports) == 12 and len(set(ports)) == 12
    for ws in spaces:
        assert git(ws.path, "branch", "--show-current").strip() == ws.branch
        assert ws.env()["PORT"] == str(ws.ports[0])
        assert git(ws.path, "status", "--porcelain") == ""
    assert git(host_repo, "status", "--porcelain") == before


def test_an_existing_branch_is_never_moved(host_repo: Path, pool_run) -> None:
    git(host_repo, "branch", "overmind/docs")
    (host_repo / "README.md").write_text("# moved on\n")
    git(host_repo, "commit", "-qam", "later")
    old = git(host_repo, "rev-parse", "overmind/docs").strip()

    ws = pool_run(lambda pool: pool.acquire("docs"))
    assert ws.branch == "overmind/docs-2"
    assert git(host_repo, "rev-parse", "overmind/docs").strip() == old


def test_unknown_base_is_not_found(pool_run) -> None:
    with pytest.raises(NotFound, match="no-such-branch"):
        pool_run(lambda pool: pool.acquire("x", base="no-such-branch"), start=False)


@pytest.mark.parametrize("dirt", ["edit", "untracked", "staged"])
def test_release_refuses_a_dirty_worktree_until_forced(host_repo: Path, pool_run,
                                                       dirt: str) -> None:
    ports = PortAllocator(21000, 21100)

    async def body(pool: WorktreePool) -> None:
        ws = await pool.acquire("task", base="main")
        if dirt == "edit":
            (ws.path / "README.md").write_text("changed\n")
        else:
            (ws.path / "new.py").write_text("x\n")
            if dirt == "staged":
                git(ws.path, "add", "new.py")
        with pytest.raises(WorkspaceDirty, match="README.md" if dirt == "edit" else "new.py"):
            await pool.release(ws, delete_branch=True)
        assert ws.path.is_dir() and set(ws.ports) <= ports.allocated
        assert git(ws.path, "status", "--porcelain")  # the change is still there
        await pool.release(ws, force=True)
        assert not ws.path.exists() and not ports.allocated

    pool_run(body, allocator=ports, pool_size=0)
    assert worktrees(host_repo) == {host_repo}
    assert not list((host_repo / ".overmind" / "trash").iterdir())  # deleted on close
    assert git(host_repo, "branch", "--list", "overmind/task").strip()  # branch kept


def test_release_returns_at_once_and_can_delete_the_branch(host_repo: Path, pool_run) -> None:
    async def body(pool: WorktreePool) -> None:
        ws = await pool.acquire("done")
        git(ws.path, "commit", "-q", "--allow-empty", "-m", "work")
        await pool.release(ws, delete_branch=True)
        assert not ws.path.exists()  # moved out of the way; deleted in the background
        assert git(host_repo, "branch", "--list", "overmind/*") == ""
        again = await pool.acquire("done")  # the name is free again
        assert again.branch == "overmind/done" and again.path == ws.path
        await pool.release(again)
        await pool.release(again)  # twice is harmless

    pool_run(body, pool_size=0)
    assert worktrees(host_repo) == {host_repo}
    assert git(host_repo, "branch", "--list", "overmind/done").strip()  # kept by default


def test_reconcile_removes_clean_strays_and_keeps_dirty_ones(host_repo: Path,
                                                             pool_run) -> None:
    async def first_run(pool: WorktreePool) -> list[Workspace]:
        return [await pool.acquire(n) for n in ("clean", "dirty", "known", "vanished")]

    clean, dirty, known, vanished = pool_run(first_run, pool_size=0)
    (dirty.path / "README.md").write_text("unsaved work\n")
    subprocess.run(["rm", "-rf", str(vanished.path)], check=True)
    stray = host_repo / ".overmind" / "worktrees" / "not-a-worktree"
    stray.mkdir()
    (stray / "file").write_text("?")

    report = pool_run(lambda pool: pool.reconcile({known.path}), start=False)
    assert report == {"removed": [str(clean.path)],
                      "kept_dirty": [str(dirty.path), str(stray)]}
    assert not clean.path.exists() and (stray / "file").exists()
    assert (dirty.path / "README.md").read_text() == "unsaved work\n"
    assert worktrees(host_repo) == {host_repo, dirty.path, known.path}  # vanished: pruned
    assert git(host_repo, "branch", "--list", "overmind/clean").strip()  # work is kept


def test_shared_workspace_is_the_hosts_own_checkout(host_repo: Path, pool_run) -> None:
    before = edit_host(host_repo)

    async def body(pool: WorktreePool) -> Workspace:
        ws = await pool.acquire("anything", base="no-matter", shared=True)
        await pool.release(ws, delete_branch=True)
        return ws

    ws = pool_run(body, pool_size=1)
    assert ws.shared and ws.path == host_repo and ws.branch == "main" and len(ws.ports) == 3
    assert ws.env()["OVERMIND_WORKSPACE"] == str(host_repo)
    assert git(host_repo, "status", "--porcelain") == before
    assert git(host_repo, "branch", "--show-current").strip() == "main"


def test_close_removes_unused_spares(host_repo: Path, pool_run) -> None:
    pool_run(warm, pool_size=2)
    assert worktrees(host_repo) == {host_repo}
    assert not list((host_repo / ".overmind" / "spares").iterdir())


def test_leftover_spares_of_a_crashed_run_are_replaced(host_repo: Path, pool_run) -> None:
    leftover = host_repo / ".overmind" / "spares" / "crashed"
    git(host_repo, "worktree", "add", "-q", "--detach", str(leftover))
    (leftover / "README.md").write_text("half-written\n")

    async def body(pool: WorktreePool) -> Workspace:
        await warm(pool)
        ws = await pool.acquire("fresh")
        return ws

    ws = pool_run(body, pool_size=1)
    assert (ws.path / "README.md").read_text() == "# demo\n"
    assert not leftover.exists()
