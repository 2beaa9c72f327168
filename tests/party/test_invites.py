"""Invite strings, secrets and their hashes: strict parsing, nothing secret kept in clear."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from overmind_jupyter.errors import UsageError
from overmind_jupyter.party import invites
from overmind_jupyter.party.invites import Invite, Unauthorized, parse_invite
from overmind_jupyter.store import Store
from overmind_jupyter.store.records import Records

pytestmark = pytest.mark.timeout(30)

SECRET = "kivhoQ-6BJLqMcU8rYI7XxkK2TE2F9il"  # fixed: test ids must match across xdist workers


def test_a_secret_has_at_least_128_random_bits_and_never_repeats():
    raw = base64.urlsafe_b64decode(SECRET + "=" * (-len(SECRET) % 4))
    assert len(raw) * 8 >= 128
    assert len({invites.new_secret() for _ in range(200)}) == 200


@pytest.mark.parametrize("url", ["http://127.0.0.1:8888/", "https://lab.example.org/a%40b/",
                                 "http://[::1]:9000/user/ann/"])
def test_an_invite_string_round_trips_with_its_base_url(url):
    invite = Invite(url, invites.new_code(), SECRET)
    text = str(invite)
    assert text == f"overmind+{url}#{invite.code}.{SECRET}"
    assert parse_invite(f"  {text}\n") == invite
    assert invite.header == f"{invite.code}.{SECRET}"


@pytest.mark.parametrize("text", [
    "amber-otter-42",  # the code alone
    f"amber-otter-42.{SECRET}",  # no server
    f"http://127.0.0.1:8888/#amber-otter-42.{SECRET}",  # no scheme prefix
    f"overmind+ftp://127.0.0.1/#amber-otter-42.{SECRET}",
    f"overmind+http://127.0.0.1:8888#amber-otter-42.{SECRET}",  # no trailing /
    f"overmind+http://127.0.0.1:8888/?x=1#amber-otter-42.{SECRET}",
    f"overmind+http://me:pw@127.0.0.1:8888/#amber-otter-42.{SECRET}",
    "overmind+http://127.0.0.1:8888/#amber-otter-42",  # no secret
    "overmind+http://127.0.0.1:8888/#amber-otter-42.short",
    f"overmind+http://127.0.0.1:8888/#Amber Otter.{SECRET}",
    f"overmind+http://127.0.0.1:8888/#amber-otter-42.{SECRET}!",
])
def test_anything_but_a_whole_invite_is_refused_without_echoing_the_secret(text):
    with pytest.raises(UsageError) as info:
        parse_invite(text)
    assert SECRET not in info.value.message
    assert "invite" in info.value.message


def test_the_secret_stays_out_of_reprs_and_only_its_hash_is_compared():
    invite = Invite("http://h/", "amber-otter-42", SECRET)
    assert SECRET not in repr(invite)
    stored = invites.digest(SECRET)
    assert SECRET not in stored and len(stored) == 64
    assert invites.secret_matches(SECRET, stored)
    assert not invites.secret_matches(SECRET[:-1] + "x", stored)
    assert not invites.secret_matches(SECRET, "")


@pytest.mark.parametrize("ttl", [0, -5, 7 * 86_400 + 1])
def test_invite_lifetimes_are_bounded(ttl):
    with pytest.raises(UsageError):
        invites.check_ttl(ttl)
    assert invites.check_ttl(60) == 60.0


@pytest.fixture
def records(tmp_path: Path):
    store = Store(tmp_path / "state.db")
    records = Records(store)
    party = records.insert("party", "pty-0001", "open", {"name": "p"})
    yield records, party
    store.close()


def test_an_invite_record_keeps_only_the_hash_and_its_event_no_secret(records, tmp_path):
    recs, party = records
    rec, secret = invites.create(recs, party, 3600, "viewer", now=1000.0)
    recs.store.flush()
    assert rec.data.expires_at == 4600.0 and rec.data.role == "viewer"
    assert rec.data.secret_sha256 == invites.digest(secret)
    events = recs.store.read_events()
    assert [e["type"] for e in events] == ["invite-created"]
    assert secret not in str(events) and rec.data.secret_sha256 not in str(events)
    recs.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes(), path


def test_only_code_and_right_secret_before_expiry_admit(records):
    recs, party = records
    rec, secret = invites.create(recs, party, 3600, "collaborator", now=1000.0)
    code = rec.data.name
    assert invites.accept(recs, party, f"{code}.{secret}", now=2000.0).id == rec.id
    for header in (code, f"{code}.{invites.new_secret()}", f"other-code-11.{secret}", ""):
        with pytest.raises(Unauthorized):
            invites.accept(recs, party, header, now=2000.0)
    with pytest.raises(Unauthorized, match="expired"):
        invites.accept(recs, party, f"{code}.{secret}", now=4600.0)
    assert recs.get("invite", rec.id).state == "expired"
    with pytest.raises(Unauthorized):  # expired stays expired
        invites.accept(recs, party, f"{code}.{secret}", now=2000.0)


def test_a_revoked_invite_admits_nobody(records):
    recs, party = records
    rec, secret = invites.create(recs, party, 3600, "collaborator", now=1000.0)
    invites.end(recs, rec, "revoked")
    with pytest.raises(Unauthorized):
        invites.accept(recs, party, f"{rec.data.name}.{secret}", now=1001.0)
