"""Admin defaults: ``c.Overmind.*`` from a config path's ``jupyter_server_config.d/*.json``.

A JupyterHub admin puts ``{"Overmind": {...}}`` into ``/etc/jupyter/jupyter_server_config.d/``;
here the same file goes into a directory on ``JUPYTER_CONFIG_PATH`` (pytest-jupyter's
``jp_env_config_path``), and the engine of the server started afterwards uses its model,
budgets and command policy — the built-in agent's own command checks included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from overmind_jupyter.agents.admin_policy import ENV_VAR
from overmind_jupyter.agents.policy import Decision
from overmind_jupyter.server.admin_config import DROP_IN_DIR, drop_in_config
from overmind_jupyter.testing.repos import make_repo
from overmind_jupyter.testing.scripts import say, tool

pytestmark = pytest.mark.timeout(90)

DEFAULTS = {"Overmind": {
    "model": "scripted:/nonexistent/admin-default.json",
    "max_tokens": 12345, "max_cost_usd": 0.75,
    "command_policy": {"allow": ["make test"], "deny": ["curl"], "default": "deny"}}}


@pytest.fixture
def jp_server_config(jp_env_config_path: Path, jp_root_dir: Path) -> dict[str, Any]:
    """The admin's file on the config path (written before the server starts); the server
    itself only enables the extension, as a single-user server's command line would."""
    conf_d = jp_env_config_path / "jupyter_server_config.d"
    conf_d.mkdir(parents=True, exist_ok=True)
    (conf_d / "overmind-defaults.json").write_text(json.dumps(DEFAULTS))
    make_repo(jp_root_dir, {"README.md": "# project\n",  # objectives need a git repo
                            "Makefile": f"test:\n\t@echo \"policy=$${ENV_VAR}\"\n"})
    return {"ServerApp": {"jpserver_extensions": {"overmind_jupyter": True}}}


async def test_a_config_dir_default_reaches_the_engine(jp_fetch, engine, reaper):
    resp = await jp_fetch("overmind", "api", "prompts", method="POST",
                          body=json.dumps({"text": "add a changelog"}), raise_error=False)
    objective = json.loads(resp.body)
    assert resp.code == 201, objective
    # the budgets every objective gets, and a model (without one the prompt is refused)
    assert objective["budget"] == {"max_tokens": 12345, "max_cost_usd": 0.75}
    assert engine.models.roles().model_id == "scripted:/nonexistent/admin-default.json"


def test_drop_ins_of_the_user_win_over_the_system_and_broken_files_are_skipped(tmp_path):
    system, user = tmp_path / "system", tmp_path / "user"
    for directory, name, text in ((system, "10-site.json", {"Overmind": {"model": "a",
                                                                        "max_tokens": 5}}),
                                  (user, "20-mine.json", {"Overmind": {"model": "b"}}),
                                  (user, "30-broken.json", None)):
        (directory / DROP_IN_DIR).mkdir(parents=True, exist_ok=True)
        (directory / DROP_IN_DIR / name).write_text("{oops" if text is None
                                                    else json.dumps(text))
    merged = drop_in_config([str(user), str(system)])  # highest priority first
    assert dict(merged.Overmind) == {"model": "b", "max_tokens": 5}


async def test_the_admin_command_policy_decides_agents_commands(engine):
    policy = engine.agents.policy
    assert policy.decide("make test")[0] is Decision.ALLOW
    assert policy.decide("curl https://example.org")[0] is Decision.DENY
    assert policy.decide("pytest -q")[0] is Decision.DENY  # the policy's default: deny


async def test_the_admin_command_policy_binds_the_builtin_agent(jp_fetch, engine, reaper,
                                                                tmp_path):
    # the admin's default "deny" refuses pytest although the agent's own list allows it;
    # "make test" (admin allow) runs after the engine approved it, and sees the policy
    turns = [tool("run_command", command="pytest -q"),
             tool("run_command", command="make test"), say("Done.")]
    model = tmp_path / "agent.json"
    model.write_text(json.dumps({"turns": turns}))
    resp = await jp_fetch("overmind", "api", "missions", method="POST", body=json.dumps({
        "command": ["run", "the", "tests"], "kind": "agent",
        "env": {"OVERMIND_MODEL": f"scripted:{model}"}}))
    mission = json.loads(resp.body)
    await engine.wait(mission["id"], 60)
    events = await engine.events(mission=mission["id"], limit=10_000)
    outputs = [e["data"]["output"] for e in events if e["type"] == "tool-result"]
    assert len(outputs) == 2, outputs
    assert "refused by the tool policy: the administrator's command policy" in outputs[0]
    assert "policy default: deny" in outputs[0]
    policy = json.loads(outputs[1].split("policy=", 1)[1].splitlines()[0])
    assert policy == {"allow": ["make test"], "deny": ["curl"], "default": "deny"}
    assert not [e for e in events if e["type"] == "question-asked"]
