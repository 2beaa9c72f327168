"""`make demo` (until the agent pipeline lands): the process-supervisor side of Overmind.

Creates a throw-away git repository, starts the Overmind daemon there and drives it with
the `overmind` CLI exactly as a user would, printing each command and its output:
a blueprint with dependencies, a crashing mission under a restart policy, a stalled one
caught by the activity timeout, the mission tree, logs, a cascade kill and a shutdown
that leaves no process behind.
"""

from __future__ import annotations

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
        overmind("shutdown", check=True)
    finally:
        subprocess.run([str(BIN / "overmind"), "shutdown"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
    print("\nDemo finished: every mission was stopped and the daemon has exited.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
