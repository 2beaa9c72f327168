"""The setup hook: untracked files copied from the host, a command that sees $PORT, and a
failing setup that leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from overmind_jupyter.workspace.config import WorkspaceConfig
from overmind_jupyter.workspace.sandbox import Sandbox
from overmind_jupyter.workspace.setup_hook import copy_untracked
from overmind_jupyter.workspace.worktrees import (
    PortAllocator,
    Workspace,
    WorkspaceError,
    WorktreePool,
)

pytestmark = pytest.mark.timeout(60)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def test_setup_copies_listed_untracked_files_and_runs_with_the_workspace_env(
        host_repo: Path, pool_run) -> None:
    (host_repo / ".env").write_text("DB=postgres://localhost\n")
    os.chmod(host_repo / ".env", 0o600)
    (host_repo / "config").mkdir()
    (host_repo / "config" / "dev.ini").write_text("[dev]\n")
    (host_repo / "config" / "other.txt").write_text("not listed\n")
    (host_repo / "README.md").write_text("host's uncommitted README\n")
    setup = 'echo "$PORT $OVERMIND_PORT_1 $OVERMIND_BRANCH $(cat .env)" > setup.out'

    async def body(pool) -> tuple[Workspace, frozenset[str], str, str]:
        ws = await pool.acquire("web")
        copied, out = await pool.copied(ws), (ws.path / "setup.out").read_text()
        status = git(ws.path, "status", "--porcelain", "--untracked-files=all")
        await pool.release(ws)  # the copies and the ignored setup.out do not make it dirty
        return ws, copied, out, status

    ws, copied, out, status = pool_run(
        body, copy=(".env", "config/*.ini", "README.md", "missing.txt"), setup=setup, ports=2,
        pool_size=1)
    assert out == f"{ws.ports[0]} {ws.ports[1]} overmind/web DB=postgres://localhost\n"
    assert copied == {".env", "config/dev.ini"}  # README.md is tracked: its commit wins
    assert status == "?? .env\n?? config/dev.ini\n"
    assert not ws.path.exists()


def test_copied_files_keep_their_mode(host_repo: Path, pool_run) -> None:
    (host_repo / ".env").write_text("TOKEN=abc\n")
    os.chmod(host_repo / ".env", 0o600)

    async def body(pool) -> tuple[str, int, str]:
        ws = await pool.acquire("api")
        env = ws.path / ".env"
        return env.read_text(), env.stat().st_mode & 0o777, (ws.path / "README.md").read_text()

    assert pool_run(body, copy=(".env", "README.md"), pool_size=0) == (
        "TOKEN=abc\n", 0o600, "# demo\n")


def test_failing_setup_raises_with_its_output_and_releases_everything(
        host_repo: Path, pool_run) -> None:
    ports = PortAllocator(21500, 21600)

    async def body(pool) -> None:
        with pytest.raises(WorkspaceError, match=r"(?s)status 3.*boom: npm missing"):
            await pool.acquire("broken")
        assert not (host_repo / ".overmind" / "worktrees" / "broken").exists()
        assert not ports.allocated

    pool_run(body, allocator=ports, setup="echo 'boom: npm missing'; exit 3", pool_size=1)
    assert git(host_repo, "branch", "--list", "overmind/*") == ""
    assert git(host_repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_setup_that_hangs_is_killed_at_its_timeout(host_repo: Path, pool_run) -> None:
    async def body(pool) -> None:
        with pytest.raises(WorkspaceError, match=r"did not finish in 0\.5 s"):
            await pool.acquire("slow")

    pool_run(body, setup="echo started; sleep 30", setup_timeout_s=0.5, pool_size=0)
    assert git(host_repo, "branch", "--list", "overmind/*") == ""


def test_copy_never_writes_through_a_symlink_out_of_the_workspace(tmp_path: Path) -> None:
    source, dest, outside = tmp_path / "host", tmp_path / "ws", tmp_path / "outside"
    (source / "conf").mkdir(parents=True)
    (source / "conf" / "x.env").write_text("secret\n")
    dest.mkdir()
    outside.mkdir()
    (dest / "conf").symlink_to(outside)  # e.g. a symlink committed in the repository
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        copy_untracked(source, dest, ["conf/x.env"])
    assert list(outside.iterdir()) == []


def test_copy_takes_whole_directories_and_skips_private_ones(tmp_path: Path) -> None:
    source, dest = tmp_path / "host", tmp_path / "ws"
    (source / "data" / "sub").mkdir(parents=True)
    (source / "data" / "sub" / "a.csv").write_text("1\n")
    (source / ".git").mkdir()
    (source / ".git" / "config").write_text("[core]\n")
    dest.mkdir()
    assert copy_untracked(source, dest, ["data", ".git/*", "*"]) == ["data"]
    assert (dest / "data" / "sub" / "a.csv").read_text() == "1\n"
    assert not (dest / ".git").exists()


def test_a_cancelled_acquire_leaves_no_worktree_branch_or_process(
        host_repo: Path, tmp_path: Path, pool_run) -> None:
    pidfile = tmp_path / "setup.pid"

    async def body(pool) -> None:
        task = asyncio.create_task(pool.acquire("cancelled"))
        for _ in range(200):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    pool_run(body, setup=f"echo $$ > {pidfile}; exec sleep 30", pool_size=1)
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert git(host_repo, "branch", "--list", "overmind/*") == ""
    assert git(host_repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_the_setup_command_runs_sandboxed_in_its_new_worktree(host_repo: Path,
                                                              tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    setup = (f"touch made-here.txt; (echo x > {outside}) 2>/dev/null || echo refused > "
             f"refused.txt; (echo x >> {host_repo}/README.md) 2>/dev/null || echo ro > ro.txt")

    async def main() -> list[str]:
        pool = WorktreePool(host_repo, WorkspaceConfig(setup=setup, pool_size=0),
                            sandbox=Sandbox())
        await pool.start()
        try:
            ws = await pool.acquire("web")
            return sorted(p.name for p in ws.path.iterdir() if p.name.endswith(".txt"))
        finally:
            await pool.close()
    # the checkout is read-only; a write under /tmp lands in the sandbox's private /tmp
    assert asyncio.run(main()) == ["made-here.txt", "ro.txt"]
    assert not outside.exists() and "x" not in (host_repo / "README.md").read_text()
