"""The OpenAPI 3.1 document of the host REST API, built from ``handlers.ROUTES``.

Request bodies come from the pydantic models in ``schemas.py``; each operation lists the
JSON error shape ``{"message", "reason"}``. A test checks that every route and method
of the handlers is documented here, and Schemathesis fuzzes the server with it.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from . import schemas
from .member_handlers import MemberPromptBody

ERROR = {"type": "object", "required": ["message", "reason"],
         "properties": {"message": {"type": "string"}, "reason": {"type": "string"}}}
MISSION = {"type": "object", "required": ["id", "name", "kind", "status"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
    "status": {"type": "string"}, "pid": {"type": ["integer", "null"]}}}
_REF = {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "id, id prefix or name"}

# path → method → (summary, request body model or None, query params, response schema)
OPERATIONS: dict[str, dict[str, tuple]] = {
    "/status": {"get": ("engine status", None, [], {"type": "object"})},
    "/missions": {
        "get": ("list missions (stats: live ones with last_line, cpu_percent, rss_bytes)",
                None, [("all", "boolean"), ("stats", "boolean")],
                {"type": "object", "properties": {"missions": {"type": "array",
                                                               "items": MISSION}}}),
        "post": ("start a mission", schemas.RunBody, [], MISSION)},
    "/missions/{ref}": {"get": ("mission details", None, [], MISSION)},
    "/missions/{ref}/logs": {"get": ("mission output (text/plain; follow streams)", None,
                                     [("tail", "integer"), ("follow", "boolean")], None)},
    "/missions/{ref}/send": {"post": ("send a line of input", schemas.SendBody, [], MISSION)},
    "/missions/{ref}/stop": {"post": ("stop: SIGTERM, grace, SIGKILL", schemas.StopBody, [],
                                      MISSION)},
    "/missions/{ref}/restart": {"post": ("end a live mission's process and run it again now",
                                         None, [], MISSION)},
    "/missions/{ref}/kill": {"post": ("SIGKILL (cascade: descendants first)", schemas.KillBody,
                                      [], {"type": "object"})},
    "/missions/{ref}/wait": {"post": ("wait until ended or timeout", schemas.WaitBody, [],
                                      MISSION)},
    "/missions/{ref}/attach": {"get": ("websocket: raw terminal of a session mission "
                                       "(binary frames both ways)", None, [], None)},
    "/blueprints": {"post": ("apply a blueprint", schemas.ApplyBody, [], MISSION)},
    "/events": {"get": ("events after a cursor (latest=1: the last `limit` of them)", None,
                        [("after", "integer"), ("limit", "integer"), ("latest", "boolean"),
                         ("mission", "string"),
                         ("objective", "string"), ("party", "string")], {"type": "object"})},
    "/agents": {"get": ("agents and whether they are installed", None, [],
                        {"type": "object"})},
    "/questions": {"get": ("open questions", None, [], {"type": "object"})},
    "/questions/{ref}/answer": {"post": ("answer a question", schemas.AnswerBody, [],
                                         {"type": "object"})},
    "/shutdown": {"post": ("stop every mission (and a daemon server)", None, [],
                           {"type": "object"})},
    "/openapi.json": {"get": ("this document", None, [], {"type": "object"})},
    "/party": {"get": ("hosted party (members, invites, queue) and joined parties", None, [],
                       {"type": "object"}),
               "post": ("host a party; answers its first invite", schemas.HostBody, [],
                        {"type": "object"})},
    "/party/invites": {"post": ("a new invite (its secret is shown only here)",
                                schemas.InviteBody, [], {"type": "object"})},
    "/party/invites/{ref}/revoke": {"post": ("revoke an invite", None, [], {"type": "object"})},
    "/party/members/{ref}": {"post": ("approve, deny, kick a member or set its role",
                                      schemas.MemberActionBody, [], {"type": "object"})},
    "/party/prompts": {"post": ("a prompt to the hosted or a joined party",
                                schemas.PartyPromptBody, [], {"type": "object"})},
    "/party/prompts/{ref}": {"post": ("approve, deny, share or move a prompt",
                                      schemas.PromptActionBody, [], {"type": "object"})},
    "/party/join": {"post": ("join another party with an invite", schemas.JoinBody, [],
                             {"type": "object"})},
    "/party/leave": {"post": ("leave a joined party", schemas.LeaveBody, [],
                              {"type": "object"})},
    "/party/close": {"post": ("close the hosted party", None, [], {"type": "object"})},
    "/party/me": {"get": ("the caller's view of the party as a member (hub collaborators)",
                          None, [], {"type": "object"})},
    "/party/me/prompts": {"post": ("a prompt queued as the caller (hub collaborators)",
                                   MemberPromptBody, [], {"type": "object"})},
    "/prompts": {"post": ("submit a prompt; answers its objective", schemas.PromptBody, [],
                          {"type": "object"})},
    "/objectives": {"get": ("objectives, oldest first", None, [], {"type": "object"})},
    "/objectives/{ref}": {"get": ("an objective with its tasks and changes", None, [],
                                  {"type": "object"})},
    "/objectives/{ref}/wait": {"post": ("wait until the objective has ended",
                                        schemas.WaitObjectiveBody, [], {"type": "object"})},
    "/objectives/{ref}/cancel": {"post": ("cancel an objective and its tasks", None, [],
                                          {"type": "object"})},
    "/changes": {"get": ("changes, oldest first", None, [("objective", "string")],
                         {"type": "object"})},
    "/changes/{ref}": {"get": ("a change", None, [], {"type": "object"})},
    "/changes/{ref}/diff": {"get": ("the change's unified diff (text/plain)", None,
                                    [("path", "string")], None)},
    "/changes/{ref}/files": {"get": ("the change's diff as data: files with stats and "
                                     "hunks, notebooks cell by cell", None, [],
                                     {"type": "object"})},
    "/changes/{ref}/request-changes": {"post": ("close the change; a follow-up task of its "
                                                "objective takes the review",
                                                schemas.RequestChangesBody, [],
                                                {"type": "object"})},
    "/changes/{ref}/merge": {"post": ("merge a change through the merge queue", None, [],
                                      {"type": "object"})},
    "/changes/{ref}/close": {"post": ("close a change", None, [], {"type": "object"})},
    "/changes/{ref}/reopen": {"post": ("reopen a closed change", None, [],
                                       {"type": "object"})},
    "/messages": {"get": ("the mailbox", None, [("to", "string")], {"type": "object"}),
                  "post": ("mail an agent or a member as the host", schemas.MessageBody, [],
                           {"type": "object"})},
}


def _operation(path: str, summary: str, body: Any, query: list, response: Any) -> dict:
    params = [_REF] if "{ref}" in path else []
    params += [{"name": n, "in": "query", "required": False,
                "schema": {"type": t, **({"minimum": 0} if t == "integer" else {})}}
               for n, t in query]
    ok: dict[str, Any] = {"description": "success"}
    if response is not None:
        ok["content"] = {"application/json": {"schema": response}}
    else:
        ok["content"] = {"text/plain": {"schema": {"type": "string"}}}
    errors = {str(code): {"description": text, "content": {
        "application/json": {"schema": ERROR}}} for code, text in (
        (400, "bad input"), (403, "not authenticated or not allowed"),
        (404, "unknown id"), (409, "invalid transition"))}
    op: dict[str, Any] = {"summary": summary, "parameters": params,
                          "responses": {"200": ok, "201": ok, **errors}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": body.model_json_schema(ref_template="#/components/schemas/{model}")}}}
    return op


def document() -> dict[str, Any]:
    """The OpenAPI document (paths relative to ``<base_url>overmind/api``)."""
    paths = {path: {method: _operation(path, *spec) for method, spec in ops.items()}
             for path, ops in OPERATIONS.items()}
    components: dict[str, Any] = {}
    for model in (schemas.RunBody, schemas.ApplyBody):
        components.update(model.model_json_schema(
            ref_template="#/components/schemas/{model}").get("$defs", {}))
    return {"openapi": "3.1.0",
            "info": {"title": "Overmind for Jupyter", "version": __version__},
            "servers": [{"url": "/overmind/api"}],
            "components": {"schemas": components,
                           "securitySchemes": {"overmindToken": {
                               "type": "apiKey", "in": "header", "name": "X-Overmind-Token"}}},
            "security": [{"overmindToken": []}], "paths": paths}
