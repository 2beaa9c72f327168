"""The party domain: members and roles, the prompt queue, and who sees which text."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from engine_harness import until

from overmind_jupyter.errors import InvalidTransition, NotFound, RateLimited, UsageError
from overmind_jupyter.party.invites import Unauthorized
from overmind_jupyter.party.party import Forbidden, Party
from overmind_jupyter.party.queue import PromptQuota
from overmind_jupyter.party.ratelimit import Rate
from overmind_jupyter.party.view import event_view, member_spending
from overmind_jupyter.store import Store
from overmind_jupyter.store.records import Record, Records
from overmind_jupyter.testing import FakeClock

pytestmark = pytest.mark.timeout(30)


class Room:
    """A party hosted by ``ann`` with one collaborator invite; ``now`` is a fake clock."""

    def __init__(self, tmp_path: Path, hook: Any = None, **host_kw) -> None:
        self.clock = FakeClock(start=1_000_000.0)
        self.store = Store(tmp_path / "state.db")
        self.party = Party(Records(self.store), self.store, now=self.clock.monotonic,
                           on_prompt_approved=hook or self._approved)
        self.record, self.host = self.party.open("ann", **host_kw)
        self.approved: list[str] = []
        self.objectives: dict[str, asyncio.Future[str]] = {}  # prompt text → its objective
        self.invite = self.new_invite()

    def _approved(self, rec: Record) -> asyncio.Future[str]:
        """The orchestrator's side: take the prompt, answer its objective later."""
        self.approved.append(rec.data.text)
        future = self.objectives[rec.data.text] = asyncio.get_running_loop().create_future()
        return future

    def new_invite(self, role: str = "collaborator", ttl_s: float = 3600) -> str:
        rec, secret = self.party.create_invite(ttl_s, role)
        return f"{rec.data.name}.{secret}"

    def join(self, name: str, invite: str | None = None, approve: bool = True
             ) -> tuple[Record, str]:
        member, credential = self.party.join(invite or self.invite, name)
        if approve and member.state == "pending":
            member = self.party.member_action(name, "approve")
        return member, credential

    def events(self) -> list[dict]:
        self.store.flush()
        return self.store.read_events()


@pytest.fixture
def room(tmp_path: Path):
    r = Room(tmp_path)
    yield r
    r.store.close()


def test_a_guest_waits_for_the_host_unless_listed_for_auto_approval(tmp_path):
    room = Room(tmp_path, auto_approve=["bea"])
    bob, _ = room.party.join(room.invite, "bob")
    bea, _ = room.party.join(room.invite, "bea")
    assert (bob.state, bea.state) == ("pending", "approved")
    assert bob.data.role == "collaborator"
    assert room.party.member_action(bob.id, "approve", "viewer").data.role == "viewer"
    types = [e["type"] for e in room.events()]
    assert types.count("member-joined") == 2 and types.count("member-approved") == 3
    room.store.close()


def test_one_party_at_a_time_and_names_are_unique_among_live_members(room):
    with pytest.raises(InvalidTransition, match="open already"):
        room.party.open("zed")
    room.join("bob")
    with pytest.raises(UsageError, match="taken"):
        room.party.join(room.invite, "bob")
    with pytest.raises(UsageError, match="not valid"):
        room.party.join(room.invite, "<script>")
    room.party.member_action("bob", "kick")
    assert room.join("bob")[0].state == "approved"  # the name is free again


def test_credentials_work_until_kick_leave_or_close(room):
    bob, bob_cred = room.join("bob")
    cy, cy_cred = room.join("cy")
    dee, dee_cred = room.join("dee")
    assert room.party.authenticate(bob_cred).id == bob.id
    closed: list[str] = []
    room.party.attach(bob.id, closed.append)
    room.party.member_action("bob", "kick")
    assert closed == ["you were kicked"]
    room.party.leave(cy.id)
    for cred in (bob_cred, cy_cred, bob_cred[:-2] + "xx", "mbr-00000000.x" * 3, ""):
        with pytest.raises(Unauthorized):
            room.party.authenticate(cred)
    assert room.party.authenticate(dee_cred).id == dee.id
    room.party.close()
    with pytest.raises(Unauthorized):
        room.party.authenticate(dee_cred)
    with pytest.raises(Unauthorized):  # its invites were revoked with it
        room.party.join(room.invite, "eve")


def test_a_wrong_or_expired_invite_admits_nobody(room):
    short = room.new_invite(ttl_s=60)
    with pytest.raises(Unauthorized):
        room.party.join(room.invite.split(".")[0], "bob")  # the code alone
    room.clock.advance(61)
    with pytest.raises(Unauthorized, match="expired"):
        room.party.join(short, "bob")
    room.party.revoke_invite(room.invite.split(".")[0])
    with pytest.raises(Unauthorized):
        room.party.join(room.invite, "bob")


def test_the_host_cannot_be_kicked_and_unknown_members_are_named(room):
    with pytest.raises(UsageError, match="host"):
        room.party.member_action("ann", "kick")
    with pytest.raises(NotFound, match="no member"):
        room.party.member_action("nobody", "approve")
    room.join("bob")
    with pytest.raises(UsageError, match="role must be"):
        room.party.member_action("bob", "role", "host")


def test_roles_are_checked_for_every_prompt(room):
    viewer, _ = room.join("vic", room.new_invite("viewer"))
    pending, _ = room.join("pat", approve=False)
    bob, _ = room.join("bob")
    with pytest.raises(Forbidden, match="viewer cannot submit prompts"):
        room.party.submit_prompt(viewer.id, "let me in")
    with pytest.raises(Unauthorized):
        room.party.submit_prompt(pending.id, "me too")
    room.party.submit_prompt(bob.id, "fine")
    room.party.member_action("bob", "role", "viewer")  # demoted: the next prompt fails
    with pytest.raises(Forbidden):
        room.party.submit_prompt(bob.id, "again")
    room.party.member_action("vic", "role", "collaborator")
    assert room.party.submit_prompt(viewer.id, "now I can").state == "queued"


async def test_the_queue_is_fifo_reorderable_and_approval_starts_the_hook(room):
    bob, _ = room.join("bob")
    cy, _ = room.join("cy")
    first = room.party.submit_prompt(bob.id, "first")
    second = room.party.submit_prompt(cy.id, "second")
    third = room.party.submit_prompt(bob.id, "third")
    queue = lambda: [p.data.text for p in room.party.prompts(room.record)  # noqa: E731
                     if p.state == "queued"]
    assert queue() == ["first", "second", "third"]
    room.party.prompt_action(third.id, "move", position=0)
    assert queue() == ["third", "first", "second"]
    room.party.prompt_action(second.id, "move", position=1)
    assert queue() == ["third", "second", "first"]
    room.party.prompt_action(first.id[:8], "approve")
    room.party.prompt_action(second.id, "deny")
    with pytest.raises(InvalidTransition):
        room.party.prompt_action(second.id, "approve")
    host_prompt = room.party.submit_prompt(room.host.id, "host's own")
    assert host_prompt.state == "approved"
    assert room.approved == ["first", "host's own"]  # handed over at once, no task hop
    assert room.party.objective_of(host_prompt.id) is room.objectives["host's own"]
    assert queue() == ["third"]
    room.objectives["host's own"].set_result("o1")  # the story agent grouped it
    for _ in range(3):
        await asyncio.sleep(0)
    grouped = room.party.records.get("prompt", host_prompt.id)
    assert (grouped.state, grouped.data.objective) == ("grouped", "o1")
    assert room.party.objective_of(host_prompt.id) is None


async def test_auto_approved_prompts_start_the_hook_and_a_failing_hook_is_logged(
        tmp_path, caplog):
    def broken(rec: Record) -> asyncio.Future[str]:
        failed = asyncio.get_running_loop().create_future()
        failed.set_exception(RuntimeError("orchestrator down"))
        return failed

    room = Room(tmp_path, hook=broken, auto_approve_prompts=True)
    bob, _ = room.join("bob")
    with caplog.at_level(logging.ERROR, logger="overmind.party"):
        assert room.party.submit_prompt(bob.id, "go").state == "approved"
        await until(lambda: "on_prompt_approved failed" in caplog.text, what="the log line")
    room.store.close()


def test_prompt_text_reaches_only_its_submitter_and_the_host_until_shared(room):
    bob, _ = room.join("bob")
    cy, _ = room.join("cy")
    prompt = room.party.submit_prompt(bob.id, "my secret plan")
    view = lambda who: [event_view(e, who.id) for e in room.events()  # noqa: E731
                        if e["type"].startswith("prompt-")]
    assert view(bob)[-1]["data"]["text"] == "my secret plan"
    seen_by_cy = view(cy)[-1]["data"]
    assert "text" not in seen_by_cy and seen_by_cy["name"] == "bob"
    assert seen_by_cy["status"] == "queued"
    assert "text" not in str(room.party.guest_status(cy.id)["queue"])
    assert room.party.guest_status(bob.id)["queue"][0]["text"] == "my secret plan"
    assert room.party.status()["queue"][0]["text"] == "my secret plan"  # the host's view
    room.party.prompt_action(prompt.id, "share")
    assert view(cy)[-1]["data"]["text"] == "my secret plan"
    assert room.party.guest_status(cy.id)["queue"][0]["text"] == "my secret plan"


def test_guests_never_see_invites_or_mirrored_events(room):
    bob, _ = room.join("bob")
    room.store.append_event("prompt-queued", {"id": "x", "member": "m", "status": "queued",
                                             "mirror": {"seq": 1}},
                            party=room.record.id)
    shown = [event_view(e, bob.id) for e in room.events()]
    assert [e for e in shown if e and e["type"].startswith("invite-")] == []
    assert all(e is None or "mirror" not in e["data"] for e in shown)
    assert "invites" not in room.party.guest_status(bob.id)


async def test_a_pending_member_is_admitted_once_approved_and_refused_once_denied(room):
    bob, _ = room.join("bob", approve=False)
    cy, _ = room.join("cy", approve=False)
    dan, _ = room.join("dan")
    waiting = asyncio.ensure_future(room.party.admitted(bob.id))
    refused = asyncio.ensure_future(room.party.admitted(cy.id))
    # a barrier: tasks start in order, and an approved member is admitted in the first
    # step, so once dan is, bob's and cy's waits have checked their state and are waiting
    assert (await asyncio.ensure_future(room.party.admitted(dan.id))).id == dan.id
    assert not waiting.done() and not refused.done()
    room.party.member_action("bob", "approve")
    room.party.member_action("cy", "deny")
    assert (await asyncio.wait_for(waiting, 5)).state == "approved"
    with pytest.raises(Unauthorized):
        await asyncio.wait_for(refused, 5)


def test_no_secret_is_stored_or_sent_in_clear(room, tmp_path):
    _, credential = room.join("bob")
    secrets = [room.invite.split(".")[1], credential.split(".")[1]]
    text = str(room.events()) + str(room.party.status())
    room.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for secret in secrets:
        assert secret not in text
        for path in tmp_path.iterdir():
            assert secret.encode() not in path.read_bytes()


def test_a_kicked_guest_loses_its_auto_approval(tmp_path):
    room = Room(tmp_path, auto_approve=["bea", "cy"])
    bea, _ = room.party.join(room.invite, "bea")
    assert bea.state == "approved"
    room.party.member_action("bea", "kick")
    again, _ = room.party.join(room.invite, "bea")  # same invite, same name
    assert again.state == "pending"  # the host decides this time
    assert room.party.require().data.auto_approve == ["cy"]
    room.party.member_action(again.id, "deny")  # denying does the same
    room.party.join(room.invite, "cy")
    room.party.member_action("cy", "kick")
    assert room.party.require().data.auto_approve == []
    room.store.close()


def test_guest_prompts_are_held_to_a_quota_of_count_size_and_rate(tmp_path):
    room = Room(tmp_path)
    clock = FakeClock()
    room.party = Party(Records(room.store), room.store, now=room.clock.monotonic, clock=clock,
                       quota=PromptQuota(waiting=4, waiting_chars=1_000,
                                         rate=Rate(burst=3, per_s=1 / 10)))
    bob, _ = room.join("bob")
    for n in range(3):
        room.party.submit_prompt(bob.id, f"idea {n}")
    with pytest.raises(RateLimited, match="too many prompts from you") as fast:
        room.party.submit_prompt(bob.id, "idea 3")  # a burst of three, then one per 10 s
    assert fast.value.retry_after_s == pytest.approx(10)
    clock.advance(10)
    room.party.submit_prompt(bob.id, "idea 3")
    clock.advance(60)
    with pytest.raises(RateLimited, match="4 prompts waiting"):
        room.party.submit_prompt(bob.id, "idea 4")
    room.party.prompt_action(room.party.prompts(room.party.require())[0].id, "deny")
    with pytest.raises(RateLimited, match="at most 1,000 waiting"):
        room.party.submit_prompt(bob.id, "x" * 990)
    room.party.submit_prompt(bob.id, "idea 5")  # denied ones no longer count
    for n in range(10):  # the host is never limited
        room.party.submit_prompt(room.host.id, f"host idea {n}")
    queued = [p.data.text for p in room.party.prompts(room.party.require())
              if p.data.member == bob.id and p.state == "queued"]
    assert queued == ["idea 1", "idea 2", "idea 3", "idea 5"]  # refused ones left no trace
    room.store.close()


def test_default_prompt_quota_refuses_a_flood_of_big_prompts(room):
    bob, _ = room.join("bob")
    accepted = 0
    with pytest.raises(RateLimited):
        for _ in range(300):
            room.party.submit_prompt(bob.id, "y" * 100_000)
            accepted += 1
    assert accepted == 2  # 200,000 characters waiting at most


def test_an_objective_of_several_members_is_split_among_them() -> None:
    def prompt(member: str, objective: str | None) -> Any:
        return SimpleNamespace(data=SimpleNamespace(member=member, objective=objective))

    spent = {"o1": {"tokens": 1_000, "cost_usd": 0.3}, "o2": {"tokens": 90, "cost_usd": 0.0}}
    shares = member_spending([prompt("bob", "o1"), prompt("cy", "o1"), prompt("bob", "o2"),
                              prompt("cy", None), prompt("dee", "gone")], spent.get)
    assert shares["bob"] == {"tokens": 590, "cost_usd": 0.15}
    assert shares["cy"] == {"tokens": 500, "cost_usd": 0.15}
    assert shares["dee"] == {"tokens": 0, "cost_usd": 0.0}  # its objective went away
