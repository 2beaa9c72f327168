"""The host REST routes the views call with ``Backend.call``, served in the kernel.

With an engine embedded in the kernel there is no Jupyter server to answer the views'
REST calls, so the comm bridge (``bridge.py``, method ``request``) answers them here with
the same paths and the same JSON as the server's handlers (``server/work_handlers.py``,
``server/party_handlers.py``). Each route is ``(HTTP method, path pattern, handler)``;
a handler gets the engine interface and the parsed ``Request``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import NotFound, UsageError


@dataclass
class Request:
    """One view call: ``ref`` (the ``{ref}`` path part, unquoted), ``query`` and ``body``."""

    ref: str = ""
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Any, Request], Awaitable[Any]]


def _keyed(key: str, fn: Callable[[Any, Request], Awaitable[Any]]) -> Handler:
    """A handler answering ``{key: <fn's result>}`` (the REST list shape)."""
    async def handler(api: Any, req: Request) -> Any:
        return {key: await fn(api, req)}
    return handler


def _int(req: Request, name: str, default: int) -> int:
    raw = req.query.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()):
        raise UsageError(f"{name} must be an integer ≥ 0, not {raw!r}")
    return int(raw)


async def _events(api: Any, req: Request) -> dict[str, Any]:
    """``GET events?after=&limit=&mission=&objective=&party=`` (``server/events_ws.py``)."""
    after = _int(req, "after", 0)
    filters = {k: v for k in ("mission", "objective", "party") if (v := req.query.get(k))}
    events = await api.events(after=after, limit=min(_int(req, "limit", 1000), 10_000),
                              **filters)
    return {"events": events, "last_seq": events[-1]["seq"] if events else after}


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "events", _events),
    ("GET", "missions", _keyed("missions", lambda api, r: api.ps_stats(
        all=r.query.get("all", "0").lower() in ("1", "true", "yes")))),  # stats always
    ("POST", "missions/{ref}/restart", lambda api, r: api.restart(r.ref)),
    ("GET", "objectives", _keyed("objectives", lambda api, r: api.objectives())),
    ("GET", "objectives/{ref}", lambda api, r: api.objective(r.ref)),
    ("POST", "objectives/{ref}/cancel", lambda api, r: api.cancel_objective(r.ref)),
    ("GET", "changes", _keyed("changes", lambda api, r: api.changes(r.query.get("objective")))),
    ("GET", "changes/{ref}", lambda api, r: api.change(r.ref)),
    ("GET", "changes/{ref}/diff", lambda api, r: api.diff(r.ref, r.query.get("path"))),
    ("GET", "changes/{ref}/files", lambda api, r: api.change_files(r.ref)),
    ("POST", "changes/{ref}/request-changes",
     lambda api, r: api.request_changes(r.ref, str(r.body.get("text", "")))),
    ("POST", "changes/{ref}/merge", lambda api, r: api.merge(r.ref)),
    ("POST", "changes/{ref}/close", lambda api, r: api.close_change(r.ref)),
    ("POST", "changes/{ref}/reopen", lambda api, r: api.reopen_change(r.ref)),
    ("GET", "party", lambda api, r: api.party_status()),
    ("POST", "party/invites", lambda api, r: api.invite(
        float(r.body.get("ttl_s", 86_400.0)), str(r.body.get("role", "collaborator")))),
    ("POST", "party/invites/{ref}/revoke", lambda api, r: api.revoke_invite(r.ref)),
    ("POST", "party/members/{ref}", lambda api, r: api.member_action(
        r.ref, str(r.body.get("action", "")), r.body.get("role"))),
    ("POST", "party/prompts/{ref}", lambda api, r: api.prompt_action(
        r.ref, str(r.body.get("action", "")), r.body.get("position"))),
]


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(path).replace(r"\{ref\}", "(?P<ref>[^/]+)") + "$")


_COMPILED = [(method, _pattern(path), handler) for method, path, handler in ROUTES]


async def request(api: Any, method: str, path: str, body: Any = None) -> Any:
    """Serve one view call as the REST API would.

    Args:
        api: the engine interface (``Engine`` or ``Client``).
        method: ``GET`` / ``POST`` / ``DELETE``.
        path: relative to ``overmind/api/``, with an optional query string.
        body: the JSON body (a dict) or None.

    Returns:
        The JSON-ready answer (a dict, a list or, for diffs, text).

    Raises:
        NotFound: no such route. UsageError: a body that is not a JSON object.
        OvermindError: whatever the engine call raises.
    """
    parts = urlsplit(str(path))
    if body is not None and not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    for verb, pattern, handler in _COMPILED:
        found = pattern.match(parts.path)
        if found and verb == str(method).upper():
            ref = unquote(found.groupdict().get("ref") or "")
            return await handler(api, Request(ref, dict(parse_qsl(parts.query)), body or {}))
    raise NotFound(f"no Overmind route {method} {parts.path!r} in the kernel; "
                   "update overmind-jupyter or open this view on a Jupyter server")
