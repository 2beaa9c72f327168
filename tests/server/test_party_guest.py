"""Guest endpoints in a real (in-process) Jupyter server: every refusal rule.

Guests send no Jupyter token (``Authorization`` blanked); the host acts through the
engine the extension owns. Base URL is pytest-jupyter's ``/a%40b/``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse
from tornado.websocket import WebSocketClientConnection

from overmind_jupyter.party import wire as party_wire
from overmind_jupyter.party.ratelimit import AuthGuard
from overmind_jupyter.server.party_handlers import GUARD_SETTING
from overmind_jupyter.testing import FakeClock

pytestmark = pytest.mark.timeout(60)

GUEST = {"Authorization": ""}  # no Jupyter credential at all


class Guests:
    """Calls a guest can make: join, status, the party websocket."""

    def __init__(self, fetch: Any, ws_fetch: Any) -> None:
        self.fetch, self.ws_fetch = fetch, ws_fetch

    async def join(self, invite: str, name: str, **headers: str) -> HTTPResponse:
        header = invite.partition("#")[2]
        return await self.fetch("overmind", "party", "join", method="POST",
                                body=json.dumps({"name": name}), raise_error=False,
                                headers={**GUEST, "X-Overmind-Invite": header, **headers})

    async def member(self, invite: str, name: str) -> dict[str, Any]:
        resp = await self.join(invite, name)
        assert resp.code == 201, resp.body
        return json.loads(resp.body)

    async def socket(self, credential: str | None, after: int = 0,
                     **headers: str) -> WebSocketClientConnection:
        ws = await self.ws_fetch("overmind", "party", "ws", headers={**GUEST, **headers})
        if credential is not None:
            await ws.write_message(party_wire.frame("hello", credential=credential,
                                                    after=after))
        return ws


@pytest.fixture
def guests(jp_fetch, jp_ws_fetch) -> Guests:
    return Guests(jp_fetch, jp_ws_fetch)


@pytest.fixture
def clock(jp_serverapp) -> FakeClock:
    """A fake clock behind the server's rate limits."""
    clock = FakeClock()
    jp_serverapp.web_app.settings[GUARD_SETTING] = AuthGuard(clock)
    return clock


async def frame(ws: WebSocketClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.read_message(), timeout)
    assert message is not None, f"socket closed ({ws.close_code} {ws.close_reason})"
    return json.loads(message)


async def until(ws: WebSocketClientConnection, kind: str, **match: Any) -> dict[str, Any]:
    """The next frame of type ``kind`` whose fields include ``match``."""
    while True:
        msg = await frame(ws)
        if msg["type"] == kind and all(msg.get(k) == v for k, v in match.items()):
            return msg


async def closed(ws: WebSocketClientConnection, timeout: float = 10.0) -> list[dict]:
    """Frames until the host closes the socket."""
    frames = []
    while (message := await asyncio.wait_for(ws.read_message(), timeout)) is not None:
        frames.append(json.loads(message))
    return frames


async def ask(ws: WebSocketClientConnection, type_: str, ref: int, **fields: Any
              ) -> dict[str, Any]:
    """Send a request frame; its answer (reply, error or pong)."""
    await ws.write_message(party_wire.frame(type_, ref=ref, **fields))
    while True:
        msg = await frame(ws)
        if msg.get("ref") == ref and msg["type"] in ("reply", "error", "pong"):
            return msg


async def test_join_gives_a_credential_once_and_never_a_cookie(engine, guests):
    hosted = await engine.host("ann")
    resp = await guests.join(hosted["invite"], "bob")
    assert resp.code == 201, resp.body
    assert "Set-Cookie" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"
    data = json.loads(resp.body)
    assert data["member"] == {"id": data["member"]["id"], "name": "bob",
                              "role": "collaborator", "state": "pending"}
    assert data["credential"].startswith(data["member"]["id"] + ".")
    status = await guests.fetch("overmind", "party", "status", headers={
        **GUEST, "X-Overmind-Credential": data["credential"]})
    view = json.loads(status.body)
    assert view["me"]["state"] == "pending" and "invites" not in view
    assert data["credential"] not in json.dumps(await engine.party_status())


@pytest.mark.parametrize("header", ["", "{code}", "{code}.{wrong}", "nonsense.{secret}"])
async def test_a_join_without_the_whole_invite_is_refused(engine, guests, clock, header):
    hosted = await engine.host("ann")
    code, _, secret = hosted["invite"].partition("#")[2].partition(".")
    wrong = secret[::-1]
    resp = await guests.fetch("overmind", "party", "join", method="POST", raise_error=False,
                              body=json.dumps({"name": "bob"}), headers={
                                  **GUEST, "X-Overmind-Invite": header.format(
                                      code=code, secret=secret, wrong=wrong)})
    assert resp.code == 401, resp.body
    body = json.loads(resp.body)
    assert body["reason"] == "unauthorized" and secret not in resp.body.decode()
    assert [m["name"] for m in (await engine.party_status())["hosting"]["members"]] == ["ann"]


async def test_a_brute_force_of_wrong_invites_is_rate_limited(engine, guests, clock):
    hosted = await engine.host("ann")
    code = hosted["invite"].partition("#")[2].partition(".")[0]
    bad = hosted["invite"].replace(hosted["invite"][-6:], "AAAAAA")
    codes = [(await guests.join(bad, "eve")).code for _ in range(7)]
    assert codes == [401] * 5 + [429] * 2
    limited = await guests.join(hosted["invite"], "eve")  # even the right one, for now
    assert limited.code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert json.loads(limited.body)["reason"] == "rate-limited"
    assert code not in limited.body.decode()
    clock.advance(60)
    assert (await guests.join(hosted["invite"], "eve")).code == 201


JUPYTER_CALLS = [("GET", "api/kernels"), ("POST", "api/kernels"), ("GET", "api/kernelspecs"),
                 ("GET", "api/contents"), ("PUT", "api/contents/pwned.txt"),
                 ("GET", "api/terminals"), ("POST", "api/terminals"), ("GET", "api/sessions"),
                 ("POST", "api/sessions"), ("GET", "api/config/notebook"),
                 ("PATCH", "api/config/notebook"), ("POST", "api/shutdown"), ("GET", "api/me")]


def host_calls() -> list[tuple[str, str]]:
    from test_handlers import every_operation  # the host route table, refs as "x"
    return [(m, "overmind/api/" + p) for m, p in every_operation()]


async def test_guest_credentials_reach_no_jupyter_endpoint_and_no_host_route(
        jp_serverapp, jp_fetch, engine, guests):
    hosted = await engine.host("ann", auto_approve=["bob"])
    credential = (await guests.member(hosted["invite"], "bob"))["credential"]
    invite = hosted["invite"].partition("#")[2]
    placements = [{"X-Overmind-Credential": credential}, {"X-Overmind-Token": credential},
                  {"Authorization": f"token {credential}"}, {"X-Overmind-Invite": invite},
                  {"Cookie": f"overmind={credential}"}]
    refused: list[int] = []
    for method, path in JUPYTER_CALLS + host_calls():
        for where in placements:
            body = None if method in ("GET", "DELETE") else "{}"
            resp = await jp_fetch(*path.split("/"), method=method, body=body,
                                  headers={**GUEST, **where}, raise_error=False,
                                  allow_nonstandard_methods=True)
            assert resp.code in (401, 403), (method, path, where, resp.code, resp.body)
            refused.append(resp.code)
    assert len(refused) == len(placements) * (len(JUPYTER_CALLS) + len(host_calls()))
    assert jp_serverapp.kernel_manager.list_kernel_ids() == []
    assert not (engine.root / "pwned.txt").exists()


@pytest.mark.parametrize("path", [("api", "events", "subscribe"),
                                  ("overmind", "api", "events")])
async def test_guest_credentials_open_no_other_websocket(engine, guests, path):
    hosted = await engine.host("ann", auto_approve=["bob"])
    credential = (await guests.member(hosted["invite"], "bob"))["credential"]
    for where in ({"X-Overmind-Credential": credential}, {"X-Overmind-Token": credential},
                  {"Authorization": f"token {credential}"}):
        with pytest.raises(HTTPClientError) as info:
            await guests.ws_fetch(*path, headers={**GUEST, **where})
        assert info.value.code in (401, 403)


async def test_a_socket_without_a_valid_hello_gets_nothing(engine, guests, clock,
                                                           monkeypatch):
    hosted = await engine.host("ann", auto_approve=["bob"])
    await guests.member(hosted["invite"], "bob")
    silent = await guests.socket(None)
    monkeypatch.setattr(party_wire, "HELLO_TIMEOUT_S", 0.2)
    late = await guests.socket(None)
    for bad in ("not json", json.dumps({"type": "prompt", "text": "hi"}),
                party_wire.frame("hello", credential="mbr-0000.AAAAAAAAAAAAAAAAAAAAAAAA")):
        ws = await guests.socket(None)
        await ws.write_message(bad)
        frames = await closed(ws)
        assert [f["type"] for f in frames] == ["error"]
        assert ws.close_code == party_wire.CLOSE_REFUSED
    assert await closed(late) == [] and late.close_code == party_wire.CLOSE_NO_HELLO
    silent.close()
    counted = await guests.socket("mbr-0000.AAAAAAAAAAAAAAAAAAAAAAAA")  # 4th failure
    await closed(counted)
    ws = await guests.socket("mbr-0000.AAAAAAAAAAAAAAAAAAAAAAAA")  # the 5th
    await closed(ws)
    with pytest.raises(HTTPClientError) as info:  # now refused before the upgrade
        await guests.socket(None)
    assert info.value.code == 429


async def test_another_origin_needs_a_valid_credential(engine, guests):
    hosted = await engine.host("ann", auto_approve=["bob"])
    member = await guests.member(hosted["invite"], "bob")
    evil = {"Origin": "http://evil.example"}
    ws = await guests.socket("mbr-0000.AAAAAAAAAAAAAAAAAAAAAAAA", **evil)
    assert [f["type"] for f in await closed(ws)] == ["error"]
    ws = await guests.socket(member["credential"], **evil)
    assert (await frame(ws))["type"] == "welcome"
    ws.close()
    resp = await guests.join(hosted["invite"], "cy", **evil)  # a foreign page's fetch
    assert resp.code == 404 and "Set-Cookie" not in resp.headers


async def test_roles_are_checked_on_every_frame(engine, guests):
    hosted = await engine.host("ann", auto_approve=["bob", "vic"])
    viewer_invite = (await engine.invite(role="viewer"))["invite"]
    bob = await guests.member(hosted["invite"], "bob")
    vic = await guests.member(viewer_invite, "vic")
    bob_ws, vic_ws = await guests.socket(bob["credential"]), await guests.socket(
        vic["credential"])
    answer = await ask(vic_ws, "prompt", 1, text="let me in")
    assert (answer["type"], answer["reason"]) == ("error", "forbidden")
    for ref, kind in enumerate(party_wire.HOST_ONLY, start=10):
        for ws in (vic_ws, bob_ws):
            answer = await ask(ws, kind, ref, text="x")
            assert (answer["type"], answer["reason"]) == ("error", "forbidden"), kind
    answer = await ask(bob_ws, "prompt", 2, text="add a --verbose flag")
    assert answer["type"] == "reply" and answer["data"]["text"] == "add a --verbose flag"
    assert answer["data"]["name"] == "bob" and answer["data"]["state"] == "queued"
    await engine.member_action("bob", "role", "viewer")  # same socket, new role
    answer = await ask(bob_ws, "prompt", 3, text="again")
    assert answer["reason"] == "forbidden"
    assert [p["text"] for p in (await engine.party_status())["hosting"]["queue"]] == [
        "add a --verbose flag"]
    assert (await ask(vic_ws, "ping", 4))["type"] == "pong"
    bob_ws.close()
    vic_ws.close()


def prompt_events(frames: list[dict]) -> list[dict]:
    return [e for f in frames if f["type"] == "events" for e in f["events"]
            if e["type"].startswith("prompt-")]


async def read_for(ws: WebSocketClientConnection, seconds: float) -> list[dict]:
    frames: list[dict] = []
    try:
        while True:
            frames.append(await frame(ws, seconds))
    except asyncio.TimeoutError:
        return frames


async def test_a_prompts_text_reaches_its_submitter_and_the_host_until_shared(
        engine, guests):
    hosted = await engine.host("ann", auto_approve=["bob", "cy"])
    bob = await guests.member(hosted["invite"], "bob")
    cy = await guests.member(hosted["invite"], "cy")
    bob_ws, cy_ws = await guests.socket(bob["credential"]), await guests.socket(
        cy["credential"])
    sent = await ask(bob_ws, "prompt", 1, text="rename the secret module")
    assert prompt_events(await read_for(bob_ws, 0.5))[-1]["data"]["text"] == \
        "rename the secret module"
    cy_frames = await read_for(cy_ws, 0.5)
    seen = prompt_events(cy_frames)
    assert seen and all("text" not in e["data"] for e in seen)
    assert seen[-1]["data"]["name"] == "bob" and seen[-1]["data"]["status"] == "queued"
    assert not [e for f in cy_frames if f["type"] == "events" for e in f["events"]
                if e["type"].startswith("invite-")]
    assert "rename" not in json.dumps((await ask(cy_ws, "status", 2))["data"])
    host_events = await engine.events(party=engine.party.current().id)
    assert any(e["data"].get("text") == "rename the secret module" for e in host_events)
    await engine.prompt_action(sent["data"]["id"], "share")
    shared = prompt_events(await read_for(cy_ws, 0.5))
    assert shared[-1]["data"]["text"] == "rename the secret module"
    bob_ws.close()
    cy_ws.close()


async def test_a_pending_member_gets_events_only_once_approved(engine, guests):
    hosted = await engine.host("ann")
    bob = await guests.member(hosted["invite"], "bob")
    ws = await guests.socket(bob["credential"])
    assert (await frame(ws))["member"]["state"] == "pending"
    assert (await ask(ws, "status", 1))["reason"] == "unauthorized"
    assert [f for f in await read_for(ws, 0.3) if f["type"] == "events"] == []
    await engine.member_action("bob", "approve")
    welcome = await until(ws, "welcome")
    assert welcome["member"]["state"] == "approved"
    events = await until(ws, "events")
    assert events["events"][0]["type"] == "party-opened"
    ws.close()


async def test_a_kicked_member_is_disconnected_and_its_credential_refused(engine, guests):
    hosted = await engine.host("ann", auto_approve=["bob"])
    bob = await guests.member(hosted["invite"], "bob")
    ws = await guests.socket(bob["credential"])
    await until(ws, "events")
    await engine.member_action("bob", "kick")
    await closed(ws)
    assert ws.close_code == party_wire.CLOSE_REMOVED
    again = await guests.socket(bob["credential"])
    assert [f["reason"] for f in await closed(again)] == ["unauthorized"]
    status = await guests.fetch("overmind", "party", "status", raise_error=False,
                                headers={**GUEST, "X-Overmind-Credential": bob["credential"]})
    assert status.code == 401


async def test_closing_the_party_disconnects_everyone(engine, guests):
    hosted = await engine.host("ann", auto_approve=["bob"])
    bob = await guests.member(hosted["invite"], "bob")
    ws = await guests.socket(bob["credential"])
    await until(ws, "events")
    await engine.close_party()
    await closed(ws)
    assert ws.close_code == party_wire.CLOSE_REMOVED
    assert (await guests.join(hosted["invite"], "cy")).code == 401


async def held_change(engine: Any, member_id: str, name: str) -> str:
    """A change waiting for review, of an objective made of ``member_id``'s prompt (the
    prompt queued, the objective and its branch recorded as the pipeline would)."""
    root, oid = engine.root, f"obj{name}"
    prompt = engine.party.submit_prompt(member_id, f"{name}'s prompt")
    engine.records.insert("objective", oid, "done", {"title": name, "prompts": [prompt.id]})
    engine.records.update("prompt", prompt.id, objective=oid)
    git(root, "checkout", "-q", "-b", f"overmind/{name}", "main")
    (root / f"{name}.txt").write_text(f"{name}\n")
    git(root, "add", f"{name}.txt")
    git(root, "commit", "-qm", name)
    git(root, "checkout", "-q", "main")
    base = git(root, "rev-parse", "main").strip()
    await engine.review.changes_.create(
        name, objective=oid, task=name, title=name, branch=f"overmind/{name}",
        base_commit=base, target="main", author="builtin agent", requested_by=name,
        workspace=None)
    return name


def git(root: Any, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout


async def test_a_reviewer_merges_and_closes_only_changes_it_follows(engine, guests):
    root = engine.root
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=ann", "-c", "user.email=a@example.invalid", "commit", "-q",
        "--allow-empty", "-m", "init")
    git(root, "config", "user.name", "ann")
    git(root, "config", "user.email", "a@example.invalid")
    hosted = await engine.host("ann", auto_approve=["bob", "rob"])
    reviewer_invite = (await engine.invite(role="reviewer"))["invite"]
    bob = await guests.member(hosted["invite"], "bob")
    rob = await guests.member(reviewer_invite, "rob")
    assert rob["member"]["role"] == "reviewer"
    robs, bobs = (await held_change(engine, rob["member"]["id"], "rob"),
                  await held_change(engine, bob["member"]["id"], "bob"))
    rob_ws, bob_ws = (await guests.socket(rob["credential"]),
                      await guests.socket(bob["credential"]))
    refused = await ask(bob_ws, "merge", 1, change=robs)  # a collaborator reviews nothing
    assert (refused["type"], refused["reason"]) == ("error", "forbidden")
    hidden = await ask(rob_ws, "close-change", 2, change=bobs)  # not an objective it follows
    assert (hidden["type"], hidden["reason"]) == ("error", "not-found")
    assert "no change" in hidden["message"] and bobs not in hidden["message"].split("'")[2:]
    merged = await ask(rob_ws, "merge", 3, change=robs[:2])
    assert merged["type"] == "reply", merged
    assert merged["data"]["outcome"]["state"] == "merged"
    assert (root / "rob.txt").exists() and git(root, "log", "-1", "--format=%s").startswith(
        "Merge change rob")
    again = await ask(rob_ws, "close-change", 4, change=robs)
    assert (again["type"], again["reason"]) == ("error", "invalid-transition")  # merged
    assert (await engine.change(bobs))["state"] == "open"  # bob's waits for the host
    rob_ws.close()
    bob_ws.close()
