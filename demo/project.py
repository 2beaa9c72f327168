"""The demo's real project: a pinned PyPI source distribution made into a git repository.

``prepare(dest)`` fetches ``tabulate 0.9.0`` (the table-printing library) with
``pip download --no-deps --no-binary :all:`` into a cache directory (once; then offline),
checks the archive's SHA-256 against the pin, unpacks it into ``dest`` and commits it as
the first commit of branch ``main``. tabulate was chosen because it is pure Python with a
flat layout (its tests import it from the checkout), ships its test suite in the sdist
(``test/``, 269 tests in a few seconds, no extra dependencies) and has an obvious place
for a small feature: a new table format.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from overmind_jupyter.errors import OvermindError

CACHE_ENV = "OVERMIND_DEMO_CACHE"  # overrides the cache directory
PIP_TIMEOUT_S = 300.0
# a fixed identity and date make the import commit (and so every run's history) identical
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Overmind demo", "GIT_AUTHOR_EMAIL": "demo@overmind.invalid",
                "GIT_COMMITTER_NAME": "Overmind demo",
                "GIT_COMMITTER_EMAIL": "demo@overmind.invalid",
                "GIT_AUTHOR_DATE": "2022-10-06T12:00:00Z",
                "GIT_COMMITTER_DATE": "2022-10-06T12:00:00Z"}


class DemoError(OvermindError):
    """The demo could not prepare its project (download, checksum, unpacking, git)."""

    reason = "demo"


@dataclasses.dataclass(frozen=True, slots=True)
class Pin:
    """A source distribution pinned by name, version and SHA-256 (as listed on PyPI)."""

    name: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        """``name==version``, what pip is asked for."""
        return f"{self.name}=={self.version}"

    @property
    def archive(self) -> str:
        """The sdist's file name, ``name-version.tar.gz``."""
        return f"{self.name}-{self.version}.tar.gz"


TABULATE = Pin("tabulate", "0.9.0",
               "0095b12bf5966de529c0feb1fa08671671b3368eec77d7ef7ab114be2c068b3c")


def cache_dir() -> Path:
    """``$OVERMIND_DEMO_CACHE``, else ``$XDG_CACHE_HOME/overmind-demo`` (``~/.cache``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "overmind-demo"


def fetch(pin: Pin = TABULATE, cache: Path | None = None) -> Path:
    """The pinned sdist from the cache, downloading it with pip the first time.

    Returns the archive's path (``<cache>/<name>-<version>.tar.gz``).

    Raises:
        DemoError: pip failed (no network and nothing cached), or the checksum differs.
    """
    cache = cache or cache_dir()
    path = cache / pin.archive
    if not path.is_file():
        _download(pin, cache)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != pin.sha256:
        raise DemoError(f"{path} has SHA-256 {digest}, not the pinned {pin.sha256}; "
                        "delete it and run the demo again to fetch it anew")
    return path


def _download(pin: Pin, cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:  # a cut download never lands
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", "--dest", tmp, pin.requirement],
            capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        found = Path(tmp) / pin.archive
        if done.returncode != 0 or not found.is_file():
            raise DemoError(f"pip could not download {pin.requirement} as a source "
                            f"distribution (is PyPI reachable?):\n{done.stderr[-2000:]}")
        os.replace(found, cache / pin.archive)


def unpack(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` into ``dest`` without its top-level directory.

    Raises:
        DemoError: ``dest`` exists, or the archive holds unsafe members (links out of it,
            absolute paths: refused by tarfile's ``data`` filter).
    """
    if dest.exists():
        raise DemoError(f"{dest} exists already; remove it or choose another directory")
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp, tarfile.open(archive) as tar:
        try:
            tar.extractall(tmp, filter="data")
        except tarfile.TarError as exc:
            raise DemoError(f"cannot unpack {archive}: {exc}") from exc
        (top,) = Path(tmp).iterdir()  # an sdist has exactly one top-level directory
        shutil.move(top, dest)
    return dest


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with the demo's identity; return its stdout.

    Raises:
        DemoError: git failed (its stderr is in the message).
    """
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY})
    if done.returncode != 0:
        raise DemoError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def make_repo(src: Path, pin: Pin = TABULATE) -> str:
    """Make ``src`` a git repository whose branch ``main`` has one commit holding
    everything in it; return that commit's id."""
    git(src, "init", "--quiet", "--initial-branch=main")
    git(src, "add", "--all")
    git(src, "commit", "--quiet", "--no-verify", "-m",
        f"{pin.name} {pin.version} from its PyPI source distribution")
    return git(src, "rev-parse", "HEAD").strip()


def prepare(dest: Path, pin: Pin = TABULATE) -> Path:
    """``dest`` as a git repository of the pinned project (kept as it is if it already is
    one, so a notebook and the demo script can share it); return ``dest``.

    Raises:
        DemoError: see ``fetch``, ``unpack`` and ``git``.
    """
    dest = Path(dest).resolve()
    if (dest / ".git").is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    unpack(fetch(pin), dest)
    make_repo(dest, pin)
    return dest
