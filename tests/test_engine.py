"""Engine facade: references (id, name, prefix), names, argument checks, info, ps, wait."""

from __future__ import annotations

import asyncio
import re

import pytest
from engine_harness import sh, until, until_in_log

from overmind_jupyter.errors import AmbiguousReference, NotFound, UsageError
from overmind_jupyter.model import MissionSpec
from overmind_jupyter.supervisor import names

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fixed_ids(monkeypatch):
    """Mission ids handed out in this order (two share the prefix ``abc1``)."""
    ids = iter(["abc111111111", "abc122222222", "fed333333333", "fed444444444"])
    monkeypatch.setattr(names, "new_id", lambda: next(ids))


def test_resolve_by_id_name_and_unique_prefix(harness, fixed_ids) -> None:
    async def body(engine):
        a = await engine.run(MissionSpec(["true"], name="web-server"))
        b = await engine.run(MissionSpec(["true"], name="worker"))
        await engine.wait(a.id), await engine.wait(b.id)
        return [engine.resolve(ref).name for ref in
                ("abc111111111", "web-server", "abc12", " worker ", "abc11")]

    assert harness.run(body) == ["web-server", "web-server", "worker", "worker", "web-server"]


def test_ambiguous_prefix_lists_the_candidates(harness, fixed_ids) -> None:
    async def body(engine):
        await engine.run(MissionSpec(["true"], name="web-server"))
        await engine.run(MissionSpec(["true"], name="worker"))
        with pytest.raises(AmbiguousReference) as err:
            engine.resolve("abc1")
        return err.value.message

    message = harness.run(body)
    assert message.startswith("'abc1' matches 2 missions: ")
    assert "abc12222 (worker, " in message and "abc11111 (web-server, " in message
    assert message.endswith("give more of the id or the name")


def test_unknown_reference_suggests_close_matches(harness) -> None:
    async def body(engine):
        await engine.run(MissionSpec(["true"], name="web-server"))
        messages = []
        for ref in ("web-sever", "zzzz", ""):
            with pytest.raises(NotFound) as err:
                engine.resolve(ref)
            messages.append(err.value.message)
        return messages

    close, far, empty = harness.run(body)
    assert close == "no mission named web-sever; did you mean web-server?"
    assert far == "no mission named zzzz; see `overmind ps --all`"
    assert empty.startswith("no mission named ")


def test_live_names_are_unique_and_free_again_once_ended(harness) -> None:
    async def body(engine):
        await engine.run(MissionSpec(["sleep", "30"], name="web"))
        with pytest.raises(UsageError) as err:
            await engine.run(MissionSpec(["true"], name="web"))
        await engine.stop("web")
        second = await engine.run(MissionSpec(["sleep", "30"], name="web"))
        resolved = engine.resolve("web")
        await engine.stop("web")
        newest_ended = engine.resolve("web")
        return second, err.value.message, resolved, newest_ended, \
            await engine.ps(all=True)

    second, message, resolved, newest_ended, missions = harness.run(body)
    assert message == "a live mission is already named web; stop it or pick another --name"
    assert resolved.id == second.id  # the live mission wins over the ended one
    assert newest_ended.id == second.id  # then the newest
    assert [m.name for m in missions] == ["web", "web"]  # the refused run left no record


def test_generated_names_are_distinct(harness) -> None:
    async def body(engine):
        missions = [await engine.run(MissionSpec(["sleep", "30"])) for _ in range(4)]
        return [m.name for m in missions]

    got = harness.run(body)
    assert len(set(got)) == 4
    assert all(re.fullmatch(r"[a-z]+-[a-z]+(-\d+)?", n) for n in got)


@pytest.mark.parametrize(("spec", "message"), [
    (MissionSpec([]), "nothing to run: give the command after --"),
    (MissionSpec(["true"], name="-bad"), "invalid mission name '-bad'"),
    (MissionSpec(["true"], name="has space"), "invalid mission name 'has space'"),
    (MissionSpec(["true"], name="x" * 64), "at most 63"),
    (MissionSpec(["true"], activity_timeout_s=0), "--activity-timeout must be a positive"),
    (MissionSpec(["true"], activity_timeout_s=-1.5), "--activity-timeout must be a positive"),
])
def test_bad_run_arguments_are_usage_errors(harness, spec, message) -> None:
    async def body(engine):
        with pytest.raises(UsageError) as err:
            await engine.run(spec)
        return err.value.message, await engine.ps(all=True)

    got, missions = harness.run(body)
    assert message in got
    assert missions == []


def test_unknown_parent_is_not_found(harness) -> None:
    async def body(engine):
        with pytest.raises(NotFound) as err:
            await engine.run(MissionSpec(["true"], parent="nobody"))
        return err.value.message, await engine.ps(all=True)

    message, missions = harness.run(body)
    assert message.startswith("no mission named nobody")
    assert missions == []


def test_info_of_a_live_mission(harness) -> None:
    async def body(engine):
        parent = await engine.run(MissionSpec(sh("echo first; echo last line; exec sleep 30"),
                                              name="parent", env={"SECRET": "x"}))
        child = await engine.run(MissionSpec(["sleep", "30"], parent="parent"))
        await until_in_log(engine, parent.id, "last line\n")
        return parent, child, await engine.info("parent")

    parent, child, info = harness.run(body)
    assert (info["id"], info["name"], info["status"], info["pid"]) == (
        parent.id, "parent", "running", parent.pid)
    assert info["children"] == [child.id]
    assert info["last_line"] == "last line"
    assert info["log_bytes"] == len("first\nlast line\n")
    assert info["rss_bytes"] > 0 and "cpu_percent" in info
    assert info["env_keys"] == ["SECRET"] and "SECRET" not in str(info["command"])


def test_info_of_an_ended_mission_has_its_exit(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("echo bye; exit 4")))
        await engine.wait(m.id)
        return await engine.info(m.id)

    info = harness.run(body)
    assert info["status"] == "failed"
    assert info["exit"] == {"returncode": 4, "signal": None, "reason": "exit status 4",
                            "stopped": False}
    assert info["last_line"] == "bye" and info["children"] == []
    assert "rss_bytes" not in info


def test_ps_lists_live_missions_oldest_first_and_all_on_request(harness) -> None:
    async def body(engine):
        done = await engine.run(MissionSpec(["true"], name="done"))
        await engine.wait(done.id)
        await engine.run(MissionSpec(["sleep", "30"], name="one"))
        await engine.run(MissionSpec(["sleep", "30"], name="two"))
        return [m.name for m in await engine.ps()], [m.name for m in await engine.ps(all=True)]

    live, every = harness.run(body)
    assert live == ["one", "two"]
    assert every == ["done", "one", "two"]


def test_wait_with_timeout_returns_the_still_running_mission(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(["sleep", "30"]))
        loop = asyncio.get_running_loop()
        began = loop.time()
        waited = await engine.wait(m.id, timeout_s=0.2)
        return waited, loop.time() - began

    waited, took = harness.run(body)
    assert waited.status.value == "running"
    assert 0.2 <= took < 1.0


def test_logs_tail_and_status_counts(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("printf '1\\n2\\n3\\n4\\n'")))
        await engine.wait(m.id)
        await engine.run(MissionSpec(["sleep", "30"]))
        return await engine.logs(m.id, tail=2), await engine.logs(m.id), await engine.status()

    tail, full, status = harness.run(body)
    assert tail == "3\n4\n" and full == "1\n2\n3\n4\n"
    assert status["missions"] == {"running": 1}
    assert status["last_seq"] > 0


def test_subscribers_get_every_event_in_order(harness) -> None:
    async def body(engine):
        got = []
        engine.subscribe(got.extend)
        m = await engine.run(MissionSpec(["true"]))
        await engine.wait(m.id)
        await until(lambda: any(e["mission"] == m.id and e["data"].get("status") == "exited"
                                for e in got), what="the exited event to reach the subscriber")
        engine.unsubscribe(got.extend)
        return m, got, await engine.events(mission=m.id)

    m, got, stored = harness.run(body)
    mine = [e for e in got if e["mission"] == m.id]
    assert [e["seq"] for e in mine] == [e["seq"] for e in stored]
    assert [e["data"].get("status") for e in mine if e["type"] == "mission-status"] == [
        "spawning", "running", "exited"]
