"""``[workspace]`` in overmind.toml: defaults, values, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from overmind_jupyter.errors import UsageError
from overmind_jupyter.workspace.config import WorkspaceConfig, load_workspace_config
from overmind_jupyter.workspace.worktrees import WorktreePool

pytestmark = pytest.mark.timeout(30)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "overmind.toml").write_text(text)
    return tmp_path


def test_defaults_without_a_file_or_a_table(tmp_path: Path) -> None:
    assert load_workspace_config(tmp_path) == WorkspaceConfig()
    assert load_workspace_config(write(tmp_path, "[other]\nx = 1\n")) == WorkspaceConfig(
        copy=(), setup=None, ports=3, pool_size=2, setup_timeout_s=600)


def test_values_are_read(tmp_path: Path) -> None:
    write(tmp_path, '[workspace]\ncopy = [".env", "conf/*.ini"]\nsetup = "make dev"\n'
                    "ports = 1\npool_size = 0\nsetup_timeout_s = 30\n")
    assert load_workspace_config(tmp_path) == WorkspaceConfig(
        copy=(".env", "conf/*.ini"), setup="make dev", ports=1, pool_size=0,
        setup_timeout_s=30.0)
    assert WorktreePool(tmp_path).config.setup == "make dev"  # the pool's default


@pytest.mark.parametrize(("text", "message"), [
    ("[workspace]\ncopies = ['.env']\n", r"\[workspace\] copies: unknown key"),
    ("[workspace]\nports = '3'\n", r"\[workspace\] ports: .*integer"),
    ("[workspace]\npool_size = -1\n", r"\[workspace\] pool_size: .*greater than or equal"),
    ("[workspace]\ncopy = ['../secrets']\n", r"\[workspace\] copy: .*inside the repository"),
    ("[workspace]\ncopy = ['/etc/passwd']\n", r"copy: .*inside the repository"),
    ("[workspace]\ncopy = ['.git/config']\n", r"copy: .*inside the repository"),
    ("[workspace]\nsetup_timeout_s = 0\n", r"setup_timeout_s: .*greater than 0"),
    ("workspace = 3\n", "must be a table"),
    ("[workspace\n", "cannot read .*overmind.toml"),
])
def test_bad_settings_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_workspace_config(write(tmp_path, text))
