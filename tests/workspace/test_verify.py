"""The verification gate's command: detection, output tail, timeout, secrets kept out."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from conftest_merge import process_gone

from overmind_jupyter.errors import UsageError
from overmind_jupyter.workspace.verify import (
    TAIL_BYTES,
    VerificationResult,
    detect_test_command,
    run_verification,
)

pytestmark = pytest.mark.timeout(60)

PYTEST = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]


@pytest.mark.parametrize(("files", "detected"), [
    ({"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"}, True),
    ({"pytest.ini": "[pytest]\n"}, True),
    ({"tox.ini": "[tox]\n[pytest]\ntestpaths = t\n"}, True),
    ({"setup.cfg": "[tool:pytest]\n"}, True),
    ({"tests/test_x.py": ""}, True),
    ({"test/test_x.py": ""}, True),
    ({"pyproject.toml": "[project]\nname = 'x'\n", "tox.ini": "[tox]\n"}, False),
    ({"pyproject.toml": "not toml [", "setup.cfg": "[metadata]\n"}, False),
    ({"src/x.py": ""}, False),
])
def test_detect_test_command(tmp_path: Path, files: dict[str, str], detected: bool) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert detect_test_command(tmp_path) == (PYTEST if detected else None)


def verify(argv: list[str], cwd: Path, timeout_s: float = 30) -> VerificationResult:
    return asyncio.run(run_verification(argv, cwd, timeout_s))


def test_exit_status_and_combined_output(tmp_path: Path) -> None:
    ok = verify([sys.executable, "-c", "import os; print(os.getcwd())"], tmp_path)
    assert (ok.ok, ok.exit_code) == (True, 0) and ok.output_tail.strip() == str(tmp_path)
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    bad = verify([sys.executable, "-c", code], tmp_path)
    assert (bad.ok, bad.exit_code) == (False, 3)
    assert "out" in bad.output_tail and "err" in bad.output_tail
    assert bad.command == (sys.executable, "-c", code) and bad.duration_s > 0


def test_only_the_end_of_long_output_is_kept(tmp_path: Path) -> None:
    code = "for i in range(20000): print(f'line {i}')\nprint('SUMMARY: 3 failed')"
    result = verify([sys.executable, "-c", code], tmp_path)
    assert len(result.output_tail.encode()) <= TAIL_BYTES
    assert result.output_tail.startswith("[…]\n")
    assert result.output_tail.endswith("SUMMARY: 3 failed\n")
    assert "line 19999" in result.output_tail and "line 100\n" not in result.output_tail


def test_api_keys_are_not_in_the_environment(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("OVERMIND_VERIFY_PROBE", "visible")
    code = "import os; print(os.environ.get('OPENAI_API_KEY'), os.environ['OVERMIND_VERIFY_PROBE'])"
    assert verify([sys.executable, "-c", code], tmp_path).output_tail == "None visible\n"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    code = ("import subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
            "print('started', flush=True); time.sleep(60)")
    started = time.monotonic()
    result = verify([sys.executable, "-c", code], tmp_path, timeout_s=2)
    assert time.monotonic() - started < 10
    assert (result.ok, result.exit_code) == (False, None)
    assert "started" in result.output_tail and "timed out after 2 s" in result.output_tail
    assert process_gone(int(pidfile.read_text()))


def test_background_leftovers_do_not_hold_the_gate_open(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    code = ("import subprocess, sys\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            f"open({str(pidfile)!r}, 'w').write(str(child.pid))")
    started = time.monotonic()
    result = verify([sys.executable, "-c", code], tmp_path)
    assert result.ok and time.monotonic() - started < 10
    assert process_gone(int(pidfile.read_text()))


def test_a_missing_program_is_a_failed_result_not_an_exception(tmp_path: Path) -> None:
    result = verify(["/nonexistent/tests"], tmp_path)
    assert (result.ok, result.exit_code) == (False, None)
    assert "could not start /nonexistent/tests" in result.output_tail
    with pytest.raises(UsageError):
        verify([], tmp_path)
