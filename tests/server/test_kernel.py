"""A real kernel started through the server's ``/api/sessions`` uses the server's engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking import BlockingKernelClient
from jupyter_process import JupyterProcess, alive

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[JupyterProcess]:
    root = tmp_path / "root"
    root.mkdir()
    # a provider key in the server's environment must reach agent missions only
    proc = JupyterProcess(root, tmp_path / "home",
                          env={"OPENAI_API_KEY": "sk-not-for-kernels"}).start()
    yield proc
    assert proc.reap() == [], "processes survived the server"


class Kernel:
    """A blocking client of one kernel; ``run`` returns everything a cell showed."""

    def __init__(self, connection_file: Path) -> None:
        self.client = BlockingKernelClient(connection_file=str(connection_file))
        self.client.load_connection_file()
        # the default 1 s heartbeat deadline declares a busy machine's kernel dead
        self.client.hb_channel.time_to_dead = 10.0
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 60) -> str:
        shown: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                shown.append(content["text"])
            elif kind in ("display_data", "execute_result", "update_display_data"):
                shown.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                shown.append(f"{content['ename']}: {content['evalue']}")

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=hook)
        text = "".join(shown)
        assert reply["content"]["status"] == "ok", text
        return text

    def close(self) -> None:
        self.client.stop_channels()


def test_a_notebook_kernel_reaches_the_servers_engine(server: JupyterProcess):
    session = server.jupyter("POST", "api/sessions", {
        "path": "work.ipynb", "name": "work.ipynb", "type": "notebook",
        "kernel": {"name": "python3"}})
    kernel_id = session["kernel"]["id"]
    connection = Path(server.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json"
    kernel = Kernel(connection)
    try:
        env = kernel.run("import os; print(os.environ['OVERMIND_URL'], os.getcwd())")
        assert env.split() == [server.url, str(server.root)]
        keys = kernel.run("import os; print(os.environ.get('OPENAI_API_KEY', 'absent'))")
        assert keys.strip() == "absent"  # the server kept the key from the kernel

        kernel.run("%load_ext overmind")
        status = kernel.run("%overmind status")
        assert "mode: server" in status and f"engine pid {server.pid}" in status
        assert "embedded" not in status

        started = kernel.run("%overmind run --name k -- sleep 30")
        assert "started k" in started
        listing = kernel.run("%overmind ps")
        assert "k" in listing.split() and "running" in listing

        mission = server.missions()["k"]
        assert mission["status"] == "running" and alive(server.track(mission["pid"]))
        assert mission["cwd"] == str(server.root)

        with pytest.raises(AssertionError, match="no mission named q"):
            kernel.run("%overmind logs q")  # a UsageError in the cell, shown without noise

        stopped = server.api("POST", "missions/k/stop", {"force": True})
        assert stopped["status"] == "killed" and not alive(mission["pid"])
        assert "no missions" in kernel.run("%overmind ps")
    finally:
        kernel.close()
    server.jupyter("DELETE", f"api/sessions/{session['id']}")
