"""Overmind in a single-user server of a real JupyterHub (``server/hub.py``), through the proxy.

alice owns the server and hosts; bob reaches it through JupyterHub 5 sharing and is a party
member named by his hub name (never the host); carol has no share and gets nothing. The
REST API, the event websocket, kernels' and the CLI's discovery all work under
``/user/alice/``. The last test drives it all from Chromium as bob.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from hub_harness import Hub, run_in_kernel
from jupyter_process import Response
from lab_driver import TIMEOUT_MS, command, open_sidebar, screenshot
from playwright.sync_api import Browser, Page, expect
from tornado import httpclient, websocket
from tornado.web import RequestHandler

from overmind_jupyter.server.member_handlers import MEMBER_ROUTES
from overmind_jupyter.server.routes import ROUTES

pytestmark = pytest.mark.timeout(180)

API = "user/alice/overmind/api/"
LAB_LOAD_MS = 120_000  # JupyterLab on a busy 2-core machine


def call(hub: Hub, token: str, method: str, path: str, body: Any = None) -> Response:
    """An Overmind REST call to alice's server through the proxy with a hub token."""
    if body is None and method == "POST":
        body = {}
    return hub.request(method, API + path, body, token)


def host_only_operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every Overmind route but the member routes (``x`` as a ref)."""
    members = {handler for _, handler in MEMBER_ROUTES}
    return [(m.upper(), path.replace("(?P<ref>[^/]+)", "x")) for path, handler in ROUTES
            if handler not in members for m in ("get", "post")
            if getattr(handler, m) is not getattr(RequestHandler, m)]


@pytest.fixture
def hosted(hub: Hub, tokens: dict[str, str]) -> dict[str, Any]:
    """alice's party is open (hosted now if it is not); returns alice's view of it."""
    if call(hub, tokens["alice"], "GET", "party").json()["hosting"] is None:
        opened = call(hub, tokens["alice"], "POST", "party", {"name": "alice"})
        assert opened.status == 201, opened.text
    return call(hub, tokens["alice"], "GET", "party").json()["hosting"]


def events_socket_frame(hub: Hub, token: str) -> dict[str, Any]:
    """The first frame of the event websocket of alice's server, opened through the proxy."""
    async def first() -> dict[str, Any]:
        req = httpclient.HTTPRequest(f"ws://127.0.0.1:{hub.port}/{API}events?after=0",
                                     headers={"Authorization": f"token {token}"})
        conn = await asyncio.wait_for(websocket.websocket_connect(req), 20)
        try:
            return json.loads(await asyncio.wait_for(conn.read_message(), 20))
        finally:
            conn.close()
    return asyncio.run(first())


def test_the_owner_uses_every_kind_of_route_under_the_hub_base_url(hub, tokens):
    status = call(hub, tokens["alice"], "GET", "status")
    assert status.status == 200, status.text
    assert status.json()["root"] == str((hub.home / "homes" / "alice").resolve())
    events = call(hub, tokens["alice"], "GET", "events?after=0").json()
    assert events["events"][0]["type"] == "engine-started"
    frame = events_socket_frame(hub, tokens["alice"])  # websocket through the proxy
    assert frame["type"] == "events" and frame["events"][0]["type"] == "engine-started"
    assert call(hub, tokens["alice"], "GET", "openapi.json").json()["openapi"] == "3.1.0"


KERNEL_CODE = """
import json, os, subprocess, sys
found = subprocess.run([sys.executable, "-m", "overmind_jupyter.cli", "status", "--json"],
                       capture_output=True, text=True, timeout=60)
print(json.dumps({"url": os.environ.get("OVERMIND_URL"), "status": found.stdout,
                  "error": found.stderr}))
"""


def test_kernels_and_the_cli_find_the_engine_of_the_hub_server(hub, tokens):
    status = call(hub, tokens["alice"], "GET", "status").json()
    seen = json.loads(run_in_kernel(hub, tokens["alice"], KERNEL_CODE))
    assert seen["url"].endswith("/user/alice/"), seen
    assert json.loads(seen["status"] or "{}").get("pid") == status["pid"], seen["error"]
    home = hub.home / "homes" / "alice"
    terminal_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("OVERMIND_", "JUPYTER"))} | {"HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "overmind_jupyter.cli", "status", "--json"],
                          cwd=home, env=terminal_env, capture_output=True, text=True,
                          timeout=60)  # no OVERMIND_*: the CLI reads the runtime file
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout)["pid"], json.loads(done.stdout)["mode"]) == (
        status["pid"], "server")


def test_a_shared_hub_user_is_refused_on_every_host_route(hub, tokens, hosted):
    refused = {}
    for method, path in host_only_operations():
        resp = call(hub, tokens["bob"], method, path)
        refused[(method, path)] = (resp.status, resp.json().get("reason"))
    assert set(refused.values()) == {(403, "party-member")}, refused
    with pytest.raises(httpclient.HTTPClientError) as refused_ws:
        events_socket_frame(hub, tokens["bob"])
    assert refused_ws.value.code == 403


def test_a_shared_hub_user_takes_part_as_a_collaborator_named_by_the_hub(hub, tokens, hosted):
    me = call(hub, tokens["bob"], "GET", "party/me")
    assert me.status == 200, me.text
    assert {k: me.json()["me"][k] for k in ("name", "role", "state")} == {
        "name": "bob", "role": "collaborator", "state": "approved"}
    sent = call(hub, tokens["bob"], "POST", "party/me/prompts", {"text": "a README badge"})
    assert sent.status == 201, sent.text
    assert (sent.json()["name"], sent.json()["text"]) == ("bob", "a README badge")
    host_view = call(hub, tokens["alice"], "GET", "party").json()["hosting"]
    bob = [m for m in host_view["members"] if m["name"] == "bob"]
    assert [(m["source"], m["hub_user"], m["role"]) for m in bob] == [("hub", "bob",
                                                                      "collaborator")]
    assert {(p["name"], p["text"]) for p in host_view["prompts"]} >= {("bob", "a README badge")}
    events = call(hub, tokens["alice"], "GET", f"events?party={hosted['party']['id']}").json()
    joined = [e["data"] for e in events["events"] if e["type"] == "member-joined"]
    assert {(d["name"], d["source"]) for d in joined} >= {("bob", "hub")}


def test_with_no_party_open_a_hub_user_is_told_whom_to_ask(hub, tokens):
    if call(hub, tokens["alice"], "GET", "party").json()["hosting"] is not None:
        assert call(hub, tokens["alice"], "POST", "party/close").status == 200
    for method, path in (("GET", "party/me"), ("POST", "party/me/prompts")):
        resp = call(hub, tokens["bob"], method, path, {"text": "hi"} if method == "POST"
                    else None)
        assert (resp.status, resp.json()["reason"]) == (409, "no-party"), resp.text
        assert "ask alice to host one" in resp.json()["message"]


def test_a_hub_user_without_the_share_gets_nothing(hub, tokens, hosted):
    for path in (API + "party/me", API + "status", "user/alice/api/contents",
                 "user/alice/lab"):
        assert hub.request("GET", path, token=tokens["carol"]).status == 403, path
    assert all(m["name"] != "carol" for m in
               call(hub, tokens["alice"], "GET", "party").json()["hosting"]["members"])


def restart_with_drop_in(hub: Hub, settings: dict[str, Any] | None) -> None:
    """Restart alice's server with (or without) an Overmind drop-in file in her config."""
    drop_in = hub.home / "homes" / "alice" / ".jupyter" / "jupyter_server_config.d" / \
        "overmind-site.json"
    hub.stop_server("alice")
    if settings is None:
        drop_in.unlink(missing_ok=True)
    else:
        drop_in.parent.mkdir(parents=True, exist_ok=True)
        drop_in.write_text(json.dumps({"Overmind": settings}))
    hub.spawn("alice")


def test_a_drop_in_config_makes_hub_users_pending_viewers(hub, tokens, hosted):
    restart_with_drop_in(hub, {"hub_member_role": "viewer",
                               "hub_members_need_approval": True})
    try:
        call(hub, tokens["alice"], "POST", "party/close")
        assert call(hub, tokens["alice"], "POST", "party", {"name": "alice"}).status == 201
        me = call(hub, tokens["bob"], "GET", "party/me").json()["me"]
        assert (me["role"], me["state"]) == ("viewer", "pending")
        approved = call(hub, tokens["alice"], "POST", f"party/members/{me['id']}",
                        {"action": "approve"})
        assert approved.status == 200, approved.text
        refused = call(hub, tokens["bob"], "POST", "party/me/prompts", {"text": "may I?"})
        assert (refused.status, refused.json()["reason"]) == (403, "forbidden"), refused.text
    finally:
        restart_with_drop_in(hub, None)
        call(hub, tokens["alice"], "POST", "party/close")  # the next party: defaults again


# -- in Chromium -------------------------------------------------------------------------
def login(page: Page, hub: Hub, user: str) -> None:
    """Log ``user`` in through the hub's login form."""
    page.goto(f"{hub.url}hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    page.wait_for_url("**/hub/**")


def open_shared_lab(page: Page, hub: Hub) -> None:
    """Open alice's JupyterLab, confirming the hub's OAuth page if it asks."""
    page.goto(f"{hub.url}user/alice/lab")
    authorize = page.get_by_role("button", name="Authorize")  # the hub's consent page
    sidebar_tab = page.locator('.lm-TabBar-tab[data-id="overmind-sidebar"]')
    expect(authorize.or_(sidebar_tab).first).to_be_visible(timeout=LAB_LOAD_MS)
    if authorize.is_visible():
        authorize.click()
    try:
        expect(sidebar_tab).to_be_visible(timeout=LAB_LOAD_MS)
    except AssertionError:
        screenshot(page, "hub-no-sidebar")
        raise


PAGE_FETCH = """async ([method, path, body]) => {
  const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
  const xsrf = document.cookie.split('; ').find(c => c.startsWith('_xsrf='));
  const headers = {'Content-Type': 'application/json'};
  if (xsrf) headers['X-XSRFToken'] = decodeURIComponent(xsrf.slice(6));
  const r = await fetch(config.baseUrl + 'overmind/api/' + path, {method, headers,
    body: body === null ? undefined : JSON.stringify(body), credentials: 'same-origin'});
  return [r.status, await r.json()];
}"""


def page_call(page: Page, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """An Overmind REST call from the page, with its hub login cookie and ``_xsrf``."""
    status, data = page.evaluate(PAGE_FETCH, [method, path, body])
    return status, data


def submit_prompt_in_the_ui(page: Page, text: str) -> None:
    """``Overmind: New prompt…`` (``overmind:new-prompt``): fill the dialog, submit."""
    command(page, "overmind:new-prompt")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("textarea.om-form-input").fill(text)
    dialog.locator(".jp-mod-accept").click()
    expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)


def test_bob_opens_alices_lab_through_the_hub_and_submits_a_prompt(hub, tokens, hosted,
                                                                    browser: Browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("close", lambda _: print("browser errors:", *errors, sep="\n  "))
        login(page, hub, "bob")
        open_shared_lab(page, hub)
        config = json.loads(page.locator("#jupyter-config-data").text_content() or "{}")
        assert (config["hubUser"], config["hubServerUser"]) == ("bob", "alice")
        panel = open_sidebar(page)
        member_view = panel.locator(".om-party-member")
        expect(member_view).to_contain_text("you are a collaborator in alice's party",
                                            timeout=TIMEOUT_MS)
        submit_prompt_in_the_ui(page, "typo fixes from the browser")
        expect(member_view.get_by_label("your prompts")).to_contain_text(
            "typo fixes from the browser", timeout=TIMEOUT_MS)
        screenshot(page, "hub-bob-in-alices-lab")
        refused = page_call(page, "GET", "missions")  # with bob's own cookie and _xsrf
        assert (refused[0], refused[1]["reason"]) == (403, "party-member")
    finally:
        context.close()
    host_view = call(hub, tokens["alice"], "GET", "party").json()["hosting"]
    assert ("bob", "typo fixes from the browser") in {(p["name"], p["text"])
                                                      for p in host_view["prompts"]}


def test_carol_without_the_share_cannot_open_alices_lab(hub, browser: Browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        login(page, hub, "carol")
        answer = page.goto(f"{hub.url}user/alice/lab")
        assert answer is not None and answer.status == 403
        expect(page.locator(".lm-TabBar-tab")).to_have_count(0)
        screenshot(page, "hub-carol-refused")
    finally:
        context.close()
