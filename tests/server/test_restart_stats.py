"""`restart REF` and the mission table's batched figures (`GET missions?stats=1`) through
the REST client against a real in-process Jupyter server, and the same routes served
by the kernel for an embedded engine (`api.dispatch`)."""

from __future__ import annotations

import asyncio
import sys

import pytest
from jupyter_process import alive

from overmind_jupyter import commands
from overmind_jupyter.client import Client
from overmind_jupyter.errors import InvalidTransition, NotFound
from overmind_jupyter.model import MissionSpec
from overmind_jupyter.widgets import bridge as routes

pytestmark = pytest.mark.timeout(60)

# a shell whose child holds 64 MiB and keeps one core busy: figures cover the whole tree
BUSY = ["sh", "-c", f"{sys.executable} -c '"
        "b = bytearray(64 << 20)\nprint(\"busy\", flush=True)\nwhile True: pass'"]


@pytest.fixture
def client(http_server_client, jp_http_port, jp_base_url, overmind_token) -> Client:
    # http_server_client: pytest-jupyter only serves HTTP when a client fixture asks
    return Client(f"http://127.0.0.1:{jp_http_port}{jp_base_url}", overmind_token)


async def run(client: Client, *argv: str):
    return await commands.execute(client, commands.parse(list(argv)))


async def busy_measured(client: Client, timeout: float = 20.0) -> dict[str, dict]:
    """``ps_stats`` rows by name, read until the busy mission's CPU figure shows (each
    reading measures since the previous one; on a loaded machine a short interval may
    find it waiting for a core). The last rows are returned when ``timeout`` passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = {m["name"]: m for m in await client.ps_stats()}
        if (rows.get("busy", {}).get("cpu_percent") or 0) > 10 or loop.time() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def test_restart_command_runs_the_mission_again_over_rest(client, reaper):
    await run(client, "run", "--name", "web", "--", "sleep", "30")
    first = (await client.info("web"))["pid"]
    result = await run(client, "restart", "web")
    assert result.status == 0 and result.text.startswith("restarted web (")
    assert result.data["status"] == "running" and result.data["restarts"] == 1
    assert result.data["pid"] != first and not alive(first)
    events = await client.events(mission=result.data["id"])
    assert [e["data"]["reason"] for e in events if e["type"] == "mission-restart"] == [
        "restarted by user"]
    await client.stop("web", force=True)
    with pytest.raises(InvalidTransition, match=r"web has ended \(killed\)"):
        await run(client, "restart", "web")
    with pytest.raises(NotFound, match="did you mean web"):
        await client.restart("wbe")


async def test_stats_give_every_live_mission_its_tree_figures_in_one_answer(client, reaper):
    await run(client, "run", "--name", "busy", "--", *BUSY)
    await run(client, "run", "--name", "idle", "--", "sleep", "30")
    await run(client, "run", "--name", "done", "--", "true")
    await client.wait("done", 10)
    for _ in range(100):
        if (await client.logs("busy")).startswith("busy"):
            break
        await asyncio.sleep(0.05)
    await client.ps_stats()  # CPU is measured between two readings
    rows = await busy_measured(client)
    assert set(rows) == {"busy", "idle"}  # live ones only, unless all
    busy, idle = rows["busy"], rows["idle"]
    assert busy["rss_bytes"] >= 64 << 20 > idle["rss_bytes"] > 0  # the child's 64 MiB count
    assert busy["cpu_percent"] > 10 and idle["cpu_percent"] < 10
    assert busy["last_line"] == "busy" and busy["status"] == "running"
    everything = {m["name"]: m for m in await client.ps_stats(all=True)}
    assert everything["done"]["status"] == "exited" and "rss_bytes" not in everything["done"]
    for name in ("busy", "idle"):
        await client.stop(name, force=True)


async def test_kernel_routes_serve_restart_and_stats_for_an_embedded_engine(engine, reaper):
    m = await engine.run(MissionSpec(["sleep", "30"], name="k"))
    answer = await routes.request(engine, "GET", "missions?stats=1")
    (row,) = answer["missions"]
    assert row["name"] == "k" and row["rss_bytes"] > 0
    again = await routes.request(engine, "POST", "missions/k/restart", {})
    assert again["pid"] != m.pid and again["restarts"] == 1
    await engine.stop("k", force=True)
