"""A hub configured for the server (a URL, a user and a token in its environment) is the
target ``hub`` at start; its token stays in the engine: no mission or kernel gets it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jupyter_process import JupyterProcess, wait_until

from overmind_jupyter.config import HUB_TOKEN_ENV, HUB_URL_ENV, HUB_USER_ENV
from overmind_jupyter.testing.repos import make_repo

pytestmark = pytest.mark.timeout(120)
TOKEN = "hub-token-of-the-host-0123456789"


def test_a_configured_hub_is_a_target_and_its_token_stays_in_the_engine(tmp_path: Path):
    repo = make_repo(tmp_path / "repo", {"README.md": "# r\n"})
    server = JupyterProcess(repo, tmp_path / "home", env={
        HUB_URL_ENV: "http://127.0.0.1:9/", HUB_USER_ENV: "carol", HUB_TOKEN_ENV: TOKEN}
    ).start()
    try:
        targets = {t["name"]: t for t in server.api("GET", "targets")["targets"]}
        assert targets["hub"]["url"] == "http://127.0.0.1:9/"
        assert (targets["hub"]["user"], targets["hub"]["capacity"]) == ("carol", 2)
        doctor = server.api("POST", "targets/hub/doctor", {})
        assert doctor["checks"][0]["detail"].startswith("the hub at http://127.0.0.1:9/ did")
        started = server.api("POST", "missions", {"command": [
            "sh", "-c", f"echo token=${{{HUB_TOKEN_ENV}:-unset}}"]}, expect=201)
        wait_until(lambda: server.api("GET", f"missions/{started['id']}")["status"]
                   == "exited", 20, "the mission to end")
        assert server.api("GET", f"missions/{started['id']}/logs").strip() == \
            "token=unset"
        assert TOKEN not in json.dumps(server.api("GET", "status"))
        assert TOKEN not in json.dumps(server.api("GET", "targets"))
    finally:
        assert server.reap() == []
