"""Transitions under concurrent writers and durability under ``kill -9``."""

from __future__ import annotations

import json
import random
import signal
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overmind_jupyter.errors import InvalidTransition
from overmind_jupyter.model import TRANSITIONS, MissionStatus
from overmind_jupyter.store import Store

pytestmark = pytest.mark.timeout(60)

S = MissionStatus


# -- (a) the store enforces the table ---------------------------------------------------
@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sampled_from(list(MissionStatus)), data=st.data())
def test_store_accepts_exactly_the_transition_table(store: Store, make_mission, start,
                                                    data) -> None:
    mission = make_mission(id=uuid.uuid4().hex, name=uuid.uuid4().hex, status=start)
    store.insert_mission(mission)
    state, accepted = start, []
    for _ in range(data.draw(st.integers(0, 20), label="steps")):
        allowed = sorted(TRANSITIONS[state])
        if allowed and data.draw(st.booleans(), label="pick an allowed one"):
            new = data.draw(st.sampled_from(allowed), label="allowed")
        else:
            new = data.draw(st.sampled_from(list(MissionStatus)), label="any")
        if new in TRANSITIONS[state]:
            assert store.transition(mission.id, new, reason="prop").status is new
            accepted.append((state, new))
            state = new
        else:
            with pytest.raises(InvalidTransition):
                store.transition(mission.id, new, reason="prop")
        assert store.get_mission(mission.id).status is state
    events = [e for e in store.read_events(mission=mission.id) if e["type"] == "mission-status"]
    assert [(S(e["data"]["previous"]), S(e["data"]["status"])) for e in events] == accepted
    assert store.live_name_taken(mission.name) == (not state.terminal)


# -- (b) terminal states are final under concurrent writers -----------------------------
WRITER = """
import json, sys, time
from overmind_jupyter.errors import InvalidTransition
from overmind_jupyter.model import MissionStatus
from overmind_jupyter.store import Store

path, target = sys.argv[1], MissionStatus(sys.argv[2])
passes, offset = int(sys.argv[3]), int(sys.argv[4])
ids = sys.stdin.readline().split()
ids = ids[offset:] + ids[:offset]  # writers start at different places and run into each other
store = Store(path)
print("ready", flush=True)
start_at = float(sys.stdin.readline())
time.sleep(max(0.0, start_at - time.time()))
won, refused = [], 0
for _ in range(passes):
    for mid in ids:
        try:
            store.transition(mid, target, reason="writer " + target.value)
            won.append(mid)
        except InvalidTransition:
            refused += 1
        # let the lock change hands: SQLite's busy handler backs off for up to tens of ms,
        # so a writer in a loop with no gap could finish a whole pass alone
        time.sleep(0.0001)
store.close()
print("result " + json.dumps({"won": won, "refused": refused}), flush=True)
"""


def test_terminal_states_are_final_under_concurrent_writers(db_path: Path, make_mission,
                                                            children) -> None:
    store = Store(db_path)
    missions = [make_mission(status=S.RUNNING, pid=1000 + i) for i in range(300)]
    for m in missions:
        store.insert_mission(m)
    ids = [m.id for m in missions]
    targets = [S.KILLED, S.EXITED, S.FAILED, S.LOST]
    passes = 2
    procs = {t: children.start(WRITER, str(db_path), t.value, str(passes),
                               str(n * len(ids) // len(targets)))
             for n, t in enumerate(targets)}
    for p in procs.values():
        p.stdin.write(" ".join(ids) + "\n")
        p.stdin.flush()
        children.expect(p, "ready")
    start_at = time.time() + 0.1
    for p in procs.values():  # all writers start at the same instant
        p.stdin.write(f"{start_at}\n")
        p.stdin.flush()
    results = {}
    for t, p in procs.items():
        line = children.expect(p, "result ")
        results[t] = json.loads(line.removeprefix("result "))
        assert p.wait(timeout=30) == 0, p.stderr.read()

    winners: dict[str, S] = {}
    for t, r in results.items():
        for mid in r["won"]:
            assert mid not in winners, f"{mid} left a terminal state: {winners[mid]} then {t}"
            winners[mid] = t
    assert sorted(winners) == sorted(ids)
    assert sum(len(r["won"]) for r in results.values()) == len(ids)
    attempts = len(targets) * passes * len(ids)
    assert sum(r["refused"] for r in results.values()) == attempts - len(ids)
    racing = [t.value for t, r in results.items() if r["won"]]
    assert len(racing) >= 2, f"the writers did not overlap: only {racing} won anything"

    fresh = Store(db_path)
    try:
        assert fresh.integrity_ok()
        for mid in ids:
            assert fresh.get_mission(mid).status is winners[mid]
            status_events = [e for e in fresh.read_events(mission=mid)
                             if e["type"] == "mission-status"]
            assert [(e["data"]["previous"], e["data"]["status"], e["data"]["reason"])
                    for e in status_events] == [
                ("running", winners[mid].value, f"writer {winners[mid].value}")]
    finally:
        fresh.close()
        store.close()


# -- (c) crash consistency at random kill points ----------------------------------------
CRASHER = """
import os, sys
from overmind_jupyter.model import ExitInfo, Mission, MissionKind, MissionStatus, RestartPolicy
from overmind_jupyter.store import Store

S = MissionStatus

def ack(text):
    os.write(1, (text + "\\n").encode())  # one write: a line is either whole or absent

store = Store(sys.argv[1])
i = store.conn.execute("SELECT count(*) FROM missions").fetchone()[0]
row = store.conn.execute(
    "SELECT max(json_extract(data, '$.index')), max(json_extract(data, '$.batch')) "
    "FROM events WHERE type = 'test-event'").fetchone()
index = -1 if row[0] is None else row[0]
batch = -1 if row[1] is None else row[1]
ack(f"ready {i} {index}")
while True:
    mid = f"m{i:05d}"
    store.insert_mission(Mission(
        id=mid, name=f"crash-{i}", kind=MissionKind.COMMAND, command=["sleep", str(i)],
        cwd="/", env={}, parent_id=None, restart=RestartPolicy(), activity_timeout_s=None,
        grace_s=1.0, status=S.PENDING, created_at=float(i), updated_at=float(i),
        log_path=f"/tmp/{mid}.log"))
    ack(f"ack mission {mid}")
    store.transition(mid, S.SPAWNING)
    ack(f"ack transition {mid} spawning")
    store.transition(mid, S.RUNNING, pid=10000 + i)
    ack(f"ack transition {mid} running")
    batch += 1
    size = i % 7 + 1
    for _ in range(size):
        index += 1
        store.append_event("test-event", {"index": index, "batch": batch, "size": size},
                           mission=mid)
    store.flush()
    ack(f"ack event-batch {index}")
    store.transition(mid, S.EXITED, exit=ExitInfo(returncode=0))
    ack(f"ack transition {mid} exited")
    i += 1
"""
ORDER = ["pending", "spawning", "running", "exited"]


def check_after_crash(db_path: Path, missions: set[str], transitions: set[tuple[str, str]],
                      last_event: int, where: str) -> None:
    store = Store(db_path)
    try:
        assert store.integrity_ok(), where
        for mid in missions:
            assert store.get_mission(mid).id == mid, where
        for mid, status in transitions:
            current = store.get_mission(mid).status.value
            assert ORDER.index(current) >= ORDER.index(status), (where, mid, current, status)
            assert status in [e["data"]["status"] for e in store.read_events(mission=mid)
                              if e["type"] == "mission-status"], (where, mid, status)
        events = store.read_events(limit=10**6)
        seq_numbers = [e["seq"] for e in events]
        assert seq_numbers == list(range(1, len(events) + 1)), where  # no gaps, no reuse
        data = [e["data"] for e in events if e["type"] == "test-event"]
        indexes = [d["index"] for d in data]
        assert indexes == list(range(len(indexes))), where  # in order, no holes, no repeats
        assert len(indexes) >= last_event + 1, (where, len(indexes), last_event)
        per_batch: dict[int, int] = {}
        for d in data:
            per_batch[d["batch"]] = per_batch.get(d["batch"], 0) + 1
        for d in data:  # a flushed batch is all there or not there at all
            assert per_batch[d["batch"]] == d["size"], (where, d)
    finally:
        store.close()


def test_acknowledged_writes_survive_kill_9(db_path: Path, children) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    missions: set[str] = set()
    transitions: set[tuple[str, str]] = set()
    last_event = -1
    kill_points = 18
    for n in range(kill_points):
        where = f"seed {seed}, kill {n}"
        proc = children.start(CRASHER, str(db_path))
        lines: list[str] = []
        if n % 6 == 5:  # blind kill: anywhere, including while opening/migrating
            time.sleep(rng.uniform(0.0, 0.25))
        else:
            lines.append(children.expect(proc, "ready"))
            wanted = rng.choice([0, 1, 2, 3, rng.randint(4, 60)])
            while sum(line.startswith("ack ") for line in lines) < wanted:
                line = proc.stdout.readline()
                assert line.endswith("\n"), (where, line, proc.stderr.read())
                lines.append(line.rstrip("\n"))
            if rng.random() < 0.5:  # let it run on a little: kill mid-write
                time.sleep(rng.uniform(0.0, 0.005))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == -signal.SIGKILL, (where, err)
        lines += [line for line in out.split("\n")[:-1]]  # complete lines only
        for line in lines:
            words = line.split()
            if words[:2] == ["ack", "mission"]:
                missions.add(words[2])
            elif words[:2] == ["ack", "transition"]:
                transitions.add((words[2], words[3]))
            elif words[:2] == ["ack", "event-batch"]:
                last_event = max(last_event, int(words[2]))
        check_after_crash(db_path, missions, transitions, last_event, where)
    assert missions and transitions and last_event >= 0, "no kill point came after a write"
