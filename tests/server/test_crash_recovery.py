"""`kill -9` of the Jupyter server: the next server re-adopts live missions, marks the rest lost."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from jupyter_process import JupyterProcess, alive, wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[JupyterProcess]]:
    """Servers a test starts on one root; none of their processes may survive."""
    started: list[JupyterProcess] = []
    yield started
    left = [pid for server in reversed(started) for pid in server.reap()]
    assert left == [], f"processes survived: {left}"


def start(servers: list[JupyterProcess], root: Path, home: Path) -> JupyterProcess:
    server = JupyterProcess(root, home).start()
    if servers:  # what the earlier servers' missions ran must not outlive this one either
        server.tracked.update({p: t for s in servers for p, t in s.tracked.items()
                               if p != s.pid})
    servers.append(server)
    return server


def mission_processes(ids: set[str]) -> list[int]:
    """Pids of live processes whose environment marks them as one of these missions."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("OVERMIND_MISSION_ID") in ids and \
                    proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return sorted(found)


def events_of(server: JupyterProcess, mission_id: str) -> list[dict]:
    return server.api("GET", f"events?mission={mission_id}&limit=10000")["events"]


def run_two(server: JupyterProcess) -> dict[str, dict]:
    for name in ("alpha", "beta"):
        created = server.api("POST", "missions", {"command": ["sleep", "60"], "name": name})
        assert created["status"] == "running"
        server.track(created["pid"])
    return server.missions()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


def test_a_new_server_readopts_missions_that_outlived_a_killed_one(servers, root, tmp_path):
    first = start(servers, root, tmp_path / "home")
    before = run_two(first)
    ids = {m["id"] for m in before.values()}
    pids = sorted(m["pid"] for m in before.values())
    assert mission_processes(ids) == pids

    first.kill9()
    assert all(alive(pid) for pid in pids)  # own sessions: the server's death spared them

    second = start(servers, root, tmp_path / "home")
    after = second.missions()
    for name in ("alpha", "beta"):
        assert after[name]["status"] == "running"
        assert after[name]["pid"] == before[name]["pid"]
        assert after[name]["restarts"] == 0
        adopted = [e for e in events_of(second, after[name]["id"])
                   if e["type"] == "mission-adopted"]
        assert [e["data"]["pid"] for e in adopted] == [before[name]["pid"]]
    assert mission_processes(ids) == pids  # nothing was started twice
    started = [e for e in second.api("GET", "events?limit=10000")["events"]
               if e["type"] == "engine-started"]
    assert sorted(started[-1]["data"]["adopted"]) == ["alpha", "beta"]

    for name in ("alpha", "beta"):
        stopped = second.api("POST", f"missions/{name}/stop", {})
        assert stopped["status"] == "killed"
    wait_until(lambda: mission_processes(ids) == [], what="the adopted processes to end")
    assert not any(alive(pid) for pid in pids)
    assert second.missions(all=False) == {}


def test_a_mission_that_died_while_no_server_ran_becomes_lost(servers, root, tmp_path):
    first = start(servers, root, tmp_path / "home")
    before = run_two(first)
    first.kill9()
    os.kill(before["beta"]["pid"], signal.SIGKILL)
    wait_until(lambda: not alive(before["beta"]["pid"]), what="beta to die")

    second = start(servers, root, tmp_path / "home")
    after = second.missions()
    assert after["alpha"]["status"] == "running"
    assert after["alpha"]["pid"] == before["alpha"]["pid"]
    assert after["beta"]["status"] == "lost"
    beta_events = events_of(second, after["beta"]["id"])
    lost = [e["data"] for e in beta_events if e["type"] == "mission-status"][-1]
    assert lost["status"] == "lost" and lost["previous"] == "running"
    assert "gone while the engine was down" in lost["reason"]
    assert not any(e["type"] == "mission-adopted" for e in beta_events)
    ids = {after["alpha"]["id"], after["beta"]["id"]}
    assert mission_processes(ids) == [before["alpha"]["pid"]]  # beta was not restarted

    second.stop()  # a normal stop ends what it supervises, adopted missions included
    assert not alive(before["alpha"]["pid"])
