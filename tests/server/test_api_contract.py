"""The engine contract (``api/``): the engine and the REST client implement it with the
same signatures, every operation of the table is served exactly once (generically or by
a named handler), requests carry exactly the method's arguments, and an operation added to
the table (``model_status``) works in process, over REST and in the kernel's router."""

from __future__ import annotations

import inspect
import json
import re
from typing import Protocol

import pytest
from tornado import web

from overmind_jupyter import api
from overmind_jupyter.client import Client
from overmind_jupyter.engine import Engine
from overmind_jupyter.errors import EngineUnavailable, InvalidRequest, NotFound, UsageError
from overmind_jupyter.server.routes import CUSTOM, ROUTES, OperationHandler

pytestmark = pytest.mark.timeout(60)

# written by hand on the client: answers the table cannot describe (raw, streamed, polled)
CLIENT_WRITTEN = {"ps_json", "follow", "wait"}
NOT_OPERATIONS = {"ps_json", "follow", "ensure_running"}  # methods with no route


def contract_methods() -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in vars(api.EngineAPI).items()
            if callable(fn) and not name.startswith("_")} | {
        name: inspect.signature(fn) for base in api.EngineAPI.__bases__
        if base is not Protocol
        for name, fn in vars(base).items() if callable(fn) and not name.startswith("_")}


def shape(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    """Names, kinds and defaults (annotations are strings under PEP 563; mypy checks them)."""
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("implementation", [Engine, Client])
def test_engine_and_client_have_every_contract_method_with_its_signature(implementation):
    methods = contract_methods()
    assert len(methods) >= 45
    for name, sig in methods.items():
        own = getattr(implementation, name)
        assert own is not getattr(api.EngineAPI, name), f"{implementation.__name__}.{name}"
        assert shape(inspect.signature(own)) == shape(sig), f"{implementation.__name__}.{name}"


def test_every_engine_operation_is_a_contract_method_and_back():
    methods = set(contract_methods())
    operations = {op.name for op in api.OPERATIONS if op.engine}
    assert operations == methods - NOT_OPERATIONS
    assert len({(op.method, op.path, op.when) for op in api.OPERATIONS}) == len(api.OPERATIONS)


def test_a_request_carries_exactly_its_methods_keyword_arguments():
    methods = contract_methods()
    for op in api.OPERATIONS:
        if not op.engine or op.params in (api.RunBody, api.EventsQuery):
            continue  # run(spec) is rebuilt from RunBody; events(**filters) takes any filter
        params = [p for p in methods[op.name].parameters if p != "self"]
        if op.takes_ref:
            params = params[1:]
        fields = set(op.params.model_fields) - set(op.params.wire_only)
        assert fields | set(op.params.local_only) == set(params), op.name


def test_each_path_is_served_by_the_table_or_by_its_named_handler():
    served = {path: handler for path, handler in ROUTES}
    assert len(served) == len(api.by_path())
    for path, ops in api.by_path().items():
        handler = served[path.replace("{ref}", r"(?P<ref>[^/]+)")]
        if path in CUSTOM and not issubclass(CUSTOM[path], OperationHandler):
            assert handler is CUSTOM[path]
            continue
        assert issubclass(handler, OperationHandler) and set(handler.ops) == set(ops)
        for method in ("get", "post"):
            stub = getattr(handler, method) is getattr(web.RequestHandler, method)
            assert stub == (method.upper() not in {op.method for op in ops}), (path, method)
    assert set(CUSTOM) <= set(api.by_path())


async def test_the_client_validates_arguments_before_any_request():
    client = Client("http://127.0.0.1:9/", "t")  # nothing listens: a request would fail
    with pytest.raises(InvalidRequest, match="ttl_s"):
        await client.invite(ttl_s=-1)
    with pytest.raises(InvalidRequest, match="text"):
        await client.answer("q1", "")
    with pytest.raises(EngineUnavailable):  # a valid call does reach for the server
        await client.answer("q1", "yes")


SECRET = "sk-test-never-shown-0123456789"
LOCAL = "openai:qwen2.5-coder-1.5b@http://127.0.0.1:8091/v1"


async def test_model_status_names_the_model_and_never_its_key(tmp_path):
    engine = Engine(tmp_path, provider_env={"OPENAI_API_KEY": SECRET, "OVERMIND_MODEL": LOCAL})
    status = await engine.model_status()
    assert status["configured"] and status["provider"] == "openai"
    assert status["name"] == "qwen2.5-coder-1.5b"
    assert status["endpoint"] == "http://127.0.0.1:8091/v1" and status["key_set"]
    assert "OVERMIND_MODEL" in status["settings"] and SECRET not in json.dumps(status)
    await engine.start()
    try:
        served = await api.dispatch(engine, "GET", "model", {})  # the kernel's router
    finally:
        await engine.close()
    assert served == status


async def test_model_status_without_a_model_says_what_to_set(tmp_path, monkeypatch):
    for name in ("OVERMIND_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY",
                 "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    status = await Engine(tmp_path, provider_env={}).model_status()
    assert not status["configured"] and status["model"] is None
    assert re.search(r"set OVERMIND_MODEL", status["problem"])


async def test_model_status_over_rest_is_the_derived_client_method(
        http_server_client, jp_http_port, jp_base_url, overmind_token, jp_serverapp):
    client = Client(f"http://127.0.0.1:{jp_http_port}{jp_base_url}", overmind_token)
    engine = jp_serverapp.web_app.settings["overmind_engine"]
    assert await client.model_status() == await engine.model_status()


async def test_the_kernel_router_refuses_unknown_routes_bad_bodies_and_a_stopped_engine(
        tmp_path):
    engine = Engine(tmp_path)
    with pytest.raises(EngineUnavailable, match="engine is new"):
        await api.dispatch(engine, "GET", "party", {})
    await engine.start()
    try:
        await refusals(engine)
    finally:
        await engine.close()
    with pytest.raises(EngineUnavailable, match="engine is closed"):
        await api.dispatch(engine, "GET", "party", {})
    with pytest.raises(UsageError, match="start a new Engine"):
        await engine.start()


async def refusals(engine: Engine) -> None:
    with pytest.raises(NotFound, match="no Overmind route GET 'nope'"):
        await api.dispatch(engine, "GET", "nope", {})
    with pytest.raises(NotFound):  # served by the server only
        await api.dispatch(engine, "POST", "missions", {}, {"command": ["true"]})
    with pytest.raises(InvalidRequest, match="JSON object"):
        await api.dispatch(engine, "POST", "party/invites", {}, ["x"])
    with pytest.raises(InvalidRequest, match="role"):
        await api.dispatch(engine, "POST", "party/invites", {}, {"role": "admin"})
