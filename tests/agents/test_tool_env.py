"""Tool commands run without secrets in their environment (security.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overmind_jupyter.workspace.tool_env import scrubbed_env

pytestmark = pytest.mark.timeout(60)

SECRETS = ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "GEMINI_API_KEY",
           "GOOGLE_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OVERMIND_TOKEN",
           "JPY_API_TOKEN", "JUPYTERHUB_API_TOKEN", "JUPYTER_TOKEN", "GITHUB_TOKEN",
           "GH_TOKEN", "HF_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
           "AWS_SESSION_TOKEN", "AWS_PROFILE", "AZURE_CLIENT_SECRET", "MY_SERVICE_SECRET",
           "DB_PASSWORD", "PGPASSWORD", "MYSQL_PWD", "STRIPE_KEY", "SOME_API_KEY_FILE",
           "GOOGLE_APPLICATION_CREDENTIALS", "SSH_AUTH_SOCK", "NPM_CONFIG__AUTH",
           "GITHUB_PAT", "my_lowercase_token", "CLAUDE_CODE_OAUTH_TOKEN"]
KEPT = ["PATH", "HOME", "LANG", "LC_ALL", "TERM", "USER", "SHELL", "PWD", "OLDPWD",
        "VIRTUAL_ENV", "PYTHONPATH", "TMPDIR", "GIT_AUTHOR_NAME", "TOKENIZERS_PARALLELISM",
        "OVERMIND_URL", "OVERMIND_MISSION_ID", "XDG_CONFIG_HOME", "KEYBOARD_LAYOUT"]


def test_scrubbed_env_removes_secrets_and_keeps_the_basics() -> None:
    env = {name: "value" for name in SECRETS + KEPT}
    env["DATABASE_URL"] = "postgres://app:hunter2@db.example/app"
    env["PIP_INDEX_URL"] = "https://pypi.org/simple"
    scrubbed = scrubbed_env(env)
    assert sorted(scrubbed) == sorted([*KEPT, "PIP_INDEX_URL"])
    assert scrubbed["PATH"] == "value"
    assert env["OPENAI_API_KEY"] == "value"  # the input is not modified


@given(name=st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True),
       kind=st.sampled_from(["_API_KEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_PASSWORD"]))
def test_scrubbed_env_removes_any_name_with_a_secret_suffix(name: str, kind: str) -> None:
    assert scrubbed_env({name + kind: "x", "PATH": "/bin"}) == {"PATH": "/bin"}
