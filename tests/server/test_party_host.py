"""The host's party routes under ``overmind/api/party…`` through the REST client."""

from __future__ import annotations

import json

import pytest

from overmind_jupyter import commands
from overmind_jupyter.client import Client
from overmind_jupyter.errors import NotFound, OvermindError, UsageError
from overmind_jupyter.party.invites import parse_invite

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def client(http_server_client, jp_http_port, jp_base_url, overmind_token) -> Client:
    # http_server_client: pytest-jupyter only serves HTTP when a client fixture asks
    return Client(f"http://127.0.0.1:{jp_http_port}{jp_base_url}", overmind_token)


async def guest_joins(engine, invite: str, name: str) -> dict:
    member, _ = engine.party.join(parse_invite(invite).header, name)
    return member.to_dict()


async def test_host_prints_an_invite_for_this_server_and_status_shows_no_secret(
        client, jp_http_port):
    hosted = await client.host("ann", auto_approve=["bob"], auto_approve_prompts=False)
    invite = parse_invite(hosted["invite"])
    assert invite.url.startswith("http://") and invite.url.endswith(f":{jp_http_port}/a%40b/")
    assert hosted["host"]["name"] == "ann" and hosted["host"]["role"] == "host"
    assert hosted["role"] == "collaborator" and hosted["state"] == "active"
    assert hosted["expires_at"] - hosted["created_at"] == pytest.approx(86_400, abs=5)
    status = await client.party_status()
    text = json.dumps(status)
    assert invite.secret not in text and "sha256" not in text
    assert status["hosting"]["party"]["auto_approve"] == ["bob"]
    assert [i["name"] for i in status["hosting"]["invites"]] == [invite.code]
    assert status["joined"] == []
    with pytest.raises(OvermindError, match="open already"):
        await client.host("ann")


async def test_invites_are_created_with_a_role_and_revoked(client, engine):
    await client.host("ann")
    viewer = await client.invite(ttl_s=600, role="viewer")
    assert viewer["role"] == "viewer"
    assert viewer["expires_at"] - viewer["created_at"] == pytest.approx(600, abs=5)
    assert (await guest_joins(engine, viewer["invite"], "vic"))["role"] == "viewer"
    revoked = await client.revoke_invite(viewer["name"])
    assert revoked["state"] == "revoked"
    with pytest.raises(OvermindError, match="invite not accepted"):
        await guest_joins(engine, viewer["invite"], "vera")
    with pytest.raises(OvermindError, match="ttl_s"):
        await client.invite(ttl_s=30 * 86_400)


async def test_members_are_approved_denied_kicked_and_given_roles(client, engine):
    hosted = await client.host("ann")
    for name in ("bob", "cy", "dee"):
        await guest_joins(engine, hosted["invite"], name)
    assert (await client.member_action("bob", "approve", "viewer"))["role"] == "viewer"
    assert (await client.member_action("cy", "deny"))["state"] == "denied"
    await client.member_action("dee", "approve")
    assert (await client.member_action("dee", "role", "viewer"))["role"] == "viewer"
    assert (await client.member_action("dee", "kick"))["state"] == "kicked"
    with pytest.raises(NotFound):
        await client.member_action("zed", "approve")
    with pytest.raises(OvermindError, match="action"):
        await client.member_action("bob", "promote")
    states = {m["name"]: m["state"] for m in (await client.party_status())["hosting"]["members"]}
    assert states == {"ann": "approved", "bob": "approved", "cy": "denied", "dee": "kicked"}


async def test_the_hosts_prompts_are_approved_and_guests_prompts_wait_in_order(
        client, engine):
    hosted = await client.host("ann", auto_approve=["bob"])
    bob = await guest_joins(engine, hosted["invite"], "bob")
    mine = await client.party_prompt("tidy the README")
    assert mine["state"] == "approved" and mine["name"] == "ann"
    first = engine.party.submit_prompt(bob["id"], "first").id
    second = engine.party.submit_prompt(bob["id"], "second").id
    await client.prompt_action(second, "move", position=0)
    queue = (await client.party_status())["hosting"]["queue"]
    assert [p["text"] for p in queue] == ["second", "first"]
    assert (await client.prompt_action(first, "share"))["visibility"] == "shared"
    assert (await client.prompt_action(second, "approve"))["state"] == "approved"
    assert (await client.prompt_action(first, "deny"))["state"] == "denied"
    with pytest.raises(OvermindError):
        await client.prompt_action(first, "approve")
    assert (await client.party_status())["hosting"]["queue"] == []


async def test_closing_ends_the_party_and_later_calls_say_what_to_do(client):
    await client.host("ann")
    assert (await client.close_party())["state"] == "closed"
    assert (await client.party_status())["hosting"] is None
    with pytest.raises(NotFound, match="overmind host"):
        await client.invite()
    with pytest.raises(NotFound, match="overmind host"):
        await client.party_prompt("anyone?")
    with pytest.raises(NotFound, match="join"):
        await client.leave()
    with pytest.raises(UsageError, match="invite"):
        await client.join("amber-otter-42", "bob")


async def test_party_routes_need_the_host_credential(jp_fetch):
    for method, path in (("GET", "party"), ("POST", "party"), ("POST", "party/invites"),
                         ("POST", "party/close"), ("POST", "party/join")):
        resp = await jp_fetch("overmind", "api", *path.split("/"), method=method,
                              body=None if method == "GET" else "{}", raise_error=False,
                              headers={"Authorization": ""})
        assert resp.code == 403, (method, path)


async def run(api, *argv: str):
    return await commands.execute(api, commands.parse(list(argv)))


async def test_the_party_commands_host_invite_admit_and_close(client, engine):
    hosted = await run(client, "host", "--name", "ann", "--auto-approve", "bob")
    invite = hosted.data["invite"]
    assert f"overmind join '{invite}' --name NAME" in hosted.text
    await guest_joins(engine, invite, "bob")
    await guest_joins(engine, invite, "cy")
    viewer = await run(client, "party", "invite", "--role", "viewer", "--ttl", "600")
    assert "viewer, valid 10m" in viewer.text and viewer.data["invite"] != invite
    assert (await run(client, "party", "approve", "cy", "--role", "viewer")).data[
        "role"] == "viewer"
    prompt = (await run(client, "party", "prompt", "make", "it", "so")).data
    assert prompt["text"] == "make it so" and prompt["state"] == "approved"
    status = await run(client, "party")
    assert "members:" in status.text and "bob" in status.text and "cy" in status.text
    assert invite.partition("#")[2] not in status.text + (status.html or "")
    assert "<script>" not in (status.html or "")
    assert (await run(client, "party", "kick", "bob")).data["state"] == "kicked"
    assert (await run(client, "party", "--json")).data["hosting"]["party"]["state"] == "open"
    assert "closed" in (await run(client, "party", "close")).text
    with pytest.raises(UsageError, match="no party here"):
        await run(client, "party")


def test_the_party_grammar_refuses_bad_input():
    with pytest.raises(UsageError, match="--name"):
        commands.parse(["join", "overmind+http://h/#a-b-12.xyz"])
    with pytest.raises(UsageError, match="invalid choice"):
        commands.parse(["party", "invite", "--role", "host"])
    with pytest.raises(UsageError):
        commands.parse(["party", "move", "prm-1", "first"])


async def test_under_jupyterhub_the_host_is_named_after_the_servers_owner(
        engine, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    hosted = await engine.host()  # the login there is a shared account (jovyan, root)
    assert hosted["host"]["name"] == "alice"
