"""The host REST API in a real (in-process) Jupyter server, through pytest-jupyter.

Base URL is pytest-jupyter's ``/a%40b/``; ``jp_fetch`` sends the Jupyter token unless a
test blanks it with ``Authorization: ""``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from jupyter_process import alive
from jupyter_server.auth.authorizer import Authorizer
from tornado import web
from tornado.httpclient import HTTPResponse

from overmind_jupyter.server.routes import ROUTES
from overmind_jupyter.store import Store, default_db_path

pytestmark = pytest.mark.timeout(60)

API = ("overmind", "api")
NO_JUPYTER = {"Authorization": ""}
METHODS = ("get", "post", "put", "patch", "delete")


def implemented(handler: type) -> list[str]:
    """HTTP methods a handler class implements (tornado's stubs excluded)."""
    return [m for m in METHODS if getattr(handler, m) is not getattr(web.RequestHandler, m)]


def every_operation() -> list[tuple[str, str]]:
    """(METHOD, path) of every Overmind route, ``x`` standing in for a mission ref."""
    return [(m.upper(), path.replace("(?P<ref>[^/]+)", "x"))
            for path, handler in ROUTES for m in implemented(handler)]


def scoped(token: str) -> dict[str, str]:
    return {"X-Overmind-Token": token, **NO_JUPYTER}


def body_of(resp: HTTPResponse) -> Any:
    return json.loads(resp.body)


def assert_json_error(resp: HTTPResponse, status: int, reason: str | None = None) -> dict:
    """The response is ``status`` with a JSON ``{message, reason}`` body, no traceback."""
    text = resp.body.decode()
    assert resp.code == status, text
    assert resp.headers["Content-Type"].startswith("application/json"), text
    data = json.loads(text)
    assert set(data) == {"message", "reason"}, data
    assert data["message"] and isinstance(data["message"], str)
    assert "Traceback" not in text and 'File "' not in text
    if reason is not None:
        assert data["reason"] == reason, data
    return data


@pytest.fixture
def api(jp_fetch, overmind_token):
    """``await api(METHOD, *path, body=…)`` with the scoped token; errors are returned."""
    async def call(method: str, *path: str, body: Any = None, params: dict | None = None,
                   headers: dict | None = None, **kw: Any) -> HTTPResponse:
        if method == "POST" and body is None:
            body = {}
        data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        return await jp_fetch(*API, *path, method=method, body=data, params=params,
                              headers=headers or scoped(overmind_token), raise_error=False,
                              **kw)
    return call


async def test_every_route_refuses_requests_without_credentials(jp_fetch):
    operations = every_operation()
    assert len(operations) >= 12  # the table was read, not an empty loop
    for method, path in operations:
        for headers in (NO_JUPYTER, {**NO_JUPYTER, "X-Overmind-Token": "not-the-token"}):
            resp = await jp_fetch(*API, *path.split("/"), method=method,
                                  body="{}" if method == "POST" else None,
                                  headers=headers, raise_error=False)
            assert_json_error(resp, 403)


async def test_scoped_token_opens_overmind_routes_but_no_jupyter_endpoint(
        jp_fetch, overmind_token):
    resp = await jp_fetch(*API, "status", headers=scoped(overmind_token))
    assert resp.code == 200 and body_of(resp)["mode"] == "server"
    for endpoint in ("contents", "kernels", "sessions", "terminals"):
        refused = await jp_fetch("api", endpoint, headers=scoped(overmind_token),
                                 raise_error=False)
        assert refused.code == 403, (endpoint, refused.code)
        allowed = await jp_fetch("api", endpoint)  # the Jupyter token still works
        assert allowed.code == 200


async def test_jupyter_token_works_on_overmind_routes_and_posts_need_no_xsrf(jp_fetch,
                                                                             reaper):
    # jp_fetch sends `Authorization: token …` and no XSRF cookie or header
    resp = await jp_fetch(*API, "missions", method="POST",
                          body=json.dumps({"command": ["sleep", "30"], "name": "tok"}))
    assert resp.code == 201
    mission = body_of(resp)
    assert mission["status"] == "running" and alive(mission["pid"])
    stopped = await jp_fetch(*API, "missions", "tok", "stop", method="POST",
                             body=json.dumps({"force": True}))
    assert body_of(stopped)["status"] == "killed"  # force: SIGKILL at once
    assert not alive(mission["pid"])


async def test_authorizer_can_make_overmind_read_only_for_jupyter_users(
        jp_serverapp, jp_fetch, overmind_token, reaper):
    class ReadOnly(Authorizer):
        def is_authorized(self, handler, user, action, resource):
            return resource != "overmind" or action == "read"

    jp_serverapp.web_app.settings["authorizer"] = ReadOnly(parent=jp_serverapp)
    assert (await jp_fetch(*API, "missions")).code == 200
    refused = await jp_fetch(*API, "missions", method="POST", raise_error=False,
                             body=json.dumps({"command": ["sleep", "30"]}))
    assert "not allowed to write" in assert_json_error(refused, 403)["message"]
    assert body_of(await jp_fetch(*API, "missions"))["missions"] == []  # nothing started


@pytest.mark.parametrize(("body", "needle"), [
    ("{not json", "not JSON"),
    ("[1, 2", "not JSON"),
    ({"command": []}, "command"),
    ({"command": "sleep 1"}, "command"),
    ({"command": ["true"], "bogus": 1}, "bogus"),
    ({"command": ["true"], "50%off": 1}, "50%off"),  # a % in a message stays literal
    ({"command": ["true"], "restart": {"mode": "sometimes"}}, "restart.mode"),
    ({"command": ["true"], "grace_s": -1}, "grace_s"),
    ({"name": "x"}, "command"),
])
async def test_bad_run_bodies_are_400_json_naming_the_problem(api, engine, body, needle):
    resp = await api("POST", "missions", body=body)
    data = assert_json_error(resp, 400)
    assert needle in data["message"], data
    assert data["reason"] in ("bad-json", "invalid")
    assert await engine.ps(all=True) == []  # nothing was recorded


async def test_bad_query_and_engine_usage_errors_are_400_json(api, reaper):
    assert (await api("POST", "missions", body={"command": ["sleep", "30"],
                                                "name": "q"})).code == 201
    for tail in ("abc", "-1", "1.5"):
        resp = await api("GET", "missions", "q", "logs", params={"tail": tail})
        assert "tail" in assert_json_error(resp, 400, "invalid")["message"]
    taken = await api("POST", "missions", body={"command": ["sleep", "1"], "name": "q"})
    assert "already named q" in assert_json_error(taken, 400, "usage")["message"]
    bad_name = await api("POST", "missions", body={"command": ["true"], "name": "-x y"})
    assert "invalid mission name" in assert_json_error(bad_name, 400, "usage")["message"]
    no_input = await api("POST", "missions", "q", "send", body={"text": "hi"})
    assert "does not take input" in assert_json_error(no_input, 400, "usage")["message"]
    for body in ({}, {"text": "x", "more": 1}):
        assert_json_error(await api("POST", "missions", "q", "send", body=body), 400)
    bad_wait = await api("POST", "missions", "q", "wait", body={"timeout_s": -1})
    assert "timeout_s" in assert_json_error(bad_wait, 400, "invalid")["message"]
    await api("POST", "missions", "q", "stop", body={"force": True})


async def test_unknown_mission_is_404_json_with_a_close_match(api, reaper):
    assert (await api("POST", "missions", body={"command": ["sleep", "30"],
                                                "name": "builder"})).code == 201
    for method, path in [("GET", ()), ("GET", ("logs",)), ("POST", ("stop",)),
                         ("POST", ("kill",)), ("POST", ("wait",)), ("POST", ("send",))]:
        body = {"text": "x"} if path == ("send",) else None
        resp = await api(method, "missions", "buildr", *path, body=body)
        data = assert_json_error(resp, 404, "not-found")
        assert "no mission named buildr" in data["message"]
        assert "did you mean builder" in data["message"], data
    far = assert_json_error(await api("GET", "missions", "zzzzqqqq"), 404, "not-found")
    assert "overmind ps --all" in far["message"]  # no close match: says where to look
    await api("POST", "missions", "builder", "stop", body={"force": True})


async def test_run_wait_logs_info_stop_and_cascade_kill(api, reaper):
    script = "echo hello; echo there >&2; exit 3"
    created = await api("POST", "missions", body={"command": ["sh", "-c", script],
                                                  "name": "job"})
    assert created.code == 201
    done = body_of(await api("POST", "missions", "job", "wait", body={"timeout_s": 20}))
    assert done["status"] == "failed" and done["exit"]["returncode"] == 3
    logs = await api("GET", "missions", "job", "logs")
    assert logs.headers["Content-Type"].startswith("text/plain")
    assert logs.body.decode() == "hello\nthere\n"
    last = await api("GET", "missions", "job", "logs", params={"tail": "1"})
    assert last.body.decode() == "there\n"
    info = body_of(await api("GET", "missions", "job"))
    assert info["name"] == "job" and info["last_line"] == "there"
    assert info["command"] == ["sh", "-c", script] and info["children"] == []

    parent = body_of(await api("POST", "missions", body={"command": ["sleep", "60"],
                                                         "name": "tree"}))
    child = body_of(await api("POST", "missions", body={
        "command": ["sleep", "60"], "name": "leaf", "parent": "tree"}))
    solo = body_of(await api("POST", "missions", body={"command": ["sleep", "60"],
                                                       "name": "solo"}))
    assert child["parent"] == parent["id"]
    tree_info = body_of(await api("GET", "missions", "tree"))
    assert tree_info["children"] == [child["id"]] and tree_info["rss_bytes"] > 0
    live = {m["name"] for m in body_of(await api("GET", "missions"))["missions"]}
    assert live == {"tree", "leaf", "solo"}  # ended `job` only with all=1

    stopped = body_of(await api("POST", "missions", "solo", "stop"))
    assert stopped["status"] == "killed" and not alive(solo["pid"])  # SIGTERM ended it

    killed = body_of(await api("POST", "missions", "tree", "kill", body={"cascade": True}))
    assert [m["name"] for m in killed["missions"]] == ["leaf", "tree"]  # depth-first
    assert {m["status"] for m in killed["missions"]} == {"killed"}
    assert not alive(parent["pid"]) and not alive(child["pid"])
    everything = body_of(await api("GET", "missions", params={"all": "1"}))["missions"]
    assert {m["name"]: m["status"] for m in everything} == {
        "job": "failed", "tree": "killed", "leaf": "killed", "solo": "killed"}


async def test_logs_follow_streams_until_the_mission_ends(api, reaper):
    script = "for i in 1 2 3 4 5; do echo line $i; sleep 0.1; done"
    await api("POST", "missions", body={"command": ["sh", "-c", script], "name": "f"})
    chunks: list[bytes] = []
    resp = await api("GET", "missions", "f", "logs", params={"follow": "1"},
                     streaming_callback=chunks.append, request_timeout=20)
    assert resp.code == 200 and resp.headers["Content-Type"].startswith("text/plain")
    assert b"".join(chunks).decode() == "".join(f"line {i}\n" for i in range(1, 6))
    assert len(chunks) > 1  # it streamed rather than answering once at the end


async def test_send_writes_a_line_to_a_session_mission(api, reaper):
    code = "import sys; print('got', input(), flush=True)"
    await api("POST", "missions", body={"command": [sys.executable, "-c", code],
                                        "name": "chat", "kind": "session"})
    sent = await api("POST", "missions", "chat", "send", body={"text": "hello"})
    assert sent.code == 200 and body_of(sent)["name"] == "chat"
    done = body_of(await api("POST", "missions", "chat", "wait", body={"timeout_s": 20}))
    assert done["status"] == "exited"
    assert "got hello" in (await api("GET", "missions", "chat", "logs")).body.decode()


async def test_blueprints_apply_and_bad_blueprints_are_400(api, reaper, tmp_path):
    text = """
name = "stack"
[missions.first]
command = ["sh", "-c", "echo first"]
[missions.second]
command = ["sh", "-c", "echo second"]
depends_on = { first = "completed" }
"""
    resp = await api("POST", "blueprints", body={"text": text, "source": "stack.toml",
                                                 "base_dir": str(tmp_path)})
    assert resp.code == 201 and body_of(resp)["name"] == "stack"
    done = body_of(await api("POST", "missions", "stack", "wait", body={"timeout_s": 20}))
    assert done["status"] == "exited"
    assert (await api("GET", "missions", "second", "logs")).body == b"second\n"

    cycle = "[missions.a]\ncommand = 'true'\ndepends_on = ['b']\n" \
            "[missions.b]\ncommand = 'true'\ndepends_on = ['a']\n"
    bad = await api("POST", "blueprints", body={"text": cycle, "source": "loop.toml"})
    assert "cycle" in assert_json_error(bad, 400, "blueprint")["message"]
    broken = await api("POST", "blueprints", body={"text": "[missions", "source": "b.toml"})
    assert "not valid TOML" in assert_json_error(broken, 400, "blueprint")["message"]


async def test_shutdown_route_stops_missions_but_not_a_non_daemon_server(api, reaper):
    first = body_of(await api("POST", "missions", body={"command": ["sleep", "60"]}))
    second = body_of(await api("POST", "missions", body={"command": ["sleep", "60"]}))
    down = body_of(await api("POST", "shutdown"))
    assert down["server_stopping"] is False
    assert {m["status"] for m in down["missions"]} == {"killed"}
    assert not alive(first["pid"]) and not alive(second["pid"])
    assert (await api("GET", "status")).code == 200  # the server itself keeps serving


async def test_missions_are_stopped_when_the_server_stops(jp_serverapp, api, engine):
    created = body_of(await api("POST", "missions", body={"command": ["sleep", "60"],
                                                          "name": "bye"}))
    assert alive(created["pid"])
    await jp_serverapp.cleanup_extensions()  # what a stopping server does
    assert not alive(created["pid"])
    assert engine.store is None  # the store was closed
    store = Store(default_db_path(jp_serverapp.root_dir))
    try:
        assert store.get_mission(created["id"]).status.value == "killed"
        assert any(e["type"] == "engine-stopping" for e in store.read_events(limit=10_000))
    finally:
        store.close()


async def test_unstartable_environments_and_commands_fail_the_mission_with_a_reason(api):
    for body, reason in [
        ({"command": ["sleep", "1"], "env": {"A=B": "1"}}, "illegal environment variable"),
        ({"command": ["sleep", "1"], "kind": "session", "env": {"A=B": "1"}},
         "illegal environment variable"),
    ]:
        resp = await api("POST", "missions", body=body)
        assert resp.code == 201, resp.body  # recorded, then failed to start: not stuck
        mission = body_of(resp)
        assert mission["status"] == "failed" and mission["pid"] is None
        assert reason in mission["exit"]["reason"], mission["exit"]
        log = (await api("GET", "missions", mission["id"], "logs")).body.decode()
        assert "spawn failed" in log and reason in log
    for body in ({"command": ["sleep", "1"], "env": {"A": "x\x00y"}},
                 {"command": ["sleep\x001"]}):  # NUL never reaches a process: refused
        refused = assert_json_error(await api("POST", "missions", body=body), 400)
        assert "NUL character" in refused["message"]


async def test_paths_and_numbers_out_of_range_are_400_not_500(api, reaper):
    bad_cwd = await api("POST", "missions", body={"command": ["true"], "cwd": "a\x00b"})
    assert "NUL character" in assert_json_error(bad_cwd, 400, "bad-json")["message"]
    await api("POST", "missions", body={"command": ["sh", "-c", "echo one; echo two"],
                                        "name": "n"})
    await api("POST", "missions", "n", "wait", body={"timeout_s": 20})
    huge = await api("GET", "missions", "n", "logs", params={"tail": str(10 ** 30)})
    assert huge.code == 200 and huge.body == b"one\ntwo\n"
    for after in (str(2 ** 63), "²", "٣"):
        resp = await api("GET", "events", params={"after": after})
        assert "after must be a sequence number" in assert_json_error(resp, 400)["message"]
    for limit in ("²", "10001", "-1"):  # a clear error, not a silent default
        odd_limit = await api("GET", "events", params={"limit": limit})
        assert "limit" in assert_json_error(odd_limit, 400, "invalid")["message"]
