"""The OpenAPI 3.1 document of the host REST API, derived from ``api.OPERATIONS``.

Request bodies and query parameters come from each operation's request model, answers
from its result codec; each operation lists the JSON error shape ``{"message",
"reason"}``. Schemathesis fuzzes the server with it.
"""

from __future__ import annotations

from typing import Any

from .. import api
from .._version import __version__

ERROR = {"type": "object", "required": ["message", "reason"],
         "properties": {"message": {"type": "string"}, "reason": {"type": "string"}}}
_REF = {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "id, id prefix or name"}
_REFS = "#/components/schemas/{model}"
_ERRORS = ((400, "bad input"), (403, "not authenticated or not allowed"),
           (404, "unknown id"), (409, "invalid transition"))


def _query(op: api.Operation) -> list[dict[str, Any]]:
    """Query parameters of a GET from its request model (a ``when`` flag included)."""
    if op.method != "GET":
        return []
    schema = op.params.model_json_schema(ref_template=_REFS, by_alias=True)
    return [{"name": name, "in": "query", "required": name == op.when,
             "schema": _plain(prop)} for name, prop in schema.get("properties", {}).items()]


def _plain(prop: dict[str, Any]) -> dict[str, Any]:
    """A property schema without pydantic's ``title`` and ``default: null`` noise."""
    return {k: v for k, v in prop.items() if k != "title"}


def _answer(op: api.Operation) -> dict[str, Any]:
    media = op.result.media
    if media is api.Media.WEBSOCKET:
        return {"description": "switching protocols (websocket)"}
    if media is api.Media.JSON:
        return {"description": "success", "content": {"application/json": {
            "schema": op.result.schema}}}
    return {"description": "success", "content": {"text/plain": {"schema": {
        "type": "string"}}}}


def _operation(op: api.Operation) -> dict[str, Any]:
    errors = {str(code): {"description": text, "content": {
        "application/json": {"schema": ERROR}}} for code, text in _ERRORS}
    found: dict[str, Any] = {
        "operationId": op.name, "summary": op.summary,
        "parameters": ([_REF] if op.takes_ref else []) + _query(op),
        "responses": {str(op.status): _answer(op), **errors}}
    if op.method == "POST":
        found["requestBody"] = {"required": op.params is not api.NoParams, "content": {
            "application/json": {"schema": _body_schema(op.params)}}}
    return found


def _body_schema(model: type[api.Params]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REFS, by_alias=True)
    schema.pop("$defs", None)
    return schema


def _merge(into: dict[str, Any], op: api.Operation) -> None:
    """Operations sharing a path and method (selected by a query flag) document as one."""
    method = op.method.lower()
    if method not in into:
        into[method] = _operation(op)
        return
    known = {p["name"] for p in into[method]["parameters"]}
    into[method]["parameters"] += [{**p, "required": False} for p in _query(op)
                                   if p["name"] not in known]
    into[method]["summary"] += f"; {op.when}=1: {op.summary}"


def document() -> dict[str, Any]:
    """The OpenAPI document (paths relative to ``<base_url>overmind/api``)."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {}
    for op in sorted(api.OPERATIONS, key=lambda o: o.when is not None):
        _merge(paths.setdefault("/" + op.path, {}), op)
        components.update(op.params.model_json_schema(
            ref_template=_REFS, by_alias=True).get("$defs", {}))
    return {"openapi": "3.1.0",
            "info": {"title": "Overmind for Jupyter", "version": __version__},
            "servers": [{"url": "/overmind/api"}],
            "components": {"schemas": components,
                           "securitySchemes": {"overmindToken": {
                               "type": "apiKey", "in": "header", "name": "X-Overmind-Token"}}},
            "security": [{"overmindToken": []}], "paths": dict(sorted(paths.items()))}
