"""End to end: guests on a second Jupyter server join a party hosted by a first one.

Server A hosts; server B's engine joins through B's own REST API (``POST party/join``),
as a notebook on B would. A raw guest (this test, speaking HTTP and the party websocket
itself) checks what a hand-written client could try. Both servers are real subprocesses,
shared by the module's tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_process import JupyterProcess, wait_until
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect

from overmind_jupyter.party import wire as party_wire

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterProcess, ...]]:
    base = tmp_path_factory.mktemp("party-e2e")
    started = []
    try:
        for name in ("a", "b"):
            (base / name).mkdir()
            started.append(JupyterProcess(base / name, base / f"home-{name}").start())
        yield tuple(started)
    finally:
        left = [pid for server in started for pid in server.reap()]
        assert left == [], f"processes survived: {left}"


def guest_join(host: JupyterProcess, invite: str, name: str) -> Any:
    """A raw guest's ``POST overmind/party/join`` (no Jupyter or Overmind token)."""
    return host.request("POST", "overmind/party/join", {"name": name},
                        {"X-Overmind-Invite": invite.partition("#")[2]})


def queue(a: JupyterProcess) -> list[tuple[str, str]]:
    return [(p["name"], p["text"]) for p in a.api("GET", "party")["hosting"]["queue"]]


async def ws_exchange(host: JupyterProcess, credential: str, *frames: dict) -> list[dict]:
    """Say hello with ``credential``, send ``frames``; every frame answered or closed."""
    ws = await websocket_connect(HTTPRequest("ws" + host.url[4:] + "overmind/party/ws"))
    await ws.write_message(party_wire.frame("hello", credential=credential))
    with contextlib.suppress(WebSocketClosedError):  # a refused hello closes at once
        for f in frames:
            await ws.write_message(json.dumps(f))
    got: list[dict] = []
    while (message := await asyncio.wait_for(ws.read_message(), 10)) is not None:
        got.append(json.loads(message))
        if sum(1 for g in got if g.get("ref") is not None) == len(frames):
            break
    ws.close()
    return got


def test_two_guests_on_another_server_join_and_their_prompts_reach_the_hosts_queue(servers):
    a, b = servers
    hosted = a.api("POST", "party", {"name": "ann", "auto_approve": ["bob", "vic", "dan"]})
    viewers = a.api("POST", "party/invites", {"role": "viewer"})["invite"]
    alice = b.api("POST", "party/join", {"invite": hosted["invite"], "name": "alice"})
    bob = b.api("POST", "party/join", {"invite": hosted["invite"], "name": "bob"})
    assert (alice["member"]["state"], bob["member"]["state"]) == ("pending", "approved")
    refused = b.api("POST", "party/prompts", {"text": "too early", "member": "alice"},
                    expect=401)
    assert refused["reason"] == "unauthorized"
    a.api("POST", "party/members/alice", {"action": "approve"})
    b.api("POST", "party/prompts", {"text": "add a --verbose flag", "member": "alice"})
    b.api("POST", "party/prompts", {"text": "write the changelog", "member": "bob"})
    assert queue(a) == [("alice", "add a --verbose flag"), ("bob", "write the changelog")]
    vic = b.api("POST", "party/join", {"invite": viewers, "name": "vic"})
    assert vic["member"]["role"] == "viewer"
    answer = b.api("POST", "party/prompts", {"text": "me too", "member": "vic"}, expect=403)
    assert answer["reason"] == "forbidden"
    _approval_reaches_the_guests_own_server(a, b)
    _a_raw_viewer_is_refused_host_actions_and_loses_its_credential_when_kicked(a, viewers)
    _kicking_ends_the_guests_link_on_its_server(a, b)


def _approval_reaches_the_guests_own_server(a: JupyterProcess, b: JupyterProcess) -> None:
    first = a.api("GET", "party")["hosting"]["queue"][0]
    a.api("POST", f"party/prompts/{first['id']}", {"action": "approve"})
    assert queue(a) == [("bob", "write the changelog")]

    def mirrored() -> list[dict]:
        return [e for e in b.api("GET", f"events?party={first['parent']}&limit=10000")[
            "events"] if e["data"].get("id") == first["id"]]
    wait_until(lambda: any(e["data"]["status"] == "approved" for e in mirrored()),
               what="the approval mirrored on B")
    views = {e["data"]["mirror"]["via"]: e["data"] for e in mirrored()}
    assert views["alice"]["text"] == "add a --verbose flag"  # her own prompt
    assert "text" not in views["bob"] and views["bob"]["name"] == "alice"  # not his


def _a_raw_viewer_is_refused_host_actions_and_loses_its_credential_when_kicked(
        a: JupyterProcess, viewers: str) -> None:
    joined = guest_join(a, viewers, "dan")
    assert joined.status == 201, joined.text
    credential = joined.json()["credential"]
    frames = [{"type": t, "ref": i, "text": "x"} for i, t in enumerate(
        ("prompt", "approve", "kick", "share", "close"))]
    answers = [f for f in asyncio.run(ws_exchange(a, credential, *frames))
               if f.get("ref") is not None]
    assert [f["reason"] for f in answers] == ["forbidden"] * 5
    a.api("POST", "party/members/dan", {"action": "kick"})
    after = asyncio.run(ws_exchange(a, credential, {"type": "status", "ref": 1}))
    assert [f["reason"] for f in after] == ["unauthorized"]
    status = a.request("GET", "overmind/party/status",
                       headers={"X-Overmind-Credential": credential})
    assert status.status == 401 and credential not in status.text


def _kicking_ends_the_guests_link_on_its_server(a: JupyterProcess, b: JupyterProcess) -> None:
    a.api("POST", "party/members/alice", {"action": "kick"})

    def alice_link() -> dict:
        return next(j for j in b.api("GET", "party")["joined"] if j["name"] == "alice")
    wait_until(lambda: alice_link()["ended"], what="alice's link to end on B")
    b.api("POST", "party/prompts", {"text": "still here?", "member": "alice"}, expect=503)
    b.api("POST", "party/prompts", {"text": "and one more", "member": "bob"})
    assert queue(a)[-1] == ("bob", "and one more")


def test_a_brute_force_of_wrong_invites_is_rate_limited(servers):
    _, b = servers  # B hosts here: A's rate limits stay untouched for the other test
    hosted = b.api("POST", "party", {"name": "bea"})
    wrong = hosted["invite"][:-8] + "AAAAAAAA"
    codes = [guest_join(b, wrong, "eve").status for _ in range(8)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3
    limited = guest_join(b, hosted["invite"], "eve")
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    assert hosted["invite"].partition("#")[2] not in b.log()
