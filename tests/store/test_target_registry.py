"""Targets: capacity claimed atomically, least-loaded placement, drain/disable/remove."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from overmind_jupyter.errors import InvalidTransition, UsageError
from overmind_jupyter.store import Store
from overmind_jupyter.store.records import Records
from overmind_jupyter.targets.registry import Targets

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def targets(tmp_path: Path) -> Targets:
    return Targets(Records(Store(tmp_path / "o.db")), local_capacity=2)


def loads(t: Targets) -> dict[str, list[str]]:
    return {r.data.name: r.data.claims for r in t.list()}


def test_tasks_go_to_the_least_loaded_hub_then_here_and_wait_when_all_are_full(
        targets: Targets) -> None:
    targets.add_hub("hub", "http://hub.example.org", "alice", capacity=2)
    targets.add_hub("gpu", "http://gpu.example.org", "alice", capacity=2)
    placed = [targets.claim(f"t{i}").data.name for i in range(6)]
    # the least-loaded hub target (ties by name), and this machine takes the overflow
    assert placed == ["gpu", "hub", "gpu", "hub", "local", "local"]
    assert targets.claim("t6") is None  # every slot is taken
    assert targets.claim("t1").data.name == "hub"  # a second claim keeps the first
    assert targets.release("t1").data.name == "hub"
    assert targets.claim("t6").data.name == "hub"
    assert targets.claim("t7", pinned="local") is None  # pinned: waits for its target
    assert targets.release("nobody") is None


def test_draining_and_disabled_targets_take_no_new_task_and_keep_their_claims(
        targets: Targets) -> None:
    targets.add_hub("hub", "http://hub.example.org", "alice", capacity=4)
    assert targets.claim("a", pinned="hub").data.name == "hub"
    targets.act("hub", "drain")
    assert [targets.claim(t).data.name for t in ("b", "c")] == ["local", "local"]
    assert targets.claim("d") is None
    with pytest.raises(UsageError, match="draining and takes no new task"):
        targets.claim("d", pinned="hub")
    assert loads(targets)["hub"] == ["a"]
    with pytest.raises(UsageError, match="still runs 1 task"):
        targets.act("hub", "remove")
    targets.release("a")
    targets.act("hub", "remove")
    assert "hub" not in loads(targets)
    with pytest.raises(UsageError, match="cannot be removed"):
        targets.act("local", "remove")
    targets.act("local", "disable")
    with pytest.raises(InvalidTransition, match="disabled already"):
        targets.act("local", "disable")
    assert targets.act("local", "enable").state == "active"


def test_bad_registrations_say_what_to_give(targets: Targets) -> None:
    cases = {("Big Name", "http://h/", "a", 2, "OVERMIND_HUB_TOKEN"): "bad target name",
             ("local", "http://h/", "a", 2, "OVERMIND_HUB_TOKEN"): "not 'local'",
             ("h", "ftp://h/", "a", 2, "OVERMIND_HUB_TOKEN"): "bad hub URL",
             ("h", "http://h/", "", 2, "OVERMIND_HUB_TOKEN"): "bad hub user",
             ("h", "http://h/", "a", 0, "OVERMIND_HUB_TOKEN"): "capacity must be",
             ("h", "http://h/", "a", 2, "my token"): "bad token variable"}
    for args, said in cases.items():
        with pytest.raises(UsageError, match=said):
            targets.add_hub(*args)
    targets.add_hub("h", "http://h/", "a")
    with pytest.raises(UsageError, match="a target named 'h' exists"):
        targets.add_hub("h", "http://h/", "a")


def test_two_engines_sharing_a_store_never_overfill_a_target(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    Targets(Records(Store(path)), local_capacity=3).add_hub("hub", "http://h/", "a",
                                                            capacity=5)
    won: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def claimer(who: str) -> None:
        mine = Targets(Records(Store(path)), local_capacity=3)  # its own connection
        start.wait(10)
        won[who] = [t for t in (f"{who}{i}" for i in range(20)) if mine.claim(t)]

    threads = [threading.Thread(target=claimer, args=(w,)) for w in ("x", "y")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    final = loads(Targets(Records(Store(path)), local_capacity=3))
    assert len(final["local"]) == 3 and len(final["hub"]) == 5
    assert sorted(won["x"] + won["y"]) == sorted(final["local"] + final["hub"])
