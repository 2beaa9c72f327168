"""The OS sandbox (bubblewrap) with real bwrap, real git and real processes: what a
confined process can write, read and see, and that git still commits from inside."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from overmind_jupyter.config import Settings
from overmind_jupyter.workspace.sandbox import (
    ALLOW_ENV,
    Sandbox,
    SandboxRefused,
    git_paths,
)
from overmind_jupyter.workspace.verify import run_verification

pytestmark = pytest.mark.timeout(60)
GIT_ID = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
          "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ID}).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit and a task worktree at .overmind/worktrees/task on
    branch overmind/task (the worktree pool's layout)."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    git("init", "-q", "-b", "main", cwd=root)
    git("add", ".", cwd=root)
    git("commit", "-qm", "init", cwd=root)
    git("worktree", "add", "-q", "-b", "overmind/task", str(root / ".overmind/worktrees/task"),
        cwd=root)
    git("worktree", "add", "-q", "-b", "overmind/other",
        str(root / ".overmind/worktrees/other"), cwd=root)
    return root


def sandboxed(sandbox: Sandbox, script: str, workspace: Path, root: Path,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    argv, env = sandbox.confine(["/bin/sh", "-c", script], workspace, root,
                                {**os.environ, **GIT_ID, **(env or {})})
    return subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=30, check=False)


def test_the_probe_finds_bubblewrap_on_this_machine():
    status = Sandbox().probe()
    assert status.available, status.reason
    assert "bubblewrap" in status.reason


def test_git_commits_from_inside_but_config_hooks_and_other_branches_stay_read_only(repo):
    task = repo / ".overmind/worktrees/task"
    main = git("rev-parse", "main", cwd=repo)
    out = sandboxed(Sandbox(), """
        echo new > b.txt && git add b.txt && git commit -qm 'from the sandbox' && echo COMMITTED
        git config user.name intruder 2>/dev/null || echo CONFIG-REFUSED
        touch "$COMMON/hooks/pre-commit" 2>/dev/null || echo HOOKS-REFUSED
        echo 0000 > "$COMMON/refs/heads/main" 2>/dev/null || echo MAIN-REFUSED
        touch "$ROOT/a.txt" 2>/dev/null || echo CHECKOUT-REFUSED
        ls "$ROOT/.overmind/worktrees" | tr '\\n' ' '
        """, task, repo, {"COMMON": str(repo / ".git"), "ROOT": str(repo)})
    assert "COMMITTED" in out.stdout, out.stderr
    for refused in ("CONFIG-REFUSED", "HOOKS-REFUSED", "MAIN-REFUSED", "CHECKOUT-REFUSED"):
        assert refused in out.stdout, out.stdout + out.stderr
    # the other worktree is hidden: only the task's own worktree is mounted there
    assert out.stdout.strip().endswith("task"), out.stdout
    assert git("log", "-1", "--format=%s", "overmind/task", cwd=repo).strip() == \
        "from the sandbox"
    assert git("fsck", "--no-progress", cwd=repo) == ""  # the objects it wrote are sound
    assert "intruder" not in (repo / ".git/config").read_text()
    assert git("rev-parse", "main", cwd=repo) == main
    assert not (repo / ".git/hooks/pre-commit").exists()


def test_git_paths_of_a_worktree_name_its_admin_dir_objects_and_branch_folder(repo):
    ro, rw = git_paths(repo / ".overmind/worktrees/task")
    common = (repo / ".git").resolve()
    assert ro == [common]
    assert rw == [common / "worktrees/task", common / "objects", common / "refs/heads/overmind",
                  common / "logs/refs/heads/overmind"]
    ro, rw = git_paths(repo)  # the main checkout: .git writable but its config and hooks
    assert rw == [common] and common / "config" in ro and common / "hooks" in ro
    assert git_paths(repo.parent / "nowhere") == ([], [])


def test_writes_outside_the_workspace_fail_and_tmp_and_home_are_private(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s3cret\n")
    task = repo / ".overmind/worktrees/task"
    out = sandboxed(Sandbox(), f"""
        echo x > {outside}/new.txt 2>/dev/null || echo OUTSIDE-REFUSED
        cat {outside}/secret.txt 2>/dev/null || echo SECRET-INVISIBLE
        ln -s {outside}/secret.txt leak && (cat leak 2>/dev/null || echo SYMLINK-DANGLES)
        echo private > /tmp/mine && echo $HOME > "$HOME/where" && echo PRIVATE-OK
        """, task, repo)
    for word in ("OUTSIDE-REFUSED", "SECRET-INVISIBLE", "SYMLINK-DANGLES", "PRIVATE-OK"):
        assert word in out.stdout, out.stdout + out.stderr
    assert "s3cret" not in out.stdout
    assert not (outside / "new.txt").exists() and not Path("/tmp/mine").exists()
    assert not (Path.home() / "where").exists()


def test_jupyter_runtime_files_and_other_processes_are_invisible(repo, tmp_path, monkeypatch):
    runtime = repo / "runtime"  # inside the read-only checkout: only hiding protects it
    runtime.mkdir()
    (runtime / "jpserver-4242.json").write_text('{"token": "RUNTIME-TOKEN-1"}')
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    witness = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                "--token=CMDLINE-TOKEN-2"])
    try:
        out = sandboxed(Sandbox(), f"""
            cat {runtime}/jpserver-4242.json 2>&1; ls -a {runtime}
            cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\\0' ' '
            echo; ls /proc | grep -c '^[0-9]'
            """, repo / ".overmind/worktrees/task", repo)
    finally:
        witness.kill()
        witness.wait()
    assert "RUNTIME-TOKEN-1" not in out.stdout and "CMDLINE-TOKEN-2" not in out.stdout
    assert "No such file" in out.stdout
    assert int(out.stdout.split()[-1]) <= 4  # sandbox init, sh, cat/ls: nothing else


def test_the_server_credentials_never_reach_the_sandboxed_environment(repo):
    argv, env = Sandbox().confine(["true"], repo, repo, {
        "OVERMIND_TOKEN": "t1", "JUPYTER_TOKEN": "t2", "PATH": "/usr/bin",
        "OPENAI_API_KEY": "kept-for-the-agent"})
    assert "OVERMIND_TOKEN" not in env and "JUPYTER_TOKEN" not in env
    assert env["OPENAI_API_KEY"] == "kept-for-the-agent" and env["TMPDIR"] == "/tmp"
    assert argv[0].endswith("bwrap") and argv[-2:] == ["--", "true"]


def failing_bwrap(tmp_path: Path) -> str:
    """A bwrap that fails as it does without user namespaces."""
    path = tmp_path / "bwrap"
    path.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\n"
                    "exit 1\n")
    path.chmod(0o755)
    return str(path)


def test_without_user_namespaces_confine_refuses_unless_the_admin_allows(repo, tmp_path):
    refusing = Sandbox(bwrap=failing_bwrap(tmp_path))
    status = refusing.probe()
    assert not status.available and "No permissions to create new namespace" in status.reason
    assert "allow_unsandboxed_agents" in status.describe()
    with pytest.raises(SandboxRefused, match="allow_unsandboxed_agents"):
        refusing.confine(["true"], repo, repo, {})
    allowing = Sandbox.of(Settings.from_env({ALLOW_ENV: "1"}))
    allowing.bwrap = failing_bwrap(tmp_path)
    assert allowing.confine(["true"], repo, repo, {"OVERMIND_TOKEN": "x"}) == (["true"], {})
    assert "UNSANDBOXED" in allowing.probe().describe()


def test_verification_runs_sandboxed_so_an_agents_conftest_finds_no_token(repo, tmp_path,
                                                                           monkeypatch):
    runtime = tmp_path / "jupyter-runtime"
    runtime.mkdir()
    (runtime / "jpserver-1.json").write_text('{"token": "RUNTIME-TOKEN-3"}')
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    merged = repo / ".overmind/worktrees/task"
    (merged / "conftest.py").write_text(f"""
import glob, pathlib
found = []
for path in glob.glob("/proc/[0-9]*/cmdline") + glob.glob("/proc/[0-9]*/environ"):
    try:
        found += [w for w in pathlib.Path(path).read_bytes().split(b"\\0") if b"TOKEN-4" in w]
    except OSError:
        pass
for path in glob.glob("{runtime}/*"):
    found.append(pathlib.Path(path).read_text())
print("FOUND", found)
""")
    (merged / "test_nothing.py").write_text("def test_ok():\n    pass\n")
    witness = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                "--IdentityProvider.token=CMDLINE-TOKEN-4"])
    try:
        result = asyncio.run(run_verification(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"], merged,
            30, sandbox=Sandbox(), root=repo))
        unconfined = asyncio.run(run_verification(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"], merged, 30))
    finally:
        witness.kill()
        witness.wait()
    assert result.ok, result.output_tail
    assert "FOUND []" in result.output_tail
    # the same conftest unconfined does see the token: the test above can fail
    assert "CMDLINE-TOKEN-4" in unconfined.output_tail


def test_verification_refused_without_a_sandbox_says_which_setting(repo, tmp_path):
    result = asyncio.run(run_verification(["true"], repo, 10,
                                          sandbox=Sandbox(bwrap=failing_bwrap(tmp_path))))
    assert not result.ok and "allow_unsandboxed_agents" in result.output_tail


def test_toolchains_on_path_under_home_stay_reachable(repo, tmp_path):
    home = tmp_path / "home"
    tool = home / ".npm-global"
    (tool / "lib/node_modules/fake").mkdir(parents=True)
    (tool / "lib/node_modules/fake/cli.sh").write_text("#!/bin/sh\necho TOOL-RAN\n")
    (tool / "lib/node_modules/fake/cli.sh").chmod(0o755)
    (tool / "bin").mkdir()
    (tool / "bin/fake").symlink_to("../lib/node_modules/fake/cli.sh")
    (home / "secret.txt").write_text("HOME-SECRET\n")
    env = {**os.environ, "HOME": str(home), "PATH": f"{tool / 'bin'}:/usr/bin:/bin"}
    argv, env = Sandbox().confine(["/bin/sh", "-c", "fake; cat ~/secret.txt"], repo, repo,
                                  env)
    out = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=30,
                         check=False)
    assert "TOOL-RAN" in out.stdout, out.stderr
    assert "HOME-SECRET" not in out.stdout and "No such file" in out.stderr


def test_a_merge_verifies_an_agents_branch_sandboxed(repo, tmp_path, monkeypatch):
    from overmind_jupyter.workspace.merge import MergeQueue, MergeRequest
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "jpserver-7.json").write_text('{"token": "RUNTIME-TOKEN-5"}')
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    task = repo / ".overmind/worktrees/task"
    # the agent's branch: tests whose conftest hunts for tokens and fails when it finds one
    (task / "conftest.py").write_text(f"""
import glob, pathlib
def pytest_sessionstart(session):
    seen = b" ".join(pathlib.Path(p).read_bytes() for p in glob.glob("/proc/[0-9]*/cmdline"))
    files = glob.glob("{runtime}/*")
    assert b"CMDLINE-TOKEN-6" not in seen and not files, (seen, files)
""")
    (task / "test_it.py").write_text("def test_ok():\n    pass\n")
    git("add", ".", cwd=task)
    git("commit", "-qm", "agent work", cwd=task)
    witness = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                "--token=CMDLINE-TOKEN-6"])
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    request = MergeRequest("c1", "overmind/task", "main", "agent work", "agent")
    try:
        unconfined = asyncio.run(MergeQueue(repo, verify_command=command).merge(request))
        outcome = asyncio.run(MergeQueue(repo, verify_command=command,
                                         sandbox=Sandbox()).merge(request))
    finally:
        witness.kill()
        witness.wait()
    assert unconfined.state == "verification-failed"  # unconfined, it found the token
    assert outcome.state == "merged", outcome.verification
    assert outcome.verification is not None and outcome.verification.ok


def test_an_agent_gets_a_private_writable_copy_of_its_cli_configuration(repo, tmp_path):
    """Codex keeps a SQLite state under ~/.codex and fails on a read-only one: each agent
    mission gets its own copy there; the host's files never change, and a command without
    an agent home (the verification gate) does not see them at all."""
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text('model_provider = "loopback"\n')
    (home / ".codex" / "sessions").mkdir()
    (home / ".codex" / "sessions" / "old.jsonl").write_text("x" * 1000)
    work, state = repo / ".overmind/worktrees/task", tmp_path / "state"
    script = ("cat ~/.codex/config.toml && echo state > ~/.codex/state.sqlite && "
              "ls ~/.codex && echo hacked > ~/.codex/config.toml")
    argv, env = Sandbox().confine(["/bin/sh", "-c", script], work, repo,
                                  {**os.environ, "HOME": str(home)}, writable=[state],
                                  agent_home=state / "home")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert 'model_provider = "loopback"' in done.stdout and "state.sqlite" in done.stdout
    assert "sessions" not in done.stdout  # history is not copied
    assert (home / ".codex" / "config.toml").read_text() == 'model_provider = "loopback"\n'
    assert not (home / ".codex" / "state.sqlite").exists()
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert "hacked" in again.stdout  # the copy is the agent's own, kept across its restarts
    hidden = sandboxed(Sandbox(), "cat ~/.codex/config.toml", work, repo,
                       {"HOME": str(home)})
    assert hidden.returncode != 0 and "loopback" not in hidden.stdout
