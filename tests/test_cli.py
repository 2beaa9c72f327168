"""The `overmind` CLI end to end against a real daemon started with `overmind start`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.timeout(180)
OVERMIND = str(Path(sys.executable).parent / "overmind")


@pytest.fixture
def project(tmp_path: Path):
    """A git repository with its own Jupyter runtime dir; the daemon is shut down after."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    for key in ("OVERMIND_URL", "OVERMIND_TOKEN"):
        env.pop(key, None)

    def cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([OVERMIND, *args], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=60, input=input)

    yield repo, cli
    cli("shutdown")


def _daemon_pid(tmp_runtime: Path) -> int:
    (info,) = [json.loads(p.read_text()) for p in tmp_runtime.glob("overmind-*.json")]
    return info["pid"]


def test_supervises_missions_through_the_daemon(project, tmp_path):
    _repo, cli = project
    started = cli("start")
    assert started.returncode == 0, started.stderr
    assert "Overmind is running" in started.stdout
    daemon = _daemon_pid(tmp_path / "runtime")

    assert cli("run", "--name", "hello", "--", "sh", "-c", "echo hi there; exit 3").returncode == 0
    waited = cli("wait", "hello")
    assert waited.returncode == 3  # wait's exit status is the mission's
    assert "exit status 3" in waited.stdout
    assert cli("logs", "hello").stdout == "hi there\n"

    parent = cli("run", "--name", "tree", "--", "sleep", "60")
    assert parent.returncode == 0, parent.stderr
    child = cli("run", "--name", "leaf", "--parent", "tree", "--", "sleep", "60")
    assert child.returncode == 0, child.stderr
    listing = json.loads(cli("ps", "--json").stdout)
    by_name = {m["name"]: m for m in listing}
    assert set(by_name) == {"tree", "leaf"}  # live only; hello has ended
    assert by_name["leaf"]["parent"] == by_name["tree"]["id"]
    pids = [by_name["tree"]["pid"], by_name["leaf"]["pid"]]
    assert all(psutil.pid_exists(p) for p in pids)
    tree = cli("ps", "--tree").stdout
    assert "└─ leaf" in tree

    killed = cli("kill", "--cascade", "tree")
    assert killed.returncode == 0, killed.stderr
    assert killed.stdout.index("leaf") < killed.stdout.index("tree  ")  # depth-first
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                   for p in pids)

    everything = json.loads(cli("ps", "--all", "--json").stdout)
    assert {m["name"]: m["status"] for m in everything} == {
        "hello": "failed", "tree": "killed", "leaf": "killed"}

    down = cli("shutdown")
    assert down.returncode == 0, down.stderr
    assert not psutil.pid_exists(daemon) or psutil.Process(daemon).status() == "zombie"
    assert cli("status").returncode == 1  # nothing runs any more


def test_bad_input_gets_usage_and_close_matches(project):
    _repo, cli = project
    unknown = cli("frobnicate")
    assert unknown.returncode == 2
    assert "invalid choice: 'frobnicate'" in unknown.stderr and "ps" in unknown.stderr
    bad_flag = cli("run", "--restart", "sometimes", "--", "true")
    assert bad_flag.returncode == 2 and "on-failure" in bad_flag.stderr
    assert cli("run", "--name", "webserver", "--", "sleep", "30").returncode == 0
    missing = cli("stop", "websrver")
    assert missing.returncode == 1
    assert "no mission named websrver" in missing.stderr and "webserver" in missing.stderr
    empty = cli("run", "--")
    assert empty.returncode == 2 and "nothing to run" in empty.stderr
    objectives = cli("objectives")
    assert objectives.returncode == 0 and "no objectives yet" in objectives.stdout


def test_ambiguous_prefix_lists_candidates(project):
    _repo, cli = project
    ids = []
    for i in range(17):  # 17 random hex ids: two share a first digit (pigeonhole)
        done = cli("run", "--name", f"m{i}", "--", "true")
        assert done.returncode == 0, done.stderr
    ids = [m["id"] for m in json.loads(cli("ps", "--all", "--json").stdout)]
    first = [i[0] for i in ids]
    shared = next(c for c in first if first.count(c) > 1)
    result = cli("info", shared)
    assert result.returncode == 1
    assert "matches" in result.stderr and "give more of the id" in result.stderr


def test_blueprint_apply_and_wait(project):
    repo, cli = project
    (repo / "bp.toml").write_text(
        '[missions.first]\ncommand = "sh -c \'echo one > order.txt\'"\n'
        '[missions.second]\ncommand = "sh -c \'echo two >> order.txt\'"\n'
        'depends_on = { first = "completed" }\n')
    applied = cli("apply", "bp.toml", "--name", "pipeline")
    assert applied.returncode == 0, applied.stderr
    assert cli("wait", "pipeline", "--timeout", "30").returncode == 0
    assert (repo / "order.txt").read_text() == "one\ntwo\n"
    (repo / "cycle.toml").write_text('[missions.a]\ncommand = "true"\ndepends_on = ["b"]\n'
                                     '[missions.b]\ncommand = "true"\ndepends_on = ["a"]\n')
    cyc = cli("apply", "cycle.toml")
    assert cyc.returncode == 2 and "a → b → a" in cyc.stderr  # bad input: exit 2
    (repo / "types.toml").write_text('[missions.a]\ncommand = "true"\nmax_restarts = "x"\n')
    typed = cli("apply", "types.toml")
    assert typed.returncode == 2
    assert "types.toml: [missions.a]: max_restarts: must be a valid integer" in typed.stderr
    assert "Traceback" not in typed.stderr and "invalid literal" not in typed.stderr
    (repo / "named.toml").write_text('[missions.ok]\ncommand = "true"\n'
                                     '[missions."not ok"]\ncommand = "true"\n')
    for _ in range(2):  # a refused blueprint records nothing, however often it is applied
        named = cli("apply", "named.toml")
        assert named.returncode == 2 and "invalid mission name" in named.stderr
    listing = json.loads(cli("ps", "--all", "--json").stdout)
    assert [m["name"] for m in listing if m["status"] == "pending"] == []


def _dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _read_until(fd: int, needle: bytes, timeout: float = 20.0) -> bytes:
    """Read a pty master until ``needle`` shows up (or fail after ``timeout`` s)."""
    import select
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never appeared; saw {seen[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_attach_is_an_interactive_terminal_on_a_session(project, tmp_path):
    """`overmind attach` in a real terminal: raw keys reach the session's pty, its output
    comes back, Ctrl-] detaches and the session goes on running."""
    _repo, cli = project
    assert cli("run", "--type", "session", "--name", "shell", "--", "sh").returncode == 0
    refused = cli("run", "--name", "plain", "--", "sleep", "30")
    assert refused.returncode == 0
    master, slave = os.openpty()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    env.pop("OVERMIND_URL", None)
    env.pop("OVERMIND_TOKEN", None)
    proc = subprocess.Popen([OVERMIND, "attach", "shell"], cwd=_repo, env=env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        _read_until(master, b"Ctrl-] detaches")
        os.write(master, b"echo $((6 * 7))\r")  # raw mode: the shell sees the keys
        _read_until(master, b"42")
        os.write(master, b"\x1d")  # Ctrl-]
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    listing = {m["name"]: m["status"] for m in json.loads(cli("ps", "--json").stdout)}
    assert listing["shell"] == "running"  # detaching does not stop the session
    not_session = cli("attach", "plain")
    assert not_session.returncode == 2 and "only a running session mission" in \
        not_session.stderr


def test_attach_ends_by_itself_when_the_session_ends(project, tmp_path):
    """The terminal is given back when the mission exits, even if no key is pressed."""
    _repo, cli = project
    assert cli("run", "--type", "session", "--name", "brief", "--", "sh", "-c",
               "sleep 2; echo bye").returncode == 0
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERMIND_")}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    proc = subprocess.Popen([OVERMIND, "attach", "brief"], cwd=_repo, env=env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        _read_until(master, b"bye")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_start_after_a_kill_9_starts_a_new_engine_on_the_same_port(project, tmp_path):
    repo, cli = project
    first = cli("start")
    assert first.returncode == 0, first.stderr
    runtime = tmp_path / "runtime"
    (info,) = [json.loads(p.read_text()) for p in runtime.glob("overmind-*.json")]
    os.kill(info["pid"], 9)  # no clean-up: its runtime file stays behind
    deadline = time.monotonic() + 10
    while not _dead(info["pid"]):  # gone, or a zombie nobody reaps (as under some inits)
        assert time.monotonic() < deadline, "kill -9 did not end the server"
        time.sleep(0.05)
    second = cli("start")
    assert second.returncode == 0, second.stderr
    (again,) = [json.loads(p.read_text()) for p in runtime.glob("overmind-*.json")]
    assert again["pid"] != info["pid"]  # a new engine, not the dead one reported running
    assert f"(pid {again['pid']})" in second.stdout
    assert again["url"] == info["url"]  # same port: invites naming it stay valid
    assert json.loads((repo / ".overmind" / "daemon.json").read_text())["port"] == \
        int(info["url"].rsplit(":", 1)[1].split("/")[0])
    assert cli("status").returncode == 0
    assert cli("start").stdout == second.stdout  # a live, answering engine is reused
def _command_lines() -> list[str]:
    lines = []
    for proc in psutil.process_iter(["cmdline"]):
        lines.append(" ".join(proc.info["cmdline"] or []))
    return lines


def test_no_token_on_any_command_line_and_status_names_the_sandbox(project, tmp_path):
    repo, cli = project
    started = cli("start")
    assert started.returncode == 0, started.stderr
    (server,) = [json.loads(p.read_text()) for p in (tmp_path / "runtime").glob("jpserver-*.json")]
    overmind = json.loads(next((tmp_path / "runtime").glob("overmind-*.json")).read_text())
    assert len(server["token"]) >= 32  # the server does use a token …
    lines = _command_lines()
    assert any(f"--ServerApp.root_dir={repo}" in line for line in lines)
    assert not any(server["token"] in line or overmind["token"] in line for line in lines)
    assert not list((repo / ".overmind").glob("jupyter-token-*"))  # read once, then deleted
    status = cli("status")
    assert "sandbox: agents run in an OS sandbox (bubblewrap" in status.stdout, status.stdout
    assert "model: " in status.stdout  # a model or what to set (the test env decides)
    as_json = json.loads(cli("status", "--json").stdout)
    assert as_json["sandbox"]["available"] is True and "configured" in as_json["model"]


def test_without_a_working_sandbox_start_and_status_say_so_and_agents_are_refused(
        project, tmp_path):
    repo, _cli = project  # its teardown shuts the daemon down
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission "
                                "denied' >&2\nexit 1\n")
    (fake / "bwrap").chmod(0o755)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "OVERMIND_MODEL": "scripted:x"}
    env.pop("OVERMIND_URL", None)
    env.pop("OVERMIND_TOKEN", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([OVERMIND, *args], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=60)
    started = run("start")
    assert started.returncode == 0, started.stderr
    assert "no OS sandbox: bwrap failed: bwrap: setting up uid map" in started.stderr
    assert "allow_unsandboxed_agents" in started.stderr
    status = run("status").stdout
    assert "agents are refused" in status
    assert "model: scripted:x (scripted answers, not a real model)" in status, status
    agent = run("run", "--name", "a", "--type", "agent", "--", "hello")
    assert agent.returncode == 1
    assert "refusing to run agents without an OS sandbox" in agent.stderr
    assert "OVERMIND_ALLOW_UNSANDBOXED=1" in agent.stderr
