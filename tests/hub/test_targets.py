"""Hub targets against a real JupyterHub (named servers on, SimpleLocalProcessSpawner).

The doctor of a hub target checks, through the Hub API and a probe named server, what
placement needs (``targets.doctor``); every failure is a named finding with what to set,
and the probe server never outlives the doctor. Registration and the doctor also run
through the CLI grammar of an engine (``overmind targets add / doctor``).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from hub_harness import Hub

from overmind_jupyter import commands
from overmind_jupyter.config import HUB_TOKEN_ENV, Settings
from overmind_jupyter.daemon import free_port
from overmind_jupyter.engine import Engine
from overmind_jupyter.supervisor.clock import SystemClock
from overmind_jupyter.targets.doctor import CHECK_NAMES, PROBE_SERVER, Doctor, HubTarget
from overmind_jupyter.targets.hub_api import HubAPI
from overmind_jupyter.testing.repos import make_repo

pytestmark = pytest.mark.timeout(300)
USER = "carol"  # whose named servers the targets use (alice's default server is elsewhere)


def doctor(hub_url: str, environ: dict[str, str]) -> dict[str, tuple[bool, str]]:
    target = HubTarget("hub", hub_url, USER, HUB_TOKEN_ENV)
    checks = asyncio.run(Doctor(target, environ, SystemClock()).run())
    assert [c.name for c in checks] == list(CHECK_NAMES)
    return {c.name: (c.ok, c.detail) for c in checks}


def servers_of(hub: Hub, user: str) -> dict:
    return hub.api("GET", f"users/{user}").json().get("servers", {})


def test_the_doctor_of_a_ready_hub_passes_every_check_and_leaves_no_server(
        named_hub: Hub) -> None:
    found = doctor(named_hub.url, {HUB_TOKEN_ENV: named_hub.token(USER)})
    failed = {name: detail for name, (ok, detail) in found.items() if not ok}
    assert failed == {}, f"{failed}\nhub log:\n{named_hub.log()[-3000:]}"
    assert found["hub"][1].startswith("JupyterHub ")
    assert found["token"][1] == f"hub user {USER}"
    assert "ready in" in found["server"][1]
    assert "builtin" in found["agents"][1]
    assert PROBE_SERVER not in servers_of(named_hub, USER)  # removed, not only stopped


def test_the_doctor_names_a_missing_token_a_foreign_one_and_missing_scopes(
        named_hub: Hub) -> None:
    unset = doctor(named_hub.url, {})
    assert unset["hub"][0] and not unset["token"][0]
    assert f"{HUB_TOKEN_ENV} is not set" in unset["token"][1]
    assert unset["named-servers"] == (False, "not checked: an earlier check failed")  # skipped
    service = doctor(named_hub.url, {HUB_TOKEN_ENV: named_hub.admin_token})
    assert not service["token"][0]
    assert f"service tester's, not {USER}'s" in service["token"][1]
    weak = doctor(named_hub.url, {HUB_TOKEN_ENV: named_hub.token(
        USER, [f"read:users:name!user={USER}"])})
    assert weak["token"] == (True, f"hub user {USER}")
    ok, detail = weak["scopes"]
    assert not ok and "servers, read:servers, access:servers" in detail
    assert f"servers!user={USER}" in detail  # what to grant, for this user
    assert servers_of(named_hub, USER) == {}  # nothing was started with a weak token


def test_a_hub_that_is_down_is_a_clear_failure_of_the_first_check() -> None:
    found = doctor(f"http://127.0.0.1:{free_port()}/", {HUB_TOKEN_ENV: "x" * 32})
    ok, detail = found["hub"]
    assert not ok and "did not answer" in detail and "x" * 32 not in detail
    assert all(not ok for ok, _ in found.values())


def test_named_servers_switched_off_are_named_with_the_setting(
        tmp_path: Path) -> None:
    plain = Hub(tmp_path / "hub").start()  # named servers off (the hub's default)
    try:
        found = doctor(plain.url, {HUB_TOKEN_ENV: plain.token(USER)})
    finally:
        assert plain.stop() == []
    assert found["scopes"][0]
    ok, detail = found["named-servers"]
    assert not ok and "Named servers are not enabled" in detail
    assert "c.JupyterHub.allow_named_servers = True" in detail


def test_the_named_server_api_starts_and_removes_a_server(named_hub: Hub) -> None:
    async def cycle() -> tuple[str, bool]:
        api = HubAPI(named_hub.url, named_hub.token(USER))
        await api.start_server(USER, "overmind-t1")
        server = await api.wait_ready(USER, "overmind-t1", 90)
        status = await api.call("GET", server.url + "overmind/api/status")
        await api.stop_server(USER, "overmind-t1")
        await api.wait_gone(USER, "overmind-t1", 60)
        return status["mode"], bool(status["git"])
    mode, git = asyncio.run(cycle())
    assert (mode, git) == ("server", True)
    assert servers_of(named_hub, USER) == {}


def test_targets_add_and_doctor_through_the_command_grammar(named_hub: Hub, tmp_path: Path,
                                                            monkeypatch) -> None:
    token = named_hub.token(USER)
    monkeypatch.setenv(HUB_TOKEN_ENV, token)
    repo = make_repo(tmp_path / "repo", {"README.md": "# r\n"})

    async def session() -> list[commands.Result]:
        engine = Engine(repo, Settings(mode="local"))
        await engine.start()
        try:
            return [await commands.execute(engine, commands.parse(argv)) for argv in (
                ["targets", "add", "cluster", "--hub", named_hub.url, "--user", USER,
                 "--capacity", "3"],
                ["targets", "drain", "cluster"],
                ["targets"])]
        finally:
            await engine.close()
    added, drained, listed = asyncio.run(session())
    assert added.status == 0, added.text
    assert all(f"ok    {name}" in added.text for name in CHECK_NAMES), added.text
    assert "cluster (hub): draining, 0/3 tasks" in drained.text
    row = next(line for line in listed.text.splitlines() if line.startswith("cluster"))
    assert row.split()[:4] == ["cluster", "hub", "draining", "0/3"] and row.endswith("ok")
    assert token not in added.text + listed.text
    assert token not in (repo / ".overmind" / "overmind.db").read_bytes().decode(
        errors="replace")
    assert os.environ[HUB_TOKEN_ENV] == token  # read, not consumed
