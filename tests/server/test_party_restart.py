"""A host server killed with SIGKILL and started again on its port: invites stay valid and
guests' links on another server reconnect by themselves (real subprocesses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_process import JupyterProcess, wait_until
from test_party_e2e import guest_join, queue

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[JupyterProcess, JupyterProcess]]:
    started = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            started.append(JupyterProcess(tmp_path / name, tmp_path / f"home-{name}").start())
        yield started[0], started[1]
    finally:
        left = [pid for server in started for pid in server.reap()]
        assert left == [], f"processes survived: {left}"


def test_after_a_host_crash_invites_work_and_joined_links_reconnect(servers):
    a, b = servers
    hosted = a.api("POST", "party", {"name": "ann", "auto_approve": ["bob", "cy"]})
    b.api("POST", "party/join", {"invite": hosted["invite"], "name": "bob"})

    def bob_link() -> dict:
        return next(j for j in b.api("GET", "party")["joined"] if j["name"] == "bob")
    wait_until(lambda: bob_link()["connected"], what="bob's link")
    url = a.url
    a.kill9()
    wait_until(lambda: not bob_link()["connected"], what="bob's link to drop")
    a.start()  # the same port: the address in the invite and in bob's link
    assert a.url == url
    wait_until(lambda: bob_link()["connected"], timeout=60, what="bob's link to reconnect")
    assert bob_link()["ended"] is None
    b.api("POST", "party/prompts", {"text": "still with you", "member": "bob"})
    assert queue(a) == [("bob", "still with you")]
    joined = guest_join(a, hosted["invite"], "cy")  # the invite outlived the crash
    assert joined.status == 201, joined.text
