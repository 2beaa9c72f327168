"""Session missions (a pty): `send` types into them; command missions refuse input."""

from __future__ import annotations

import pytest
from engine_harness import sh, until_in_log

from overmind_jupyter.errors import UsageError
from overmind_jupyter.model import MissionKind, MissionSpec
from overmind_jupyter.supervisor.process import MAX_SEND_BYTES

pytestmark = pytest.mark.timeout(60)


def test_send_to_a_shell_session_runs_the_line(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(["sh"], kind=MissionKind.SESSION, grace_s=0.3))
        await engine.send(m.id, "echo hi-$((40+2))")
        log = await until_in_log(engine, m.id, "hi-42")
        await engine.send(m.id, "exit 3")
        done = await engine.wait(m.id, timeout_s=10)
        return log, done

    log, done = harness.run(body)
    assert "echo hi-$((40+2))" in log  # the terminal echoed what was typed
    assert done.status.value == "failed" and done.exit.returncode == 3


def test_cat_session_echoes_sent_text_and_stops(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(["cat"], kind=MissionKind.SESSION, grace_s=0.3))
        await engine.send(m.id, "hello session")
        await until_in_log(engine, m.id, "hello session\r\nhello session")  # echo, then cat
        stopped = await engine.stop(m.id)
        return m, stopped

    m, stopped = harness.run(body)
    assert stopped.status.value == "killed"
    assert harness.survivors([m.pid]) == []


def test_send_to_a_command_mission_is_a_usage_error(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(["sleep", "30"], name="plain"))
        with pytest.raises(UsageError) as err:
            await engine.send("plain", "echo hi")
        return err.value.message, engine.store.get_mission(m.id)

    message, after = harness.run(body)
    assert message.startswith("the mission does not take input")
    assert "only session missions (--type session) read what you send" in message
    assert after.status.value == "running"  # the refused send did not disturb it


def test_send_to_an_ended_mission_is_a_usage_error(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(sh("exit 0"), kind=MissionKind.SESSION))
        await engine.wait(m.id, timeout_s=10)
        with pytest.raises(UsageError) as err:
            await engine.send(m.id, "echo hi")
        return err.value.message

    assert harness.run(body) == "the mission is not running: nothing to send to"


LINE_READER = sh('while read -r line; do echo "got ${#line} ${line%%y*}"; done')


def test_a_send_up_to_the_limit_arrives_whole(harness) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(LINE_READER, kind=MissionKind.SESSION, grace_s=0.3))
        longest = "a" + "y" * (MAX_SEND_BYTES - 2)  # with its newline: exactly the limit
        await engine.send(m.id, longest)
        return await until_in_log(engine, m.id, f"got {MAX_SEND_BYTES - 1} a")

    assert f"got {MAX_SEND_BYTES - 1} a" in harness.run(body)


@pytest.mark.parametrize("size", [MAX_SEND_BYTES, 5_000, 70_000])
def test_a_send_above_the_limit_is_refused_whole_and_the_next_line_is_intact(
        harness, size) -> None:
    async def body(engine):
        m = await engine.run(MissionSpec(LINE_READER, kind=MissionKind.SESSION, grace_s=0.3))
        with pytest.raises(UsageError) as err:
            await engine.send(m.id, "b" + "y" * (size - 1))
        await engine.send(m.id, "next")
        return err.value.message, await until_in_log(engine, m.id, "got 4 next")

    message, log = harness.run(body)
    assert f"at most {MAX_SEND_BYTES:,} bytes" in message
    assert "got 4 next" in log and "got" not in log.replace("got 4 next", "")
