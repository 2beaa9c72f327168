"""``%overmind`` magics through IPython's test shell, embedded and against a real server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.terminal.interactiveshell import TerminalInteractiveShell
from IPython.testing.globalipapp import start_ipython
from jupyter_process import JupyterProcess, alive, wait_until

from overmind_jupyter.magics import OvermindMagics

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project as the working directory, with no Overmind server around."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    for var in ("OVERMIND_URL", "OVERMIND_TOKEN", "OVERMIND_ROOT"):
        monkeypatch.delenv(var, raising=False)
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    return root


def ipython_shell() -> TerminalInteractiveShell:
    """IPython's test shell (one per process), without an earlier test's ``%config``."""
    start_ipython()
    shell = TerminalInteractiveShell.instance()
    shell.config.pop("OvermindMagics", None)
    return shell


@pytest.fixture
def magics(project: Path) -> Iterator[OvermindMagics]:
    """Fresh magics registered on IPython's test shell; closed (engine stopped) after."""
    shell = ipython_shell()
    magics = OvermindMagics(shell=shell)
    shell.register_magics(magics)
    yield magics
    magics.close()


def om(magics: OvermindMagics, line: str) -> None:
    magics.shell.run_line_magic("overmind", line)


def out(capsys: pytest.CaptureFixture) -> str:
    return capsys.readouterr().out


def ticker(n: int, pause: float = 0.1) -> str:
    """A shell command printing ``tick 1`` … ``tick n``, one every ``pause`` s."""
    return f"sh -c 'for i in $(seq 1 {n}); do echo tick $i; sleep {pause}; done'"


# -- embedded mode --------------------------------------------------------------------
def test_embedded_mode_runs_lists_waits_and_shows_logs(magics, project, capsys):
    om(magics, "status")
    text = out(capsys)
    assert "mode: embedded" in text and "an engine embedded in this kernel" in text
    assert str(project) in text

    om(magics, "run --name hello -- sh -c 'echo hi there; sleep 0.3; exit 3'")
    assert "started hello" in out(capsys)
    om(magics, "run --name nap -- sleep 60")
    nap = magics.portal.call(magics.engine.info, "nap")
    assert alive(nap["pid"])

    om(magics, "ps")
    listing = out(capsys)
    assert "hello" in listing and "nap" in listing and "running" in listing

    om(magics, "wait hello")
    assert "hello failed: exit status 3" in out(capsys)
    om(magics, "logs hello")
    assert out(capsys) == "hi there\n"
    om(magics, "info hello --json")
    assert '"status": "failed"' in out(capsys)

    magics.close()  # the embedded engine stops its missions
    assert not alive(nap["pid"])
    assert (project / ".overmind" / "overmind.db").exists()


def test_logs_follow_streams_and_returns_when_the_mission_ends(magics, capsys):
    om(magics, f"run --name tick -- {ticker(8)}")
    out(capsys)
    om(magics, "logs -f tick")
    assert out(capsys) == "".join(f"tick {i}\n" for i in range(1, 9))
    info = magics.portal.call(magics.engine.info, "tick")
    assert info["status"] == "exited"  # follow returned because the mission ended


def test_bad_input_raises_usage_error_with_the_usage_line(magics, capsys):
    for line, needle in [
        ("", "usage: %overmind"),
        ("frobnicate", "invalid choice: 'frobnicate'"),
        ("run --restart sometimes -- true", "invalid choice: 'sometimes'"),
        ("run --env NOVALUE -- true", "expected KEY=VALUE"),
        ("wait", "the following arguments are required: id"),
    ]:
        with pytest.raises(UsageError) as caught:
            om(magics, line)
        message = str(caught.value)
        assert needle in message, message
        assert "usage: %overmind" in message and "Traceback" not in message
    for line, needle in [("logs nosuch", "no mission named nosuch"),
                         ("run --name x", "nothing to run"),
                         ("run 'unterminated", "cannot parse the command line"),
                         ("start", "terminal command")]:
        with pytest.raises(UsageError, match=needle):
            om(magics, line)
    om(magics, "--help")
    assert "Supervise missions" in out(capsys)  # help is printed, not an error


def test_prompt_cell_without_a_model_is_a_clear_error(magics, monkeypatch):
    monkeypatch.delenv("OVERMIND_MODEL", raising=False)
    for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(UsageError, match="no model configured"):
        magics.shell.run_cell_magic("overmind", "prompt", "Refactor the parser\n")
    with pytest.raises(UsageError, match="takes `prompt"):
        magics.shell.run_cell_magic("overmind", "ps", "body\n")


def test_server_mode_required_but_absent_is_a_clear_error(magics):
    magics.shell.run_line_magic("config", "OvermindMagics.mode = 'server'")
    with pytest.raises(UsageError, match="no Overmind server found"):
        om(magics, "status")
    assert magics.engine is None  # nothing was embedded behind the user's back


def test_load_ext_overmind_registers_the_magic_and_unload_stops_the_engine(project, capsys):
    shell = ipython_shell()
    shell.run_line_magic("load_ext", "overmind")
    magics = shell._overmind_magics
    try:
        shell.run_line_magic("overmind", "run --name kept -- sleep 60")
        pid = magics.portal.call(magics.engine.info, "kept")["pid"]
        assert alive(pid)
        shell.run_line_magic("unload_ext", "overmind")
        assert not alive(pid)  # unloading stopped the embedded engine and its missions
        assert "started kept" in out(capsys)
    finally:
        magics.close()
        shell.extension_manager.loaded.discard("overmind")


# -- server mode ----------------------------------------------------------------------
@pytest.fixture
def server(tmp_path: Path, project: Path) -> Iterator[JupyterProcess]:
    proc = JupyterProcess(project, tmp_path / "server-home").start()
    yield proc
    assert proc.reap() == [], "processes survived the server"


def test_server_mode_talks_to_the_servers_engine(magics, server, project, capsys):
    shell = magics.shell
    shell.run_line_magic("config", f"OvermindMagics.url = {server.url!r}")
    shell.run_line_magic("config", f"OvermindMagics.token = {server.token!r}")
    om(magics, "status")
    text = out(capsys)
    assert "mode: server" in text and "the Jupyter server's engine (REST)" in text
    assert f"engine pid {server.pid}" in text
    assert magics.engine is None  # nothing embedded

    om(magics, "run --name remote -- sleep 60")
    assert "started remote" in out(capsys)
    remote = server.missions()["remote"]
    assert remote["status"] == "running" and remote["cwd"] == str(project)
    server.track(remote["pid"])
    om(magics, "ps")
    assert "remote" in out(capsys)

    om(magics, f"run --name tick -- {ticker(6)}")
    out(capsys)
    om(magics, "logs -f tick")
    assert out(capsys) == "".join(f"tick {i}\n" for i in range(1, 7))
    assert server.missions()["tick"]["status"] == "exited"

    om(magics, "stop remote")
    assert "remote" in out(capsys)
    assert server.missions()["remote"]["status"] == "killed"
    assert not alive(remote["pid"])
    with pytest.raises(UsageError, match="no mission named remot; did you mean remote"):
        om(magics, "info remot")


def test_server_mode_from_the_environment(magics, server, monkeypatch, capsys):
    monkeypatch.setenv("OVERMIND_URL", server.url)
    monkeypatch.setenv("OVERMIND_TOKEN", server.token)
    om(magics, f"run --name envy -- {sys.executable} -c print(42)")
    assert "started envy" in out(capsys)
    om(magics, "wait envy")
    assert "envy exited" in out(capsys)
    wait_until(lambda: "envy" in server.missions(), what="the mission on the server")
    assert server.api("GET", "missions/envy/logs") == "42\n"
