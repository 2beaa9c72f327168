"""Fixtures of the worktree pool tests: a real host repository and a pool runner.

``host_repo``: a repository (``make_repo``) on ``main`` with a few tracked files.
``pool_run(body, allocator=None, start=True, **config)``: ``asyncio.run(body(pool))`` with a
``WorktreePool`` on ``host_repo`` (``WorkspaceConfig(**config)``), started unless told
otherwise and always closed afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.workspace.worktrees import PortAllocator, WorkspaceConfig, WorktreePool

FILES = {"README.md": "# demo\n", "app/main.py": "print('v1')\n", "app/util.py": "X = 1\n",
         ".gitignore": "*.out\n"}


@pytest.fixture
def host_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "host", FILES)


PoolRun = Callable[..., Any]


@pytest.fixture
def pool_run(host_repo: Path) -> PoolRun:
    def run(body: Callable[[WorktreePool], Awaitable[Any]], allocator: PortAllocator | None = None,
            start: bool = True, **config: Any) -> Any:
        async def main() -> Any:
            pool = WorktreePool(host_repo, WorkspaceConfig(**config), allocator)
            if start:
                await pool.start()
            try:
                return await body(pool)
            finally:
                await pool.close()
        return asyncio.run(main())
    return run
