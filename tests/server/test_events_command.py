"""`events` over REST as the CLI runs it: `--mission` takes an id, id prefix or name like
every other command, and without `--after` the latest events come, not the oldest."""

from __future__ import annotations

import pytest
import test_restart_stats
from test_restart_stats import run

from overmind_jupyter.errors import NotFound

pytestmark = pytest.mark.timeout(60)
client = test_restart_stats.client  # the fixture: the REST client of the in-process server


async def test_events_mission_takes_a_name_or_prefix_and_shows_the_latest(client, reaper):
    for n in range(3):
        await run(client, "run", "--name", f"job{n}", "--", "true")
        await run(client, "wait", f"job{n}")
    mission_id = (await client.info("job1"))["id"]
    by_id = (await run(client, "events", "--mission", mission_id)).data
    assert by_id and {e["mission"] for e in by_id} == {mission_id}
    for ref in ("job1", mission_id[:5]):
        assert (await run(client, "events", "--mission", ref)).data == by_id
    with pytest.raises(NotFound):
        await run(client, "events", "--mission", "nosuch")
    everything = await client.events(limit=10_000)
    latest = (await run(client, "events", "--limit", "3")).data
    assert [e["seq"] for e in latest] == [e["seq"] for e in everything[-3:]]  # newest, in order
    oldest = (await run(client, "events", "--after", "0", "--limit", "3")).data
    assert [e["seq"] for e in oldest] == [e["seq"] for e in everything[:3]]
    last_two_of_job1 = (await run(client, "events", "--mission", "job1", "--limit", "2")).data
    assert last_two_of_job1 == by_id[-2:]
