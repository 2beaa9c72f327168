"""The per-repository setup hook of a new workspace: copy untracked files, run a command.

Both come from ``[workspace]`` in ``overmind.toml`` (see ``config.py``). The command runs
through ``verify.run_verification`` (its own process group, killed on timeout; stdin
closed; the environment without secrets, since ``overmind.toml`` is repository content
an agent's merged change may have edited) as ``sh -c COMMAND`` with the workspace's
variables (``$PORT``, ``OVERMIND_PORT_*``, ``OVERMIND_WORKSPACE``, ``OVERMIND_BRANCH``),
inside the engine's OS sandbox (``sandbox.py``): the new worktree writable, nothing else.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import WorkspaceError
from .sandbox import Sandbox
from .verify import run_verification

_PRIVATE = (".git", ".overmind")
TAIL_CHARS = 2000


def copy_untracked(source: Path, dest: Path, patterns: Iterable[str]) -> list[str]:
    """Copy what ``patterns`` (globs relative to ``source``) match from ``source`` to the
    same place under ``dest``; return the copied paths (POSIX, relative), sorted.

    Files keep their mode and times; directories are copied whole (symlinks inside them
    stay symlinks). A path that already exists in ``dest`` (a tracked file, say) is left
    as it is. Blocking: call it in a thread.

    Raises:
        WorkspaceError: a destination would land outside ``dest`` (a symlinked directory
            in the worktree pointing elsewhere).
    """
    copied: set[str] = set()
    for pattern in patterns:
        for src in sorted(source.glob(pattern)):
            rel = src.relative_to(source)
            target = dest / rel
            if rel.parts[0] in _PRIVATE or os.path.lexists(target):
                continue
            _check_inside(dest, target)
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, target, symlinks=True)
            else:
                shutil.copy2(src, target)
            copied.add(rel.as_posix())
    return sorted(copied)


def _check_inside(root: Path, target: Path) -> None:
    existing = target.parent
    while not existing.exists():  # the first ancestor that exists decides where we write
        existing = existing.parent
    if not existing.resolve().is_relative_to(root.resolve()):
        raise WorkspaceError(f"refusing to copy {target.relative_to(root)} into {root}: "
                             f"{existing} leads outside the workspace")


async def run_setup(command: str, cwd: Path, env: Mapping[str, str], timeout_s: float,
                    sandbox: Sandbox | None = None, root: Path | None = None) -> None:
    """Run ``sh -c command`` in ``cwd`` with ``env`` added (see the module docstring);
    under ``sandbox`` (when given) with ``cwd`` writable and ``root`` read-only.

    Raises:
        WorkspaceError: it exited non-zero, could not start or outlived ``timeout_s``
            seconds; the message holds the last lines of its output.
    """
    argv = ["env", *(f"{k}={v}" for k, v in env.items()), "/bin/sh", "-c", command]
    result = await run_verification(argv, cwd, timeout_s, sandbox=sandbox, root=root)
    if result.ok:
        return
    how = (f"exited with status {result.exit_code}" if result.exit_code is not None
           else f"did not finish in {timeout_s:g} s or could not start")
    raise WorkspaceError(f"the workspace setup command {command!r} {how} in {cwd}; fix "
                         f"'setup' under [workspace] in overmind.toml. Last output:\n"
                         f"{result.output_tail[-TAIL_CHARS:]}")
