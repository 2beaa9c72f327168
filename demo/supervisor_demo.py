"""`make demo` (until the full agent pipeline lands): supervisor and agent layers of Overmind.

Creates a throw-away git repository, starts the Overmind daemon there and drives it with
the `overmind` CLI exactly as a user would, printing each command and its output:
a blueprint with dependencies, a crashing mission under a restart policy, a stalled one
caught by the activity timeout, the mission tree, logs, a cascade kill; then the built-in
coding agent (a real ACP agent process; with no API key it runs a *scripted model*, and
says so) adds a function and its test to the repository; finally a shutdown that leaves
no process behind. With OPENAI_API_KEY or GEMINI_API_KEY set, the agent uses that model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BLUEPRINT = """
name = "site"

[missions.build]
command = "sh -c 'echo building site; mkdir -p public; echo hello > public/index.html'"

[missions.web]
command = ["python3", "-m", "http.server", "0", "--directory", "public"]
restart = "always"
depends_on = { build = "completed" }

[missions.watcher]
command = "sh -c 'while true; do echo watching; sleep 1; done'"
depends_on = ["web"]
"""


CALC = "def add(a, b):\n    return a + b\n"
SCRIPT = {"turns": [  # what the scripted model answers, turn by turn
    {"text": "I'll look at calc.py first.",
     "tool_calls": [{"name": "read_file", "arguments": {"path": "calc.py"}}],
     "usage": {"input_tokens": 412, "output_tokens": 38}},
    {"text": "Adding sub() next to add(), then a test.",
     "tool_calls": [{"name": "edit_file", "arguments": {
         "path": "calc.py", "old_text": "    return a + b\n",
         "new_text": "    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"}},
         {"name": "write_file", "arguments": {"path": "test_calc.py", "content": (
             "from calc import add, sub\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
             "\n\ndef test_sub():\n    assert sub(5, 3) == 2\n")}}],
     "usage": {"input_tokens": 690, "output_tokens": 141}},
    {"tool_calls": [{"name": "run_command", "arguments": {"command": "python -m pytest -q"}}],
     "usage": {"input_tokens": 880, "output_tokens": 22}},
    {"text": "Added sub() with tests; the test suite passes.",
     "usage": {"input_tokens": 990, "output_tokens": 17}}]}


def configure_model(root: Path) -> None:
    """A real model when a key is set; otherwise the scripted model (and say so)."""
    if os.environ.get("OVERMIND_MODEL"):
        print(f"agent model: {os.environ['OVERMIND_MODEL']}")
    elif os.environ.get("OPENAI_API_KEY") or os.environ.get("GEMINI_API_KEY"):
        print("agent model: a real model (an API key is set)")
    else:
        script = root / ".demo-script.json"
        script.write_text(json.dumps(SCRIPT))
        os.environ["OVERMIND_MODEL"] = f"scripted:{script}"
        print("agent model: scripted model (no API key set; the answers are pre-written)")


def overmind(*args: str, check: bool = False) -> int:
    """Run one CLI command, echoing it like a terminal transcript."""
    print(f"\n$ overmind {' '.join(args)}", flush=True)
    done = subprocess.run([str(BIN / "overmind"), *args], check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"demo step failed: overmind {' '.join(args)}")
    return done.returncode


def main() -> int:
    """Run the demo in a temporary repository; always shut the daemon down."""
    root = Path(tempfile.mkdtemp(prefix="overmind-demo-"))
    os.chdir(root)
    subprocess.run(["git", "init", "-q"], check=True)
    (root / "site.toml").write_text(textwrap.dedent(BLUEPRINT))
    (root / "calc.py").write_text(CALC)
    subprocess.run(["git", "add", "calc.py"], check=True)
    subprocess.run(["git", "-c", "user.name=demo", "-c", "user.email=demo@example.com",
                    "commit", "-qm", "calc"], check=True)
    configure_model(root)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(root / ".runtime")
    try:
        overmind("start", check=True)
        overmind("apply", "site.toml", check=True)
        overmind("run", "--name", "flaky", "--restart", "on-failure", "--max-restarts", "2",
                 "--backoff", "200", "--", "sh", "-c", "echo trying; exit 3", check=True)
        overmind("run", "--name", "stuck", "--activity-timeout", "1", "--", "sh", "-c",
                 "echo started; sleep 600", check=True)
        overmind("wait", "flaky")
        overmind("wait", "stuck", "--timeout", "10")
        time.sleep(1.5)
        overmind("ps", "--tree", "--all")
        overmind("logs", "flaky")
        overmind("logs", "site")
        overmind("info", "web")
        overmind("kill", "--cascade", "site")
        overmind("ps", "--all", "--tree")
        overmind("agents")
        overmind("run", "--type", "agent", "--name", "coder", "--",
                 "Add a sub(a, b) function to calc.py, with tests", check=True)
        overmind("wait", "coder", "--timeout", "120")
        overmind("logs", "coder")
        print("\n$ git status --short calc.py test_calc.py", flush=True)
        subprocess.run(["git", "status", "--short", "calc.py", "test_calc.py"], check=False)
        overmind("shutdown", check=True)
    finally:
        subprocess.run([str(BIN / "overmind"), "shutdown"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
    print("\nDemo finished: every mission was stopped and the daemon has exited.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
