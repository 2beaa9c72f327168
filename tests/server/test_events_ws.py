"""The live event websocket: replay then live, filters, slow clients, bad frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection

from overmind_jupyter.client import Client
from overmind_jupyter.server.events_ws import MAX_FRAME_BYTES

pytestmark = pytest.mark.timeout(90)

EVENTS = ("overmind", "api", "events")


async def produce(engine: Any, count: int, every: int = 50, pause: float = 0.0,
                  **event: Any) -> int:
    """Append ``count`` events, yielding to the loop (``pause`` s) every ``every``.

    Returns the last seq.
    """
    data = event.pop("data", {})
    for i in range(count):
        engine.store.append_event("test-event", {"i": i, **data}, **event)
        if i % every == every - 1:
            await asyncio.sleep(pause)
    engine.store.flush()
    return engine.store.last_seq()


async def frame(ws: WebSocketClientConnection, timeout: float = 20.0) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.read_message(), timeout)
    assert message is not None, f"socket closed (code {ws.close_code})"
    return json.loads(message)


async def collect(ws: WebSocketClientConnection, last: int, timeout: float = 30.0
                  ) -> tuple[list[int], list[dict]]:
    """Read frames until an event with ``seq >= last``; return seqs and non-event frames."""
    seqs: list[int] = []
    others: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not seqs or seqs[-1] < last:
        msg = await frame(ws, deadline - loop.time())
        if msg["type"] == "events":
            seqs.extend(e["seq"] for e in msg["events"])
        else:
            others.append({**msg, "_after_seq": seqs[-1] if seqs else 0})
    return seqs, others


async def test_replay_then_live_has_no_gap_and_no_duplicate_during_production(
        jp_ws_fetch, engine):
    producer = asyncio.ensure_future(produce(engine, 10_000, every=20, pause=0.001))
    while engine.store.last_seq() < 2000:  # connect in the middle of production
        await asyncio.sleep(0.001)
    ws = await jp_ws_fetch(*EVENTS, params={"after": "0"})
    connected_at = engine.store.last_seq()
    seqs: list[int] = []
    during: list[int] = []  # seqs that arrived while events were still being made
    others: list[dict] = []

    async def read() -> None:
        while True:
            msg = await frame(ws, 30)
            got = [e["seq"] for e in msg.get("events", [])]
            seqs.extend(got)
            if not producer.done():
                during.extend(got)
            if msg["type"] != "events":
                others.append(msg)

    reader = asyncio.ensure_future(read())
    try:
        last = await producer
        deadline = asyncio.get_running_loop().time() + 30
        while not (seqs and seqs[-1] >= last) and not reader.done():
            assert asyncio.get_running_loop().time() < deadline, "events stopped coming"
            await asyncio.sleep(0.01)
        if reader.done():
            reader.result()  # raise what stopped it
    finally:
        reader.cancel()
        ws.close()
    assert during and during[-1] > connected_at + 1000  # it went live during production
    assert seqs == list(range(1, last + 1))  # contiguous from the first, each once
    assert last >= 10_000
    assert others == []


async def test_replay_starts_after_the_cursor(jp_ws_fetch, engine):
    last = await produce(engine, 100)
    ws = await jp_ws_fetch(*EVENTS, params={"after": str(last - 10)})
    try:
        seqs, _ = await collect(ws, last)
    finally:
        ws.close()
    assert seqs == list(range(last - 9, last + 1))


async def test_mission_filter_delivers_only_that_missions_events(
        http_server_client, engine, overmind_token, jp_http_port, jp_base_url):
    # http_server_client: pytest-jupyter only serves HTTP when a client fixture asks
    async def both(count: int) -> None:
        for i in range(count):
            engine.store.append_event("test-event", {"i": i}, mission="m1" if i % 3 else "m2")
        engine.store.flush()

    await both(300)
    client = Client(f"http://127.0.0.1:{jp_http_port}{jp_base_url}", overmind_token)
    stream = client.stream_events(after=0, mission="m2")
    got: list[dict] = []
    try:
        first = await asyncio.wait_for(stream.__anext__(), 10)  # the replay
        got.extend(first["events"])
        await both(300)  # live now
        expected = [e["seq"] for e in engine.store.read_events(limit=100_000, mission="m2")]
        while got[-1]["seq"] < expected[-1]:
            msg = await asyncio.wait_for(stream.__anext__(), 10)
            assert msg["type"] == "events", msg
            got.extend(msg["events"])
    finally:
        await stream.aclose()
    assert [e["seq"] for e in got] == expected and len(expected) == 200
    assert {e["mission"] for e in got} == {"m2"}


async def test_a_slow_client_is_resynced_and_slows_nobody(jp_serverapp, jp_ws_fetch, engine):
    # small enough for a stalled client to overflow, large for one that keeps reading
    jp_serverapp.web_app.settings["overmind_ws_buffer"] = 1000
    slow = await jp_ws_fetch(*EVENTS, params={"after": "0"})
    fast = await jp_ws_fetch(*EVENTS, params={"after": "0"})
    try:
        start = engine.store.last_seq()
        slow_seqs, _ = await collect(slow, start)  # both are live now
        fast_seqs, _ = await collect(fast, start)
        # ~12 MB of events: far more than the socket buffers of a client that stops reading
        # (Linux autotunes a stalled connection to a few MB at most)
        last = start + 6000
        reader = asyncio.ensure_future(collect(fast, last, timeout=30))  # reads all along
        assert await produce(engine, 6000, every=20, data={"pad": "x" * 2000}) == last
        more, others = await reader
        fast_seqs += more
        assert fast_seqs == list(range(1, last + 1)) and others == []

        more, others = await collect(slow, last, timeout=60)  # now it catches up
        slow_seqs += more
        assert slow_seqs == list(range(1, last + 1))  # every event exactly once
        resyncs = [o for o in others if o["type"] == "resync"]
        assert resyncs, "the slow client was never resynced"
        assert all(o["after"] == o["_after_seq"] for o in resyncs)  # continues from there
    finally:
        slow.close()
        fast.close()


async def test_bad_frames_get_an_error_frame_and_the_socket_stays_usable(jp_ws_fetch):
    ws = await jp_ws_fetch(*EVENTS, params={"after": "0"})
    try:
        assert (await frame(ws))["type"] == "events"  # the replay
        for bad in ("not json", json.dumps({"type": "subscribe"}), json.dumps([1, 2]),
                    b"\xff\xfe"):
            await ws.write_message(bad, binary=isinstance(bad, bytes))
            reply = await frame(ws)
            assert reply["type"] == "error" and reply["message"], reply
        await ws.write_message(json.dumps({"type": "ping"}))
        assert await frame(ws) == {"type": "pong"}
    finally:
        ws.close()


async def test_an_oversize_frame_closes_the_socket_and_the_server_stays_healthy(
        jp_ws_fetch, jp_fetch):
    ws = await jp_ws_fetch(*EVENTS, params={"after": "0"})
    try:
        assert (await frame(ws))["type"] == "events"
        await ws.write_message("x" * (MAX_FRAME_BYTES + 1))
        assert await asyncio.wait_for(ws.read_message(), 10) is None
        assert ws.close_code == 1009  # message too big
    finally:
        ws.close()
    status = await jp_fetch("overmind", "api", "status")
    assert status.code == 200
    again = await jp_ws_fetch(*EVENTS, params={"after": "0"})  # new sockets still work
    try:
        assert (await frame(again))["type"] == "events"
    finally:
        again.close()


async def test_plain_get_pages_events_and_rejects_a_bad_cursor(jp_fetch, engine):
    last = await produce(engine, 30)
    page = json.loads((await jp_fetch(*EVENTS, params={"after": "5", "limit": "10"})).body)
    assert [e["seq"] for e in page["events"]] == list(range(6, 16))
    assert page["last_seq"] == 15
    end = json.loads((await jp_fetch(*EVENTS, params={"after": str(last)})).body)
    assert end == {"events": [], "last_seq": last}
    for after in ("abc", "-1", "1.5"):
        bad = await jp_fetch(*EVENTS, params={"after": after}, raise_error=False)
        assert bad.code == 400 and bad.headers["Content-Type"].startswith("application/json")
        body = json.loads(bad.body)
        assert set(body) == {"message", "reason"} and "after" in body["message"]
        assert "Traceback" not in bad.body.decode()


async def test_the_websocket_needs_credentials(jp_ws_fetch, overmind_token):
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch(*EVENTS, params={"after": "0"}, headers={"Authorization": ""})
    assert refused.value.code == 403
    ws = await jp_ws_fetch(*EVENTS, params={"after": "0"},
                           headers={"Authorization": "", "X-Overmind-Token": overmind_token})
    try:
        assert (await frame(ws))["type"] == "events"
    finally:
        ws.close()
