"""Run ``llama-server`` for an installed local model, on 127.0.0.1.

``LocalServer(installed).start()`` spawns the server in its own process group, waits for
``GET /health`` to answer 200 (the model is loaded), and exposes ``endpoint``
(``http://127.0.0.1:PORT/v1``) and ``model_id`` (``openai:ALIAS@ENDPOINT``, the grammar of
``llm.registry``). ``stop()`` sends SIGTERM to the group, waits, then SIGKILL.

Flags (measured in notes/local-llm.md): ``-np SLOTS`` parallel slots (continuous
batching) sharing ``-c 8192·SLOTS`` tokens of context, ``-t nproc`` threads, ``--jinja`` with
the fenced-tools chat template (with the model's own template Qwen writes tool calls as
text and the server returns no ``tool_calls``), no web UI. Two findings on these machines:

- ``OMP_WAIT_POLICY=PASSIVE``: llama.cpp's OpenMP threads spin between steps by default;
  with anything else busy on the 2 cores (the engine, agents, tests) generation fell from
  ~3 to 0.4 tokens/s. Passive waiting keeps ~3 tokens/s at a load average of 6.
- ``--no-repack`` where the CPU reports AMX (``amx_tile``): the AMX weight buffers crash
  with SIGSEGV at the first ``ldtilecfg`` in this VM although ``/proc/cpuinfo`` lists the
  flags; without repacking the AMX path is never taken.
- ``-n MAX_PREDICT`` tokens per answer: llama-server's default is unbounded, and the 1.5B
  model once generated 5,500+ tokens of one answer (20 minutes at ~5 tokens/s, until the
  slot's context would be full) while the objective waited.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .install import Installed, LocalModelError, cpu_flags

CONTEXT_PER_SLOT = 8192  # tokens
MAX_PREDICT = 2048  # tokens one answer may generate (a whole small file fits)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """A ``llama-server`` child process serving ``installed``.

    Args:
        installed: the model, binary and template (``install.setup``).
        port: TCP port (0: a free one).
        slots: parallel request slots (each gets ``CONTEXT_PER_SLOT`` tokens of context).
        log: where the server's output goes (default: next to the model, ``serve-PORT.log``).
    """

    def __init__(self, installed: Installed, port: int = 0, slots: int = 2,
                 log: Path | None = None) -> None:
        self.installed, self.slots = installed, slots
        self.port = port or free_port()
        self.log = log or installed.model.parent.parent / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The OpenAI-compatible base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model_id(self) -> str:
        """``openai:ALIAS@ENDPOINT``: what ``OVERMIND_MODEL`` takes."""
        return f"openai:{self.installed.spec.alias}@{self.endpoint}"

    def argv(self) -> list[str]:
        """The server's command line."""
        i = self.installed
        no_amx = ["--no-repack"] if "amx_tile" in cpu_flags() else []
        return [str(i.server), "-m", str(i.model), "-a", i.spec.alias, "--host", "127.0.0.1",
                "--port", str(self.port), "-c", str(CONTEXT_PER_SLOT * self.slots),
                "-np", str(self.slots), "-t", str(os.cpu_count() or 2), "--jinja",
                "-n", str(MAX_PREDICT), "--no-webui", "--chat-template-file", str(i.template),
                *no_amx]

    def start(self, timeout_s: float = 120.0) -> LocalServer:
        """Spawn the server and wait until it has loaded the model.

        Raises:
            LocalModelError: it exited, or did not answer ``/health`` within ``timeout_s``
                (the message quotes the end of its log).
        """
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(self.argv(), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail(f"llama-server exited with status {self.process.returncode}")
            if self.healthy():
                return self
            time.sleep(0.25)  # a child process's readiness: there is no event to wait on
        self.stop()
        self._fail(f"llama-server did not load the model within {timeout_s:g} s")
        raise AssertionError("unreachable")

    def healthy(self) -> bool:
        """True when ``GET /health`` answers 200 (the model is loaded)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM to the server's process group, ``grace_s`` s, then SIGKILL."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def _fail(self, what: str) -> None:
        tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
        raise LocalModelError(f"{what}; the end of {self.log}: {' / '.join(tail)}")

    def __enter__(self) -> LocalServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["CONTEXT_PER_SLOT", "LocalServer", "free_port"]
