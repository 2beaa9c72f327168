"""The OS sandbox of agent missions and of the verification command (bubblewrap).

A sandboxed process sees a new root built from bind mounts (``bwrap``, Debian package
``bubblewrap``; flags as documented in bwrap(1)):

- its workspace (the mission's worktree) writable, and nothing else of the host's files
  writable but what git needs to commit there (``git_paths``);
- the system (``/usr``, ``/etc``, ``/opt``), the Python installation, the host checkout
  (``root``) and configured toolchain paths read-only;
- a private, empty home (tmpfs) with only ``~/.gitconfig``, ``~/.config/git``,
  ``~/.cache`` and the ``PATH`` directories under home visible read-only; a private
  ``/tmp``; Overmind's state dir (``<root>/.overmind``: database, logs, other worktrees)
  and Jupyter's runtime and config directories (tokens, connection files, other
  servers' files) hidden behind empty tmpfs mounts;
- its own PID namespace and ``/proc``: no other process (nor its command line or
  environment) is visible; every capability dropped, in a user namespace.

The network stays shared (agents call model APIs). Where ``bwrap`` cannot run (no user
namespaces, not installed), ``Sandbox.probe`` says why once and ``Sandbox.confine`` refuses
unless the administrator allowed unsandboxed agents (``allow_unsandboxed``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import (
    ALLOW_UNSANDBOXED_ENV,
    HUB_TOKEN_ENV,
    SANDBOX_READ_ENV,
    SANDBOX_WRITE_ENV,
    TOKEN_ENV,
    Settings,
)
from ..errors import OvermindError

PROBE_TIMEOUT_S = 10.0
ALLOW_ENV = ALLOW_UNSANDBOXED_ENV  # 1/true/yes: agents may run without a sandbox
READ_ENV = SANDBOX_READ_ENV  # extra read-only paths, os.pathsep-separated
WRITE_ENV = SANDBOX_WRITE_ENV  # extra read-write paths (a shared build cache …)
SETTING = f"c.Overmind.allow_unsandboxed_agents = True (or {ALLOW_ENV}=1)"
# credentials of the Jupyter server and of Overmind's API: never in a sandboxed process
SERVER_SECRETS = (TOKEN_ENV, HUB_TOKEN_ENV, "JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE",
                  "JPY_API_TOKEN", "JUPYTERHUB_API_TOKEN", "JPY_COOKIE_SECRET",
                  "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR")
_SYSTEM_RO = ("/usr", "/etc", "/opt", "/run/systemd/resolve")
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_GIT_CONFIG_RO = ("config", "hooks", "info", "worktrees")  # in a main checkout's .git


class SandboxRefused(OvermindError):
    """The sandbox cannot run here and unsandboxed agents are not allowed."""

    reason = "sandbox-unavailable"
    http_status = 503


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """What one sandboxed process may see (absolute paths).

    ``cwd`` is where it starts; ``writable`` are bound read-write, ``readable`` read-only,
    ``hidden`` are covered by an empty tmpfs (where they exist inside what is bound);
    ``home`` becomes an empty private tmpfs (None: the home stays unbound, i.e. absent);
    ``binds`` put a private copy where an original was (the agents' configuration).
    """

    cwd: Path
    writable: tuple[Path, ...]
    readable: tuple[Path, ...]
    hidden: tuple[Path, ...] = ()
    home: Path | None = None
    binds: tuple[tuple[Path, Path], ...] = ()  # (source, where it appears), read-write


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    """The probe's verdict: ``available``; ``reason`` says why not (or bwrap's version);
    ``unsandboxed_allowed`` is the administrator's setting."""

    available: bool
    reason: str
    unsandboxed_allowed: bool

    def describe(self) -> str:
        """One human line for ``status`` and the server log."""
        if self.available:
            return f"agents run in an OS sandbox ({self.reason})"
        then = ("agents run UNSANDBOXED (allowed by the administrator)"
                if self.unsandboxed_allowed else
                f"agents are refused; to run them without a sandbox set {SETTING}")
        return f"no OS sandbox: {self.reason}; {then}"

    def to_dict(self) -> dict[str, object]:
        """JSON form (``status``): ``{available, reason, unsandboxed_allowed, summary}``."""
        return {"available": self.available, "reason": self.reason,
                "unsandboxed_allowed": self.unsandboxed_allowed, "summary": self.describe()}


@dataclass(slots=True)
class Sandbox:
    """Runs commands under bubblewrap (see the module docstring).

    Args:
        allow_unsandboxed: when bwrap cannot run, run agents without it (else refuse).
        read_paths: extra paths visible read-only (toolchains outside the defaults).
        bwrap: the bwrap executable (name on PATH or path).
        write_paths: extra paths every sandboxed process may write (the administrator's
            choice, e.g. a shared build cache; none by default).
    """

    allow_unsandboxed: bool = False
    read_paths: tuple[Path, ...] = ()
    bwrap: str = "bwrap"
    write_paths: tuple[Path, ...] = ()
    _status: SandboxStatus | None = field(default=None, repr=False)

    @classmethod
    def of(cls, settings: Settings) -> Sandbox:
        """The sandbox ``settings`` describe (``allow_unsandboxed``, ``sandbox_read``,
        ``sandbox_write``; see ``config.Settings.from_env`` for the environment's say)."""
        return cls(settings.allow_unsandboxed, settings.sandbox_read,
                   write_paths=settings.sandbox_write)

    def probe(self) -> SandboxStatus:
        """Run a trivial command under the same isolation once; cache and return the verdict."""
        if self._status is None:
            self._status = SandboxStatus(*_probe(self.bwrap), self.allow_unsandboxed)
        return self._status

    @property
    def status(self) -> SandboxStatus:
        """The cached verdict (probing first if needed)."""
        return self.probe()

    def check(self, what: str = "agents") -> bool:
        """True when ``what`` will run sandboxed; False when it will run unsandboxed
        because the administrator allowed that.

        Raises:
            SandboxRefused: bwrap cannot run and unsandboxed agents are not allowed.
        """
        status = self.probe()
        if status.available or status.unsandboxed_allowed:
            return status.available
        raise SandboxRefused(f"refusing to run {what} without an OS sandbox: "
                             f"{status.reason}. Install bubblewrap with user namespaces "
                             f"enabled, or set {SETTING}")

    def spec(self, workspace: Path, root: Path, env: Mapping[str, str],
             writable: Sequence[Path] = (), agent_home: Path | None = None) -> SandboxSpec:
        """The view of a process working in ``workspace`` of the checkout ``root``.

        ``env`` is the process's environment: its ``PATH`` directories under home and the
        files of ``scripted:PATH`` model ids in it become readable. ``agent_home``: where
        this agent's private copy of the agent CLIs' configuration goes (None: hidden).
        """
        workspace, root = Path(workspace).resolve(), Path(root).resolve()
        home = Path(env.get("HOME") or Path.home())
        git_ro, git_rw = git_paths(workspace)
        # a mission given its own HOME still runs programs installed under the server's
        homes = {home, Path.home()}
        readable = [*_system_paths(), *_python_paths(), root, *git_ro, *self.read_paths,
                    *(p for h in sorted(homes) for p in _home_paths(h, env)),
                    *_model_files(env)]
        hidden = [root / ".overmind", *_jupyter_dirs()]
        binds = agent_config_copies(home, agent_home) if agent_home is not None else []
        return SandboxSpec(workspace, (workspace, *git_rw, *map(Path, writable),
                                       *self.write_paths),
                           tuple(readable), tuple(hidden), home, tuple(binds))

    def confine(self, argv: list[str], workspace: Path, root: Path, env: Mapping[str, str],
                writable: Sequence[Path] = (), agent_home: Path | None = None
                ) -> tuple[list[str], dict[str, str]]:
        """``(argv, env)`` that run ``argv`` sandboxed in ``workspace``.

        The environment loses the server's credentials (``SERVER_SECRETS``); ``TMPDIR``
        becomes the private ``/tmp``. Where bwrap cannot run and the administrator allows
        it, ``argv`` comes back unwrapped.

        Raises:
            SandboxRefused: bwrap cannot run and unsandboxed agents are not allowed.
        """
        clean = {k: v for k, v in env.items() if k not in SERVER_SECRETS}
        if not self.check(Path(argv[0]).name):
            return list(argv), clean
        spec = self.spec(workspace, root, clean, writable, agent_home)
        return bwrap_argv(spec, argv, self.bwrap), {**clean, "TMPDIR": "/tmp"}


def bwrap_argv(spec: SandboxSpec, argv: Sequence[str], bwrap: str = "bwrap") -> list[str]:
    """The bwrap command line running ``argv`` inside ``spec``.

    Mounts are ordered parents first (a path's depth, then read-only < private home <
    read-write < hidden at the same path), so a worktree bound writable inside the hidden
    state dir, or a read-only ``.git/config`` inside a writable ``.git``, lands on top, and
    the home stays private even when the checkout is the home itself.
    """
    out = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--cap-drop", "ALL", "--dev", "/dev", "--proc", "/proc",
           "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
    for link in _SYSTEM_LINKS:
        if os.path.islink(link):
            out += ["--symlink", os.readlink(link), link]
    mounts: list[tuple[int, int, str, str]] = []
    bound = [*spec.readable, *spec.writable]
    if spec.home is not None:
        mounts.append((len(spec.home.parts), 1, "--tmpfs", str(spec.home)))
    for path in _unique(spec.readable):
        mounts.append((len(path.parts), 0, "--ro-bind-try", str(path)))
    for path in _unique(spec.writable):
        mounts.append((len(path.parts), 2, "--bind", str(path)))
    binds = {str(where): str(source) for source, where in spec.binds}
    for where in binds:
        mounts.append((len(Path(where).parts), 2, "--bind", where))
    for path in _unique(spec.hidden):
        if path.is_dir() and any(path.is_relative_to(b) for b in bound):
            mounts.append((len(path.parts), 3, "--tmpfs", str(path)))
    for _, _, flag, path in sorted(mounts, key=lambda m: (m[0], m[1], m[3])):
        out += [flag, path] if flag == "--tmpfs" else [flag, binds.get(path, path), path]
    return [*out, "--chdir", str(spec.cwd), "--", *argv]


def git_paths(workspace: Path) -> tuple[list[Path], list[Path]]:
    """(read-only, writable) paths git needs to commit in ``workspace``.

    A linked worktree's ``.git`` file names its admin dir (``<common>/worktrees/<name>``:
    HEAD, index, its reflog), writable; the common dir stays read-only (config, hooks,
    other worktrees' admin dirs) except ``objects/`` and the directory of the checked-out
    branch's ref and reflog. A main checkout's ``.git`` is writable except its config,
    hooks, ``info/`` and ``worktrees/``. No repository: nothing.
    """
    top = next((d for d in (workspace, *workspace.parents) if (d / ".git").exists()), None)
    if top is None:
        return [], []
    admin = _admin_dir(top / ".git")
    if admin is None:
        return [], []
    common = admin
    if (admin / "commondir").is_file():
        common = (admin / (admin / "commondir").read_text().strip()).resolve()
    if admin == common:
        return [common / name for name in _GIT_CONFIG_RO], [common]
    writable = [admin, common / "objects"]
    ref = _head_ref(admin)
    if ref is not None:
        for base in (common, common / "logs"):
            folder = (base / ref).parent
            folder.mkdir(parents=True, exist_ok=True)  # git's own layout; empty if new
            writable.append(folder)
    return [common], writable


def _admin_dir(dotgit: Path) -> Path | None:
    if dotgit.is_dir():
        return dotgit.resolve()
    try:
        text = dotgit.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    return (dotgit.parent / text.removeprefix("gitdir:").strip()).resolve()


def _head_ref(admin: Path) -> str | None:
    """``refs/heads/<branch>`` of a symbolic HEAD, else None (detached or unreadable)."""
    try:
        head = (admin / "HEAD").read_text().strip()
    except OSError:
        return None
    ref = head.removeprefix("ref:").strip() if head.startswith("ref:") else None
    return ref if ref and ref.startswith("refs/heads/") and ".." not in ref else None


def _system_paths() -> list[Path]:
    return [Path(p) for p in _SYSTEM_RO if os.path.exists(p)] + \
        [Path(p) for p in _SYSTEM_LINKS if os.path.isdir(p) and not os.path.islink(p)]


def _python_paths() -> list[Path]:
    """This interpreter's installation and venv, and Overmind's package directory (an
    editable install lives in a source checkout: only the package is needed)."""
    package = Path(__file__).resolve().parents[1]
    return [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}] + \
        [package]


# the agent CLIs' own configuration (model provider, login, state): each agent mission
# gets a private copy (Codex keeps a SQLite state there; the originals are never written)
AGENT_CONFIG = (".codex", ".claude", ".claude.json", ".gemini", ".config/goose")
AGENT_CONFIG_SKIP = ("sessions", "log", "logs", "history.jsonl", "projects", "todos",
                     "shell-snapshots", "tmp", "cache", "*.sqlite*")


def agent_config_copies(home: Path, into: Path) -> list[tuple[Path, Path]]:
    """Copy the agent CLIs' configuration under ``home`` into ``into`` (files already
    there are kept: an agent's own state survives its restarts); returns the
    ``(copy, original location)`` pairs to bind."""
    binds = []
    for name in AGENT_CONFIG:
        source, copy = home / name, into / name
        if source.is_dir():
            shutil.copytree(source, copy, dirs_exist_ok=True, symlinks=True,
                            ignore=shutil.ignore_patterns(*AGENT_CONFIG_SKIP),
                            copy_function=_copy_new)
        elif source.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            _copy_new(source, copy)
        else:
            continue
        binds.append((copy, source))
    return binds


def _copy_new(source: str | Path, target: str | Path) -> None:
    if not os.path.lexists(target):
        shutil.copy2(source, target)


def _home_paths(home: Path, env: Mapping[str, str]) -> list[Path]:
    """Read-only in the private home: git's config, caches and toolchain PATH entries.

    A ``PATH`` entry ``<prefix>/bin`` under home brings its whole prefix (npm's global
    ``bin/`` links into ``<prefix>/lib/node_modules``); ``~/.local/bin`` brings
    ``~/.local/lib`` (pip's user site) but not the rest of ``~/.local``.
    """
    found = [home / ".gitconfig", home / ".config" / "git", home / ".cache"]
    local = home / ".local"
    for entry in env.get("PATH", "").split(os.pathsep):
        path = Path(entry)
        if not (entry and path.is_absolute() and path.is_relative_to(home) and path != home):
            continue
        found.append(path)
        if path.name == "bin" and path.parent == local:
            found.append(local / "lib")
        elif path.name == "bin" and path.parent not in (home, local):
            found.append(path.parent)
    return found


def _model_files(env: Mapping[str, str]) -> list[Path]:
    """Scripts of ``scripted:PATH`` models named in the environment (host-given files)."""
    files = []
    for value in env.values():
        for part in value.split(","):
            if part.strip().startswith("scripted:"):
                path = Path(part.strip().removeprefix("scripted:"))
                if path.is_absolute():
                    files.append(path)
    return files


def _jupyter_dirs() -> list[Path]:
    """Jupyter's runtime dir (tokens, connection files, server files) and config dirs."""
    try:
        from jupyter_core.paths import jupyter_config_path, jupyter_runtime_dir
    except ImportError:  # pragma: no cover - jupyter_core is a dependency
        return []
    return [Path(jupyter_runtime_dir()), *map(Path, jupyter_config_path())]


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(Path(os.path.abspath(p)) for p in paths))


def _probe(bwrap: str) -> tuple[bool, str]:
    """(works, bwrap's version or why not) from one trivial sandboxed command."""
    exe = shutil.which(bwrap)
    if exe is None:
        return False, f"{bwrap} not found (install the bubblewrap package)"
    spec = SandboxSpec(Path("/"), (), tuple(_system_paths()))
    try:
        run = subprocess.run(bwrap_argv(spec, ["true"], exe), capture_output=True,
                             timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{bwrap} could not run: {exc}"
    if run.returncode != 0:
        why = run.stderr.decode("utf-8", "replace").strip().splitlines()
        return False, f"{bwrap} failed: {why[-1] if why else f'exit {run.returncode}'}"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    return True, version or "bubblewrap"
