"""Store behaviour: missions, lookups, transitions and their events, event batching."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overmind_jupyter.errors import InvalidTransition, NotFound
from overmind_jupyter.events import InvalidEvent
from overmind_jupyter.model import TERMINAL, ExitInfo, Mission, MissionKind, MissionStatus
from overmind_jupyter.store import Store, exclude_from_git
from overmind_jupyter.store import store as store_module

pytestmark = pytest.mark.timeout(60)

S = MissionStatus


def seqs(events) -> list[int]:
    return [e["seq"] for e in events]


def assert_contiguous(events) -> None:
    numbers = seqs(events)
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers


# -- insert / get -----------------------------------------------------------------------
def test_insert_and_get_round_trip_every_field(store: Store, full_mission: Mission) -> None:
    store.insert_mission(full_mission)
    assert store.get_mission(full_mission.id) == full_mission


def test_insert_publishes_mission_created(store: Store, published, make_mission) -> None:
    parent = make_mission(name="lead")
    child = make_mission(name="worker", parent_id=parent.id, command=["echo", "hi"])
    store.insert_mission(parent)
    store.insert_mission(child)
    assert len(published.batches) == 2  # one commit each
    event = published.batches[1][0]
    assert event["type"] == "mission-created" and event["mission"] == child.id
    assert event["data"] == {"name": "worker", "kind": "command", "command": ["echo", "hi"],
                             "parent": parent.id, "status": "pending"}
    assert store.read_events() == published.events
    assert store.last_seq() == event["seq"]


def test_get_unknown_mission(store: Store) -> None:
    with pytest.raises(NotFound, match="nope"):
        store.get_mission("nope")


def test_duplicate_id_is_refused_without_an_event(store: Store, published,
                                                  make_mission) -> None:
    m = make_mission()
    store.insert_mission(m)
    with pytest.raises(sqlite3.IntegrityError):
        store.insert_mission(make_mission(id=m.id, name="other"))
    assert len(published.events) == 1
    assert len(store.read_events()) == 1


def test_unknown_parent_is_refused(store: Store, make_mission) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.insert_mission(make_mission(parent_id="ghost"))
    assert store.missions() == []


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=30),
       command=st.lists(st.text(max_size=20), min_size=1, max_size=5),
       env=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=4),
       kind=st.sampled_from(list(MissionKind)),
       status=st.sampled_from(sorted(TERMINAL)),  # names may repeat across examples
       pid=st.none() | st.integers(1, 2**22),
       exit_=st.none() | st.builds(ExitInfo, returncode=st.none() | st.integers(-255, 255),
                                   signal=st.none() | st.integers(1, 64),
                                   reason=st.text(max_size=20)))
def test_any_mission_round_trips(store: Store, make_mission, name, command, env, kind, status,
                                 pid, exit_) -> None:
    m = make_mission(id=uuid.uuid4().hex, name=name, command=command, env=env, kind=kind,
                     status=status, pid=pid, exit=exit_)
    store.insert_mission(m)
    assert store.get_mission(m.id) == m


# -- listing and lookups ----------------------------------------------------------------
def test_missions_oldest_first_and_live_only(store: Store, make_mission) -> None:
    a = make_mission(status=S.RUNNING)
    b = make_mission(status=S.EXITED)
    c = make_mission(status=S.PENDING)
    d = make_mission(status=S.LOST)
    for m in (c, a, d, b):  # insertion order must not matter
        store.insert_mission(m)
    assert [m.id for m in store.missions()] == [a.id, b.id, c.id, d.id]
    assert [m.id for m in store.missions(live_only=True)] == [a.id, c.id]


def test_children_are_direct_only(store: Store, make_mission) -> None:
    root = make_mission()
    kid1 = make_mission(parent_id=root.id)
    kid2 = make_mission(parent_id=root.id)
    grandkid = make_mission(parent_id=kid1.id)
    for m in (root, kid1, kid2, grandkid):
        store.insert_mission(m)
    assert [m.id for m in store.children(root.id)] == [kid1.id, kid2.id]
    assert [m.id for m in store.children(kid1.id)] == [grandkid.id]
    assert store.children(kid2.id) == []


def test_candidates_by_id_prefix_and_exact_name(store: Store, make_mission) -> None:
    old = make_mission(id="ab12cd", name="build", status=S.EXITED)
    new = make_mission(id="ab34ef", name="build")
    other = make_mission(id="ff0000", name="ab")
    for m in (old, new, other):
        store.insert_mission(m)
    assert [m.id for m in store.candidates("ab12cd")] == [old.id]
    assert [m.id for m in store.candidates("ab1")] == [old.id]
    # id prefix "ab" and the exact name "ab": newest first
    assert [m.id for m in store.candidates("ab")] == [other.id, new.id, old.id]
    assert [m.id for m in store.candidates("build")] == [new.id, old.id]
    assert store.candidates("buil") == []  # names match exactly, not by prefix
    assert store.candidates("b12") == []  # ids match by prefix, not substring
    assert store.candidates("zz") == []


def test_candidates_escape_like_wildcards(store: Store, make_mission) -> None:
    plain = make_mission(id="a1b2c3")
    underscored = make_mission(id="a_b2c3")
    percent = make_mission(id="x%yz")
    backslash = make_mission(id="q\\r")
    for m in (plain, underscored, percent, backslash):
        store.insert_mission(m)
    assert [m.id for m in store.candidates("a_")] == [underscored.id]
    assert store.candidates("_") == []
    assert store.candidates("%") == []
    assert store.candidates("a%") == []
    assert [m.id for m in store.candidates("x%")] == [percent.id]
    assert [m.id for m in store.candidates("q\\")] == [backslash.id]
    assert store.candidates("\\") == []


def test_names_lists_names_and_ids(store: Store, make_mission) -> None:
    m = make_mission(id="abc123", name="web")
    store.insert_mission(m)
    assert sorted(store.names()) == ["abc123", "web"]


def test_live_names_are_unique(store: Store, published, make_mission) -> None:
    assert not store.live_name_taken("web")
    first = make_mission(name="web", status=S.RUNNING)
    store.insert_mission(first)
    assert store.live_name_taken("web")
    assert not store.live_name_taken("we")
    published.batches.clear()
    with pytest.raises(sqlite3.IntegrityError):
        store.insert_mission(make_mission(name="web"))
    assert published.batches == []  # the failed insert published nothing
    assert [m.id for m in store.missions()] == [first.id]
    store.transition(first.id, S.STOPPING)
    assert store.live_name_taken("web")  # still live while stopping
    store.transition(first.id, S.KILLED)
    assert not store.live_name_taken("web")
    second = make_mission(name="web")
    store.insert_mission(second)  # a terminal mission's name can be reused
    assert store.live_name_taken("web")
    store.transition(second.id, S.FAILED)
    store.insert_mission(make_mission(name="web"))
    assert [m.status for m in store.candidates("web")] == [S.PENDING, S.FAILED, S.KILLED]


# -- transitions ------------------------------------------------------------------------
def test_transition_updates_fields_and_writes_its_event(store: Store, published,
                                                        make_mission) -> None:
    m = make_mission(status=S.SPAWNING)
    store.insert_mission(m)
    published.batches.clear()
    running = store.transition(m.id, S.RUNNING, reason="spawned", pid=4242,
                               pid_start=123.5, started_at=124.0)
    assert running.status is S.RUNNING
    assert (running.pid, running.pid_start, running.started_at) == (4242, 123.5, 124.0)
    assert running.updated_at > m.updated_at
    assert store.get_mission(m.id) == running
    [batch] = published.batches
    [event] = batch
    assert event["type"] == "mission-status" and event["mission"] == m.id
    assert event["data"] == {"status": "running", "previous": "spawning", "reason": "spawned",
                             "pid": 4242}
    assert store.read_events(after=event["seq"] - 1) == [event]

    info = ExitInfo(returncode=None, signal=9, reason="oom")
    failed = store.transition(m.id, S.FAILED, reason="killed by kernel", exit=info,
                              restarts=2)
    assert failed.exit == info and failed.restarts == 2
    last = published.events[-1]
    assert last["seq"] == event["seq"] + 1
    assert last["data"] == {"status": "failed", "previous": "running",
                            "reason": "killed by kernel",
                            "exit": {"returncode": None, "signal": 9, "reason": "oom",
                                     "stopped": False}}
    assert store.read_events()[-1] == last


def test_invalid_transition_changes_nothing(store: Store, published, make_mission) -> None:
    m = make_mission(status=S.KILLED)
    store.insert_mission(m)
    published.batches.clear()
    last = store.last_seq()
    with pytest.raises(InvalidTransition, match="killed to running"):
        store.transition(m.id, S.RUNNING, pid=99)
    assert store.get_mission(m.id) == m
    assert published.batches == []
    assert store.last_seq() == last


def test_transition_of_unknown_mission(store: Store) -> None:
    with pytest.raises(NotFound):
        store.transition("ghost", S.KILLED)
    assert store.last_seq() == 0


def test_transition_with_an_unknown_field_rolls_back(store: Store, make_mission) -> None:
    m = make_mission()
    store.insert_mission(m)
    with pytest.raises(ValueError, match="name"):
        store.transition(m.id, S.SPAWNING, name="renamed")
    assert store.get_mission(m.id) == m
    assert [e["type"] for e in store.read_events()] == ["mission-created"]


def test_update_mission(store: Store, make_mission) -> None:
    m = make_mission(status=S.RUNNING)
    store.insert_mission(m)
    store.update_mission(m.id, pid=7, restarts=1, exit=ExitInfo(returncode=3))
    got = store.get_mission(m.id)
    assert (got.pid, got.restarts, got.exit, got.status) == (7, 1, ExitInfo(returncode=3),
                                                             S.RUNNING)
    with pytest.raises(ValueError):
        store.update_mission(m.id, name="x")
    with pytest.raises(ValueError):  # status only changes through validated transitions
        store.update_mission(m.id, status="killed")
    assert store.get_mission(m.id).status is S.RUNNING


# -- event batching ---------------------------------------------------------------------
def test_buffered_events_are_invisible_until_flush(store: Store, published,
                                                   db_path: Path) -> None:
    reader = Store(db_path)
    try:
        store.append_event("test-event", {"i": 0}, mission="m1", party="p")
        store.append_event("test-event", {"i": 1}, objective="o")
        store.append_event("agent-message", {"i": 2, "text": "héllo", "nested": {"a": [1]}})
        assert store.read_events() == [] and reader.read_events() == []
        assert published.batches == [] and store.last_seq() == 0
        store.flush()
        events = store.read_events()
        assert [e["data"]["i"] for e in events] == [0, 1, 2]
        assert_contiguous(events)
        assert reader.read_events() == events
        assert published.batches == [events]  # one batch, same seqs as stored
        assert (events[0]["type"], events[0]["mission"], events[0]["party"]) == (
            "test-event", "m1", "p")
        assert events[1]["objective"] == "o"
        assert events[2]["data"] == {"i": 2, "text": "héllo", "nested": {"a": [1]}}
    finally:
        reader.close()


def test_flush_with_nothing_buffered_publishes_nothing(store: Store, published) -> None:
    store.flush()
    assert published.batches == [] and store.last_seq() == 0


def test_schedule_flush_is_asked_once_per_batch(store: Store) -> None:
    calls = []
    store.schedule_flush = lambda: calls.append(1)
    store.append_event("test-event", {})
    store.append_event("test-event", {})
    assert calls == [1]
    store.flush()
    store.append_event("test-event", {})
    assert calls == [1, 1]


def test_a_full_buffer_flushes_by_itself(store: Store, published) -> None:
    n = store_module._BATCH_MAX
    for i in range(n):
        store.append_event("test-event", {"i": i})
    assert [e["data"]["i"] for e in store.read_events(limit=n + 1)] == list(range(n))
    assert len(published.batches) == 1


def test_transition_flushes_buffered_events_first(store: Store, published,
                                                  make_mission) -> None:
    m = make_mission()
    store.insert_mission(m)
    published.batches.clear()
    store.append_event("test-event", {"i": 0}, mission=m.id)
    store.append_event("test-event", {"i": 1}, mission=m.id)
    store.transition(m.id, S.SPAWNING)
    [batch] = published.batches
    assert [e["type"] for e in batch] == ["test-event", "test-event", "mission-status"]
    assert_contiguous(batch)
    assert store.read_events(after=batch[0]["seq"] - 1) == batch


def test_failed_transition_keeps_buffered_events(store: Store, published,
                                                 make_mission) -> None:
    m = make_mission(status=S.EXITED)
    store.insert_mission(m)
    published.batches.clear()
    store.append_event("test-event", {"i": 0}, mission=m.id)
    with pytest.raises(InvalidTransition):
        store.transition(m.id, S.RUNNING)
    store.append_event("test-event", {"i": 1}, mission=m.id)
    store.flush()
    events = store.read_events(mission=m.id)
    assert [e["data"].get("i") for e in events] == [None, 0, 1]  # created, then both
    assert published.events == events[1:]


def test_close_flushes(db_path: Path) -> None:
    s = Store(db_path)
    s.append_event("test-event", {"ok": True})
    s.close()
    again = Store(db_path)
    assert [e["data"] for e in again.read_events()] == [{"ok": True}]
    again.close()


def test_seq_survives_reopen_and_keeps_increasing(db_path: Path) -> None:
    s = Store(db_path)
    for i in range(3):
        s.append_event("test-event", {"i": i})
    s.close()
    s = Store(db_path)
    s.append_event("test-event", {"i": 3})
    s.flush()
    events = s.read_events()
    s.close()
    assert [e["data"]["i"] for e in events] == [0, 1, 2, 3]
    assert_contiguous(events)


# -- reading events ---------------------------------------------------------------------
def test_read_events_cursor(store: Store) -> None:
    for i in range(10):
        store.append_event("test-event", {"i": i})
    store.flush()
    every = store.read_events()
    first = every[0]["seq"]
    page = store.read_events(after=first + 2, limit=4)
    assert [e["data"]["i"] for e in page] == [3, 4, 5, 6]
    paged, cursor = [], 0
    while batch := store.read_events(after=cursor, limit=3):
        assert len(batch) <= 3
        paged += batch
        cursor = batch[-1]["seq"]
    assert paged == every
    assert store.read_events(after=store.last_seq()) == []
    assert store.read_events(limit=0) == []


def test_read_events_filters(store: Store) -> None:
    rows = [("a", "x", None), ("b", "x", "p"), ("a", None, "p"), (None, "y", None),
            ("a", "x", "p")]
    for i, (mission, objective, party) in enumerate(rows):
        store.append_event("test-event", {"i": i}, mission=mission, objective=objective,
                           party=party)
    store.flush()

    def indexes(**kw) -> list[int]:
        return [e["data"]["i"] for e in store.read_events(**kw)]

    assert indexes(mission="a") == [0, 2, 4]
    assert indexes(objective="x") == [0, 1, 4]
    assert indexes(party="p") == [1, 2, 4]
    assert indexes(mission="a", objective="x") == [0, 4]
    assert indexes(mission="a", party="p", objective="x") == [4]
    assert indexes(mission="zzz") == []
    second = store.read_events()[1]["seq"]
    assert indexes(mission="a", after=second) == [2, 4]
    assert indexes(mission="a", limit=1) == [0]


# -- git exclusion ----------------------------------------------------------------------
def test_exclude_from_git_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    exclude_from_git(tmp_path)
    exclude_from_git(tmp_path)
    text = (tmp_path / ".git" / "info" / "exclude").read_text()
    assert text.splitlines().count(".overmind/") == 1


def test_exclude_from_git_keeps_existing_lines(tmp_path: Path) -> None:
    info = tmp_path / ".git" / "info"
    info.mkdir(parents=True)
    (info / "exclude").write_text("# local ignores\n*.swp")  # no final newline
    exclude_from_git(tmp_path)
    exclude_from_git(tmp_path)
    assert (info / "exclude").read_text() == "# local ignores\n*.swp\n.overmind/\n"


def test_exclude_from_git_outside_a_repository(tmp_path: Path) -> None:
    exclude_from_git(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_no_longer_sees_the_store(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    Store(tmp_path / ".overmind" / "overmind.db").close()

    def status() -> str:
        return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                              cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    assert ".overmind/" in status()
    exclude_from_git(tmp_path)
    assert status() == ""


def test_missions_json_has_the_shape_of_mission_to_dict(tmp_path):
    """The SQLite-built ``ps --json`` equals ``mission_to_dict`` (times to 10 µs)."""
    import json
    import math

    from overmind_jupyter.model import (
        ExitInfo,
        Mission,
        MissionKind,
        MissionStatus,
        RestartMode,
        RestartPolicy,
        mission_to_dict,
    )
    from overmind_jupyter.store import Store

    store = Store(tmp_path / "o.db")
    for i, env in enumerate(({}, {"Z": "1", "A": "2"})):
        now = 1795291085.123456 + i
        store.insert_mission(Mission(
            id=f"m{i}", name=f"n{i}", kind=MissionKind.SESSION, command=["sh", "-c", "x y"],
            cwd="/w", env=env, parent_id="m0" if i else None,
            restart=RestartPolicy(RestartMode.ALWAYS, 3, 30.0, 250), activity_timeout_s=2.5,
            grace_s=1.0, status=MissionStatus.PENDING, created_at=now, updated_at=now,
            log_path="/l", agent="builtin" if i else None))
    store.transition("m0", MissionStatus.SPAWNING)
    store.transition("m0", MissionStatus.FAILED, exit=ExitInfo(returncode=3, reason="bad"))
    slow = [mission_to_dict(m) for m in store.missions()]
    fast = json.loads(store.missions_json())
    assert len(fast) == len(slow) == 2
    for a, b in zip(slow, fast, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if key.endswith("_at") and a[key] is not None:
                assert math.isclose(a[key], b[key], abs_tol=1e-5), key
            else:
                assert a[key] == b[key], key
    assert [m["name"] for m in json.loads(store.missions_json(live_only=True))] == ["n1"]


def test_replay_json_text_equals_the_decoded_events_encoded(tmp_path):
    """``read_events_json`` embeds stored text; it must equal encoding ``read_events``."""
    import json

    from overmind_jupyter.store import Store

    store = Store(tmp_path / "o.db")
    tricky = [{"text": "héllo ✓ \u2028 \"quoted\" \\ back\nslash"}, {"n": 2 ** 63 + 5},
              {}, {"nested": {"list": [1.5, None, True, "\x00"]}}]
    for i, data in enumerate(tricky):
        store.append_event("test-event", data, mission=f"m{i}" if i % 2 else None,
                           objective="ö" if i == 3 else None)
    store.flush()
    decoded = store.read_events(after=0, limit=100)
    texts = store.read_events_json(after=0, limit=100)
    assert [seq for seq, _ in texts] == [e["seq"] for e in decoded]
    assert [t for _, t in texts] == [json.dumps(e, separators=(",", ":")) for e in decoded]
    assert [json.loads(t) for _, t in texts] == decoded


def test_an_event_lacking_a_field_its_type_requires_is_refused_and_nothing_appended(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    before = store.last_seq()
    with pytest.raises(InvalidEvent, match="agent-spawned event data lacks agent, branch"):
        store.append_event("agent-spawned", {"task": "t1", "name": "n"})
    store.append_event("a-newer-engines-event", {"anything": 1})  # unknown types pass
    store.flush()
    assert [e["type"] for e in store.read_events(after=before)] == ["a-newer-engines-event"]
    store.close()
