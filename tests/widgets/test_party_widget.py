"""``%overmind party``: the live party panel (embedded engine, IPython's test shell), the
party actions its view calls through the widget comm when no server is reachable, and the
new invite of ``host`` / ``party invite`` that only the live view receives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_widgets import Frontend, shown, widget_of

from overmind_jupyter.party.invites import parse_invite
from overmind_jupyter.widgets.party import PartyPanel

pytestmark = pytest.mark.timeout(90)
PARTY_URL = "http://127.0.0.1:9/"  # invites name it; nobody connects in these tests


@pytest.fixture
def hosting(magics, monkeypatch: pytest.MonkeyPatch):
    """Magics whose embedded engine hosts a party as ada; returns the magics."""
    monkeypatch.setenv("OVERMIND_PARTY_URL", PARTY_URL)
    magics.shell.run_line_magic("overmind", "host --name ada")
    return magics


def call(front: Frontend, call_id: int, method: str, path: str, body: Any = None) -> Any:
    """One REST route through the comm, as the view's ``backend.call`` does; its result."""
    front.say({"type": "call", "id": call_id, "method": "request", "args": [method, path, body]})
    reply = front.reply(call_id)
    assert reply["ok"], reply
    return reply["result"]


def test_party_shows_a_panel_before_and_after_a_party_opens(magics, monkeypatch):
    monkeypatch.setenv("OVERMIND_PARTY_URL", PARTY_URL)  # read when the engine starts
    [before] = shown(magics, "party")
    panel = widget_of(before)
    assert isinstance(panel, PartyPanel) and panel.view == "party"
    assert "no party here" in before["text/plain"]
    magics.shell.run_line_magic("overmind", "host --name ada")
    [after] = shown(magics, "party")
    assert "ada's party" in after["text/plain"] and "ada" in after["text/html"]
    assert not any("application/vnd.jupyter.widget-view+json" in d
                   for d in shown(magics, "party close"))  # actions print a line


def test_the_panel_actions_reach_the_party_through_the_comm(hosting):
    front = Frontend(widget_of(shown(hosting, "party")[0]))
    invite = call(front, 1, "POST", "party/invites", {"role": "collaborator"})
    assert invite["invite"].startswith("overmind+" + PARTY_URL)
    party = hosting.engine.party
    parsed = parse_invite(invite["invite"])
    bob, _ = party.join(f"{parsed.code}.{parsed.secret}", "bob")
    assert call(front, 2, "POST", f"party/members/{bob.id}", {"action": "approve"})["state"] \
        == "approved"
    first, second = (party.submit_prompt(bob.id, t) for t in ("add a cli", "fix the docs"))
    call(front, 3, "POST", f"party/prompts/{second.id}", {"action": "move", "position": 0})
    status = call(front, 4, "GET", "party")["hosting"]
    assert [p["text"] for p in status["queue"]] == ["fix the docs", "add a cli"]
    assert call(front, 5, "POST", f"party/prompts/{first.id}", {"action": "deny"})["state"] \
        == "denied"
    assert call(front, 6, "POST", f"party/members/{bob.id}", {"action": "role",
                                                             "role": "viewer"})["role"] == "viewer"
    assert call(front, 7, "POST", f"party/members/{bob.id}", {"action": "kick"})["state"] \
        == "kicked"
    revoked = call(front, 8, "POST", f"party/invites/{invite['id']}/revoke")
    assert revoked["state"] == "revoked"
    front.say({"type": "call", "id": 9, "method": "request",
               "args": ["POST", f"party/prompts/{second.id}", {"action": "explode"}]})
    assert "action: Input should be 'approve'" in front.reply(9)["error"]


def test_host_and_invite_reveal_the_secret_to_the_live_view_only(magics, monkeypatch):
    monkeypatch.setenv("OVERMIND_PARTY_URL", PARTY_URL)
    for line, role, guest in (("host --name ada", "collaborator", "bob"),
                              ("party invite --role viewer", "viewer", "cy")):
        [data] = shown(magics, line)
        panel = widget_of(data)
        assert isinstance(panel, PartyPanel) and panel.reveals
        front = Frontend(panel)
        front.say({"type": "reveal"})  # what the view asks once it is rendered
        [revealed] = [m["invite"] for m in front.received if m.get("type") == "revealed"]
        parsed = parse_invite(revealed["invite"])
        assert (revealed["name"], revealed["role"]) == (parsed.code, role)
        assert data["text/plain"].startswith(
            f"invite {parsed.code} ({role}, valid 1d): its secret shows in the live panel only")
        assert "ada's party" in data["text/plain"]
        saved = json.dumps([data, panel.get_state(), repr(panel.invite)], default=str)
        assert parsed.secret not in saved  # neither the output, the state nor a repr
        member, _ = magics.engine.party.join(f"{parsed.code}.{parsed.secret}", guest)
        assert member.data.role == role  # the revealed invite works
