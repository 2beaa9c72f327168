"""Hub members: hub users the owner shared the server with take part under their hub name."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overmind_jupyter.errors import Forbidden, NotFound
from overmind_jupyter.party.hub import hub_member, hub_member_name
from overmind_jupyter.party.invites import Unauthorized
from overmind_jupyter.party.party import NAME_RE, Party
from overmind_jupyter.store import Store
from overmind_jupyter.store.records import Records

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def party(tmp_path: Path) -> Party:
    store = Store(tmp_path / "state.db")
    party = Party(Records(store), store)
    party.open("alice")
    return party


def _events(party: Party) -> list[dict]:
    party.store.flush()
    return party.store.read_events()


def test_a_hub_user_becomes_an_approved_collaborator_named_after_its_hub_name(party):
    bob = hub_member(party, "bob")
    assert (bob.state, bob.data.name, bob.data.role) == ("approved", "bob",
                                                               "collaborator")
    assert bob.data.source == "hub" and "credential_sha256" not in bob.data.dump()
    joined = [e for e in _events(party) if e["type"] in ("member-joined", "member-approved")
              and e["data"]["member"] == bob.id]
    assert [e["type"] for e in joined] == ["member-joined", "member-approved"]
    assert joined[0]["data"]["source"] == "hub"
    host_view = party.status()["members"]
    assert [(m["name"], m.get("source")) for m in host_view] == [("alice", None),
                                                                 ("bob", "hub")]


def test_the_same_hub_user_finds_the_same_member_again(party):
    first = hub_member(party, "bob")
    assert hub_member(party, "bob").id == first.id
    assert len(party.members(party.require())) == 2


def test_prompts_are_attributed_to_the_hub_name(party):
    bob = hub_member(party, "bob")
    prompt = party.submit_prompt(bob.id, "add a README")
    assert (prompt.data.name, prompt.data.member, prompt.state) == ("bob", bob.id,
                                                                          "queued")


def test_with_approval_needed_the_hub_user_waits_for_the_host(party):
    bob = hub_member(party, "bob", need_approval=True)
    assert bob.state == "pending"
    with pytest.raises(Unauthorized):
        party.submit_prompt(bob.id, "too early")
    party.member_action("bob", "approve")
    assert hub_member(party, "bob", need_approval=True).state == "approved"


def test_a_viewer_cannot_submit_prompts(party):
    carol = hub_member(party, "carol", role="viewer")
    with pytest.raises(Forbidden):
        party.submit_prompt(carol.id, "let me in")


def test_a_kicked_hub_user_stays_out_of_this_party_but_joins_the_next(party):
    hub_member(party, "bob")
    party.member_action("bob", "kick")
    with pytest.raises(Forbidden, match="alice removed you"):
        hub_member(party, "bob")
    party.close()
    party.open("alice")
    assert hub_member(party, "bob").state == "approved"


def test_no_open_party_is_not_found(party):
    party.close()
    with pytest.raises(NotFound):
        hub_member(party, "bob")


def test_a_hub_member_has_no_credential_for_the_guest_routes(party):
    bob = hub_member(party, "bob")
    with pytest.raises(Unauthorized):
        party.authenticate(f"{bob.id}.")


def test_a_taken_or_invalid_hub_name_gets_a_distinct_valid_member_name(party):
    rec, secret = party.create_invite(3600, "collaborator")
    party.join(f"{rec.data.name}.{secret}", "bob")  # an invited guest called bob
    hub_bob = hub_member(party, "bob")
    assert hub_bob.data.name == "bob-hub" and hub_bob.data.hub_user == "bob"
    ann = hub_member(party, "ann@example.org")
    assert ann.data.name == "ann-example.org-hub"
    assert ann.data.hub_user == "ann@example.org"


@given(st.text(min_size=1, max_size=80), st.sets(st.text(max_size=10), max_size=5))
def test_member_names_of_any_hub_name_are_valid_and_free(hub_user, taken):
    name = hub_member_name(hub_user, taken)
    assert NAME_RE.fullmatch(name) and name not in taken
