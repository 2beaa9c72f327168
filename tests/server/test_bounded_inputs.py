"""Hostile request bodies and websocket frames: nesting, size and encoding cases end as
400 (or an error frame) with a message, never as a 5xx or a logged traceback.

Covers every POST route of the host API, the guests' join, the events websocket and the
party websocket (where a hostile hello counts as a failed credential attempt).
"""

from __future__ import annotations

import json
import logging

import pytest
import test_handlers
from test_handlers import assert_json_error, every_operation
from test_party_guest import GUEST, Guests, closed, frame
from tornado.httpclient import HTTPClientError

from overmind_jupyter import bounds
from overmind_jupyter.party import wire as party_wire
from overmind_jupyter.party.ratelimit import AuthGuard
from overmind_jupyter.server.party_handlers import GUARD_SETTING
from overmind_jupyter.testing import FakeClock

pytestmark = pytest.mark.timeout(120)
api = test_handlers.api

DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000
JUST_TOO_DEEP = '{"text":' + "[" * bounds.MAX_DEPTH + "]" * bounds.MAX_DEPTH + "}"
HOSTILE = {  # body → words the 400 message must contain
    DEEP_ARRAY: "nested too deeply",
    DEEP_OBJECT: "nested too deeply",
    JUST_TOO_DEEP: "nested too deeply",
    '{"text": "' + "x" * (bounds.MAX_JSON_BYTES + 1) + '"}': "the limit is 2,097,152 bytes",
    b'{"text": "\xff\xfe"}': "not JSON",
    '{"text": "\\ud800", "name": "\\udfff"}': "not valid Unicode",
    '{"text": "a\\u0000b", "name": "a\\u0000b"}': "NUL character",
}


async def answer(ws) -> dict:
    """The next frame that is not an event batch."""
    while (msg := await frame(ws))["type"] == "events":
        pass
    return msg


def post_routes() -> list[str]:
    return [path for method, path in every_operation() if method == "POST"
            and path != "shutdown"]  # reads no body, and would stop the engine


@pytest.mark.parametrize("body", list(HOSTILE), ids=["deep-array", "deep-object", "depth-33",
                                                     "3-MiB", "not-utf8", "surrogate", "nul"])
async def test_every_post_route_answers_hostile_bodies_with_400(api, engine, body):
    refused = []
    for path in post_routes():
        resp = await api("POST", *path.split("/"), body=body)
        if resp.code != 400:  # a route that reads no body (restart, close…) may say 404
            assert resp.code < 500, (path, resp.code, resp.body[:300])
            continue
        data = assert_json_error(resp, 400)
        assert HOSTILE[body] in data["message"], (path, data)
        refused.append(path)
    assert len(refused) >= 19, refused  # every route that reads a body refused it
    assert await engine.ps(all=True) == []  # nothing was started or recorded


@pytest.mark.parametrize("body", list(HOSTILE), ids=["deep-array", "deep-object", "depth-33",
                                                     "3-MiB", "not-utf8", "surrogate", "nul"])
async def test_the_unauthenticated_join_answers_hostile_bodies_with_400(engine, jp_fetch,
                                                                        body):
    hosted = await engine.host("ann")
    header = hosted["invite"].partition("#")[2]
    resp = await jp_fetch("overmind", "party", "join", method="POST", body=body,
                          raise_error=False, headers={**GUEST, "X-Overmind-Invite": header})
    data = assert_json_error(resp, 400)
    assert HOSTILE[body] in data["message"] or "limit" in data["message"]
    assert [m["name"] for m in (await engine.party_status())["hosting"]["members"]] == ["ann"]


async def test_the_events_socket_answers_hostile_frames_with_error_frames(
        jp_ws_fetch, overmind_token, caplog):
    ws = await jp_ws_fetch("overmind", "api", "events",
                           headers={"X-Overmind-Token": overmind_token, "Authorization": ""})
    with caplog.at_level(logging.WARNING):
        for text in (DEEP_ARRAY[:60_000], DEEP_OBJECT[:60_000], '{"type": "\\ud800"}'):
            await ws.write_message(text)
            msg = await answer(ws)
            assert msg["type"] == "error" and msg["reason"] == "usage", msg
        await ws.write_message(json.dumps({"type": "ping"}))
        assert (await answer(ws))["type"] == "pong"  # still open and serving
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    ws.close()


HOSTILE_HELLOS = [DEEP_ARRAY[:400_000], DEEP_OBJECT[:400_000], JUST_TOO_DEEP,
                  '{"type": "hello", "credential": "\\ud800"}', b"\xff" * 100]


async def test_hostile_hellos_count_as_failed_credentials_and_log_no_traceback(
        jp_serverapp, jp_fetch, jp_ws_fetch, engine, caplog):
    jp_serverapp.web_app.settings[GUARD_SETTING] = AuthGuard(FakeClock())
    guests = Guests(jp_fetch, jp_ws_fetch)
    await engine.host("ann")
    with caplog.at_level(logging.INFO):
        for text in HOSTILE_HELLOS:
            ws = await guests.socket(None)
            await ws.write_message(text, binary=isinstance(text, bytes))
            frames = await closed(ws)
            assert frames[-1]["type"] == "error" and frames[-1]["reason"] == "usage", frames
            assert ws.close_code == party_wire.CLOSE_REFUSED
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert len(logged) < 2_000 * len(HOSTILE_HELLOS)  # no frame is logged in full
    with pytest.raises(HTTPClientError) as limited:  # five failures: this address is
        await guests.socket(None)                    # cut off before the upgrade
    assert limited.value.code == 429


async def test_hostile_frames_after_the_hello_get_error_frames(jp_fetch, jp_ws_fetch, engine):
    guests = Guests(jp_fetch, jp_ws_fetch)
    hosted = await engine.host("ann", auto_approve=["bob"])
    credential = (await guests.member(hosted["invite"], "bob"))["credential"]
    ws = await guests.socket(credential)
    assert (await frame(ws))["type"] == "welcome"
    for text in (DEEP_ARRAY[:400_000], JUST_TOO_DEEP, '{"type": "prompt", "text": "a\\u0000"}'):
        await ws.write_message(text)
        msg = await answer(ws)
        assert msg["type"] == "error" and msg["reason"] == "usage", msg
    await ws.write_message(party_wire.frame("ping", ref=7))
    assert await answer(ws) == {"type": "pong", "ref": 7}
    ws.close()


ODD_REFS = ["%00", "%FF", "%ED%A0%80", "%F0%9F%98%80", "a" * 5000, "%2E%2E", "x%0Ay",
            "-1", "9" * 40]
ODD_QUERIES = ["%00", "%FF", "%ED%A0%80", "9" * 40, "-1", "%C2%B2", "a" * 5000]
QUERY_NAMES = ("after", "limit", "tail", "all", "stats", "path", "objective", "to", "mission",
               "party")


async def test_every_route_survives_odd_refs_and_query_values(
        http_server_client, jp_base_url, overmind_token, engine):
    """Raw URLs (not re-escaped): bad UTF-8, surrogates, NUL, huge numbers → never 5xx."""
    headers = {"X-Overmind-Token": overmind_token, "Authorization": ""}
    base = jp_base_url.rstrip("/") + "/overmind/api/"
    calls = 0
    for method, path in every_operation():
        if path in ("shutdown", "events") or path.endswith("attach"):
            continue  # stops the engine / websockets (their queries are covered below)
        for value in ODD_REFS if "/x" in path or path.startswith("x") else ["x"]:
            for query in ("", *(f"{n}={q}" for n in QUERY_NAMES for q in ODD_QUERIES[:3])):
                url = base + path.replace("x", value, 1) + ("?" + query if query else "")
                resp = await http_server_client.fetch(
                    url, method=method, headers=headers, raise_error=False,
                    body="{}" if method == "POST" else None)
                assert resp.code < 500, (method, url[:200], resp.code, resp.body[:300])
                calls += 1
    for query in (f"{n}={q}" for n in ("after", "limit", *QUERY_NAMES) for q in ODD_QUERIES):
        resp = await http_server_client.fetch(base + "events?" + query, headers=headers,
                                              raise_error=False)
        assert resp.code < 500, (query[:100], resp.code, resp.body[:300])
        calls += 1
    assert calls > 500
