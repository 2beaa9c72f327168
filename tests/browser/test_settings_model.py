"""Settings → Overmind in JupyterLab's Settings Editor says which model answers, live from
the server (issue 17): the description of the plugin's settings begins with the status of
``GET model`` (``labextension/src/settingsmodel.ts``, a ``fetch`` transform of the setting
registry). Two servers: ``lab`` has a real model configured (``OVERMIND_MODEL``, an
OpenAI-compatible endpoint, and a provider key the page must never show); ``bare_lab`` has
none, and the page says which server-side setting to set. When the status cannot be read
the description says so and the settings load all the same; after the next reconnect the
open editor shows the status.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from jupyter_process import JupyterProcess
from lab_driver import NO_PROVIDER, TIMEOUT_MS, command, screenshot, serving, start_lab
from playwright.sync_api import Locator, Page, WebSocketRoute, expect
from test_party_panel import pump_until
from test_sidebar_prompt import NO_MODEL, SECRET, key_like

from overmind_jupyter.testing.repos import make_repo

pytestmark = pytest.mark.timeout(180)

MODEL = "openai:gpt-4.1-mini@http://127.0.0.1:9/v1"  # nothing listens: never called here
MODEL_ROUTE = re.compile(r".*/overmind/api/model(\?.*)?$")
EVENTS_ROUTE = re.compile(r".*/overmind/api/events(\?.*)?$")
STATUS = "Model status (live from the server): "


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterProcess]:
    """A real model (an OpenAI-compatible endpoint) and its key, set on the server."""
    base = tmp_path_factory.mktemp("settings-model")
    make_repo(base / "root", {"README.md": "a project\n"})
    with serving(start_lab(base / "root", base / "home", env={
            **NO_PROVIDER, "OVERMIND_MODEL": MODEL, "OPENAI_API_KEY": SECRET})) as server:
        yield server


def overmind_settings(page: Page, lab: JupyterProcess) -> Locator:
    """JupyterLab's Settings Editor open at Overmind; its description, once shown."""
    page.goto(f"{lab.url}lab?reset&token={lab.jupyter_token}")
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=60_000)
    command(page, "settingeditor:open", {"query": "Overmind"})
    header = page.locator(".jp-SettingsHeader").filter(
        has=page.locator(".jp-SettingsHeader-title", has_text=re.compile("^Overmind$")))
    expect(header).to_be_visible(timeout=TIMEOUT_MS)
    return header.locator(".jp-SettingsHeader-description")


def test_the_settings_say_which_model_answers_and_never_its_key(lab: JupyterProcess,
                                                               page: Page):
    model = lab.api("GET", "model")
    assert model["configured"] and model["name"] == "gpt-4.1-mini" and key_like(model) == []
    description = overmind_settings(page, lab)
    expect(description).to_contain_text(
        f"{STATUS}answers: gpt-4.1-mini at http://127.0.0.1:9/v1 (real model).")
    expect(description).to_contain_text("OVERMIND_MODEL")  # where it is set, as before
    form = page.locator(".jp-SettingsPanel")
    expect(form.get_by_label("Hold changes for review")).to_be_visible()
    screenshot(page, "settings-model")
    assert SECRET not in page.content()


def test_without_a_model_the_settings_say_which_server_setting_to_set(
        bare_lab: JupyterProcess, page: Page):
    assert not bare_lab.api("GET", "model")["configured"]
    description = overmind_settings(page, bare_lab)
    expect(description).to_contain_text(f"{STATUS}{NO_MODEL}.")
    assert description.text_content().startswith(STATUS)  # first, before the help
    screenshot(page, "settings-no-model")


def test_an_unreachable_status_is_said_then_read_again_after_a_reconnect(
        lab: JupyterProcess, page: Page):
    asked: list[str] = []
    page.route(MODEL_ROUTE, lambda route: (asked.append(route.request.url), route.abort()))
    sockets: list[WebSocketRoute] = []  # the sidebar's event websocket, to drop it later

    def through(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        ws.connect_to_server()
    page.route_web_socket(EVENTS_ROUTE, through)
    description = overmind_settings(page, lab)
    expect(description).to_contain_text(re.compile(
        r"^Model status unavailable: .+ It is read again once the server answers; the "
        r"model is set there \(OVERMIND_MODEL or c\.Overmind\.model\)\."))
    assert asked  # the status was asked for, and failed
    hold = page.locator(".jp-SettingsPanel").get_by_label("Hold changes for review")
    expect(hold).to_be_checked()  # the settings loaded: the default shows
    screenshot(page, "settings-model-unavailable")

    page.unroute(MODEL_ROUTE)  # the server answers again, after a dropped connection
    pump_until(page, lambda: sockets, "the sidebar's event websocket")
    sockets[-1].close(code=1001, reason="going away")
    expect(description).to_contain_text(  # in the open editor: no reload, no reopening
        f"{STATUS}answers: gpt-4.1-mini at http://127.0.0.1:9/v1 (real model).",
        timeout=TIMEOUT_MS)
    assert len(sockets) >= 2  # it reconnected
    assert SECRET not in page.content()
