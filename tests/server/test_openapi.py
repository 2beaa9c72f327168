"""The OpenAPI document matches the routes, and Schemathesis finds no 5xx in a real server."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from jupyter_process import JupyterProcess
from schemathesis.generation import GenerationMode
from tornado import web

from overmind_jupyter.server.openapi import document
from overmind_jupyter.server.routes import ROUTES

pytestmark = pytest.mark.timeout(120)

METHODS = ("get", "post", "put", "patch", "delete")
FUZZ_EXAMPLES = 25  # per operation and generation mode


def implemented(handler: type) -> set[str]:
    """HTTP methods a handler class implements (tornado's stubs excluded)."""
    return {m for m in METHODS if getattr(handler, m) is not getattr(web.RequestHandler, m)}


def routes() -> dict[str, set[str]]:
    """``/path/{param}`` → methods, from the tornado URL table."""
    return {"/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path): implemented(handler)
            for path, handler in ROUTES}


def test_every_route_and_method_is_documented_and_nothing_more():
    table = routes()
    assert "/missions/{ref}/logs" in table and table["/missions"] == {"get", "post"}
    documented = {path: set(ops) for path, ops in document()["paths"].items()}
    assert documented == table


def test_documented_path_parameters_match_the_path():
    for path, ops in document()["paths"].items():
        in_path = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == in_path, (method, path)


async def test_served_document_is_the_document(jp_fetch, overmind_token):
    resp = await jp_fetch("overmind", "api", "openapi.json",
                          headers={"X-Overmind-Token": overmind_token, "Authorization": ""})
    assert resp.code == 200
    assert json.loads(resp.body) == json.loads(json.dumps(document()))


@pytest.fixture
def fuzz_server(tmp_path: Path):
    """A real server whose PATH is an empty directory (see ``test_no_operation_answers_5xx``)."""
    root, empty = tmp_path / "root", tmp_path / "empty-path"
    root.mkdir()
    empty.mkdir()
    server = JupyterProcess(root, tmp_path / "home", env={"PATH": str(empty)}).start()
    yield server
    assert server.reap() == []


def _make_harmless(case: schemathesis.Case) -> None:
    """Pin what decides which program runs; every other field stays fuzzed.

    Generated ``command`` values would run on this machine, so POST /missions always runs
    ``python -c pass`` (absolute path) as a plain command without restarts; its name, cwd,
    env, parent, grace and timeouts are still generated. The server's PATH is an empty
    directory, so nothing else Schemathesis could name (a blueprint's command, an agent
    CLI) can be found either. A hub target's URL is pinned to a closed local port (its
    doctor then fails at once, as for a hub that is down). Long polls are capped so the
    run stays short; /shutdown is excluded because it would stop the missions other
    operations work on.
    """
    path, body = case.operation.path, case.body
    if path == "/missions" and case.method.upper() == "POST" and isinstance(body, dict):
        body["command"] = [sys.executable, "-c", "pass"]
        if body.get("kind") not in ("command", "session"):
            body["kind"] = "command"
        if isinstance(body.get("restart"), dict):
            body["restart"]["mode"] = "never"
    if path == "/missions/{ref}/wait" and isinstance(body, dict) \
            and isinstance(body.get("timeout_s"), (int, float)):
        body["timeout_s"] = min(body["timeout_s"], 1)
    if path == "/targets" and case.method.upper() == "POST" and isinstance(body, dict) \
            and isinstance(body.get("url"), str):
        body["url"] = "http://127.0.0.1:9/"  # a hub that refuses at once: no DNS, no wait
    if path == "/missions/{ref}/logs" and isinstance(case.query, dict):
        case.query.pop("follow", None)


def test_no_operation_answers_5xx_and_errors_are_json(fuzz_server):
    served = fuzz_server.api("GET", "openapi.json")
    schema = schemathesis.openapi.from_dict(served).exclude(path="/shutdown")
    base_url = fuzz_server.url + "overmind/api"
    headers = {"X-Overmind-Token": fuzz_server.token}
    problems: list[str] = []
    calls: dict[str, int] = {}

    def check(case: schemathesis.Case) -> None:
        _make_harmless(case)
        resp = case.call(base_url=base_url, headers=headers, timeout=30)
        label = f"{case.method.upper()} {case.operation.path}"
        calls[label] = calls.get(label, 0) + 1
        if resp.status_code >= 500:
            problems.append(f"{resp.status_code} from {case.as_curl_command()}: {resp.text}")
        elif resp.status_code >= 400:
            try:
                body = resp.json()
                assert set(body) == {"message", "reason"} and "Traceback" not in resp.text
            except (ValueError, AssertionError):
                problems.append(f"{resp.status_code} not JSON {{message, reason}} from "
                                f"{case.as_curl_command()}: {resp.text[:300]}")

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(m) for m in routes().values()) - 1  # all but shutdown
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case: schemathesis.Case) -> None:
                check(case)
            fuzz()
    assert not problems, "\n".join(problems[:20])
    assert len(calls) == len(operations)  # every operation was exercised
    assert fuzz_server.proc.poll() is None  # and the server is still up
