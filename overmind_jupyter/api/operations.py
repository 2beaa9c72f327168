"""The operation table: each engine operation's HTTP method, path, request model, result
codec and status; and what serves it generically (``select``, ``request_of``, ``call``,
and ``dispatch``, the kernel's router for engines embedded in a kernel)."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal
from urllib.parse import unquote

from ..errors import InvalidRequest, NotFound
from ..model import mission_from_dict, mission_to_dict
from ..orchestrator.questions import question_from_dict
from .protocol import EngineAPI
from .requests import (
    AllQuery,
    AnswerBody,
    ApplyBody,
    ChangesQuery,
    DiffQuery,
    EventsQuery,
    HostBody,
    InviteBody,
    JoinBody,
    KillBody,
    LeaveBody,
    LogsQuery,
    MemberActionBody,
    MemberPromptBody,
    MessageBody,
    MessagesQuery,
    NoParams,
    Params,
    PartyPromptBody,
    PartyReviewBody,
    PromptActionBody,
    PromptBody,
    RemoteReceiveBody,
    RequestChangesBody,
    RunBody,
    SendBody,
    StatsQuery,
    StopBody,
    TargetActionBody,
    TargetAddBody,
    WaitBody,
    WaitObjectiveBody,
    validated,
)

Json = Any  # what json.loads returns; results not yet typed travel as it
HttpMethod = Literal["GET", "POST"]


class Media(str, enum.Enum):
    """What a successful answer's body is."""

    JSON = "application/json"
    TEXT = "text/plain; charset=utf-8"
    STREAM = "text/plain; charset=utf-8; streamed"  # chunks over one response
    WEBSOCKET = "websocket"


def _same(value: Any, _params: Any = None) -> Any:
    return value


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """How a method's return value travels: ``encode(value, params)`` → JSON-ready,
    ``decode(json)`` → the value again; a list answer is wrapped as ``{key: [...]}``."""

    encode: Callable[[Any, Any], Json] = _same
    decode: Callable[[Json], Any] = _same
    media: Media = Media.JSON
    key: str | None = None
    schema: dict[str, Any] = dataclasses.field(default_factory=lambda: {"type": "object"})


def _listed(key: str, item_encode: Callable[[Any], Json] = _same,
            item_decode: Callable[[Json], Any] = _same, item_schema: dict | None = None
            ) -> Result:
    return Result(lambda xs, _p: {key: [item_encode(x) for x in xs]},
                  lambda data: [item_decode(x) for x in data[key]], key=key,
                  schema={"type": "object", "required": [key], "properties": {
                      key: {"type": "array", "items": item_schema or {"type": "object"}}}})


MISSION_SCHEMA = {"type": "object", "required": ["id", "name", "kind", "status"],
                  "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                 "kind": {"type": "string"}, "status": {"type": "string"},
                                 "pid": {"type": ["integer", "null"]}}}
JSON = Result()
TEXT = Result(media=Media.TEXT, schema={"type": "string"})
MISSION = Result(lambda m, _p: mission_to_dict(m), mission_from_dict, schema=MISSION_SCHEMA)
MISSIONS = _listed("missions", mission_to_dict, mission_from_dict, MISSION_SCHEMA)
QUESTION = Result(lambda q, _p: q.to_dict(), question_from_dict)
EVENTS = Result(lambda events, p: {"events": events,
                                   "last_seq": events[-1]["seq"] if events else p.after},
                lambda data: data["events"],
                schema={"type": "object", "required": ["events", "last_seq"]})


# -- the table ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class Operation:
    """One engine operation on the wire.

    ``name``: the ``EngineAPI`` method (or, with ``engine=False``, a route of the server
    only: the member, guest and document routes); ``when``: a query flag that selects this
    operation on a path it shares; ``timeout_s``: the REST client's request timeout (s;
    None: its default); ``kernel``: served by the kernel router for embedded engines;
    ``fast``: an engine method that returns the answer's list already encoded as JSON text
    (the server answers ``{key: <text>}`` with it).
    """

    name: str
    method: HttpMethod
    path: str
    summary: str
    params: type[Params] = NoParams
    result: Result = JSON
    status: int = 200
    timeout_s: float | None = None
    when: str | None = None
    kernel: bool = True
    engine: bool = True
    fast: str | None = None

    @property
    def takes_ref(self) -> bool:
        """Whether the path carries the method's first argument as ``{ref}``."""
        return "{ref}" in self.path

    def client_timeout_s(self, params: Params) -> float | None:
        """The request timeout for ``params`` (s): the request's own, else the table's."""
        own = params.request_timeout_s()
        return self.timeout_s if own is None else own


_LONG = 3_600.0  # s: stops and merges may wait on grace periods and test suites
OPERATIONS: tuple[Operation, ...] = (
    Operation("status", "GET", "status", "engine facts: version, mode, root, uptime, counts"),
    Operation("ps_stats", "GET", "missions", "live missions with last_line, cpu_percent, "
              "rss_bytes (one pass for all)", StatsQuery, _listed("missions"), when="stats"),
    Operation("ps", "GET", "missions", "list missions (all=1: ended ones too)", AllQuery,
              MISSIONS, kernel=False, fast="ps_json"),
    Operation("run", "POST", "missions", "start a mission", RunBody, MISSION, 201,
              kernel=False),
    Operation("info", "GET", "missions/{ref}", "mission details (ref: id, id prefix or name)"),
    Operation("logs", "GET", "missions/{ref}/logs", "mission output (text/plain; follow=1 "
              "streams)", LogsQuery, TEXT, kernel=False),
    Operation("send", "POST", "missions/{ref}/send", "a line of input to a session mission "
              "or a follow-up prompt to an agent", SendBody, MISSION, kernel=False),
    Operation("stop", "POST", "missions/{ref}/stop", "stop: SIGTERM, grace, SIGKILL",
              StopBody, MISSION, timeout_s=_LONG),
    Operation("restart", "POST", "missions/{ref}/restart", "end a live mission's process and "
              "run it again now", NoParams, MISSION, timeout_s=_LONG),
    Operation("kill", "POST", "missions/{ref}/kill", "SIGKILL (cascade: descendants first)",
              KillBody, MISSIONS, timeout_s=600.0),
    Operation("wait", "POST", "missions/{ref}/wait", "wait until ended or timeout_s",
              WaitBody, MISSION, kernel=False),
    Operation("attach", "GET", "missions/{ref}/attach", "websocket: raw terminal of a "
              "session mission (binary frames both ways)", result=Result(
                  media=Media.WEBSOCKET), kernel=False, engine=False),
    Operation("apply", "POST", "blueprints", "apply a blueprint", ApplyBody, MISSION, 201,
              kernel=False),
    Operation("events", "GET", "events", "events after a cursor (latest=1: the last `limit` "
              "of them); with Upgrade: websocket, live", EventsQuery, EVENTS),
    Operation("list_agents", "GET", "agents", "agents and whether they are installed",
              result=_listed("agents")),
    Operation("model_status", "GET", "model", "which model answers the roles and the "
              "built-in agent, whether one is configured, and the settings that change it"),
    Operation("list_questions", "GET", "questions", "open questions, oldest first",
              result=_listed("questions", lambda q: q.to_dict(), question_from_dict)),
    Operation("needs_you", "GET", "needs-you", "what waits on a person, oldest first: open "
              "questions and undecided changes", result=_listed("items")),
    Operation("answer", "POST", "questions/{ref}/answer", "answer a question",
              AnswerBody, QUESTION),
    Operation("shutdown", "POST", "shutdown", "stop every mission (and a daemon server)",
              result=MISSIONS, timeout_s=600.0, kernel=False),
    Operation("openapi", "GET", "openapi.json", "this document", kernel=False, engine=False),
    # party
    Operation("party_status", "GET", "party", "hosted party (members, invites, queue) and "
              "joined parties"),
    Operation("host", "POST", "party", "host a party; answers its first invite", HostBody,
              status=201),
    Operation("invite", "POST", "party/invites", "a new invite (its secret is shown only "
              "here)", InviteBody, status=201),
    Operation("revoke_invite", "POST", "party/invites/{ref}/revoke", "revoke an invite"),
    Operation("member_action", "POST", "party/members/{ref}", "approve, deny, kick a member "
              "or set its role", MemberActionBody),
    Operation("party_prompt", "POST", "party/prompts", "a prompt to the hosted or a joined "
              "party", PartyPromptBody, status=201),
    Operation("party_review", "POST", "party/review", "as a reviewer of a joined party: "
              "merge, close or request changes of a change it follows", PartyReviewBody,
              timeout_s=_LONG),
    Operation("prompt_action", "POST", "party/prompts/{ref}", "approve, deny, share or move "
              "a prompt", PromptActionBody),
    Operation("targets", "GET", "targets", "where tasks run: local and hub targets with "
              "capacity, claims and the last doctor's findings", result=_listed("targets")),
    Operation("target_add", "POST", "targets", "register a JupyterHub target and run its "
              "doctor", TargetAddBody, status=201, timeout_s=_LONG),
    Operation("target_action", "POST", "targets/{ref}", "drain, disable, enable or remove "
              "a target", TargetActionBody),
    Operation("target_doctor", "POST", "targets/{ref}/doctor", "check a hub target through "
              "the Hub API and a probe named server", timeout_s=_LONG),
    Operation("remote_receive", "POST", "remote/workspaces", "as a hub target's server: "
              "clone a repository a host ships (git bundle, base64)", RemoteReceiveBody,
              status=201, timeout_s=_LONG, kernel=False),
    Operation("remote_result", "POST", "remote/workspaces/{ref}/result", "as a hub target's "
              "server: commit and bundle a shipped repository's work", timeout_s=_LONG,
              kernel=False),
    Operation("remote_discard", "POST", "remote/workspaces/{ref}/remove", "as a hub "
              "target's server: remove a shipped repository", kernel=False),
    Operation("join", "POST", "party/join", "join another party with an invite", JoinBody,
              status=201),
    Operation("leave", "POST", "party/leave", "leave a joined party", LeaveBody),
    Operation("close_party", "POST", "party/close", "close the hosted party"),
    Operation("member_view", "GET", "party/me", "the caller's view of the party as a member "
              "(hub collaborators)", kernel=False, engine=False),
    Operation("member_prompt", "POST", "party/me/prompts", "a prompt queued as the caller "
              "(hub collaborators)", MemberPromptBody, kernel=False, engine=False),
    # work
    Operation("prompt", "POST", "prompts", "submit a prompt; answers its objective (wait: "
              "once it has ended or waits on a question, listed in `questions`)",
              PromptBody, status=201),
    Operation("objectives", "GET", "objectives", "objectives, oldest first",
              result=_listed("objectives")),
    Operation("objective", "GET", "objectives/{ref}", "an objective with its tasks and "
              "changes"),
    Operation("wait_objective", "POST", "objectives/{ref}/wait", "wait until the objective "
              "has ended", WaitObjectiveBody, kernel=False),
    Operation("cancel_objective", "POST", "objectives/{ref}/cancel", "cancel an objective "
              "and its tasks"),
    Operation("messages", "GET", "messages", "the mailbox", MessagesQuery,
              _listed("messages")),
    Operation("send_message", "POST", "messages", "mail an agent or a member as the host",
              MessageBody, status=201),
    # review
    Operation("changes", "GET", "changes", "changes, oldest first", ChangesQuery,
              _listed("changes")),
    Operation("change", "GET", "changes/{ref}", "a change"),
    Operation("diff", "GET", "changes/{ref}/diff", "the change's unified diff (text/plain)",
              DiffQuery, TEXT),
    Operation("change_files", "GET", "changes/{ref}/files", "the change's diff as data: "
              "files with stats and hunks, notebooks cell by cell"),
    Operation("request_changes", "POST", "changes/{ref}/request-changes", "close the "
              "change; a follow-up task of its objective takes the review",
              RequestChangesBody),
    Operation("merge", "POST", "changes/{ref}/merge", "merge a change through the merge "
              "queue (an objective's id merges all its open changes)", timeout_s=_LONG),
    Operation("check_change", "POST", "changes/{ref}/check", "test the change merged onto "
              "its target's current tip (nothing lands); the result is kept on the change",
              timeout_s=_LONG),
    Operation("close_change", "POST", "changes/{ref}/close", "close a change (its branch "
              "is kept)"),
    Operation("reopen_change", "POST", "changes/{ref}/reopen", "reopen a closed change"),
)
BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}


def by_path() -> dict[str, list[Operation]]:
    """Operations grouped by path, in table order (one tornado handler per path)."""
    found: dict[str, list[Operation]] = {}
    for op in OPERATIONS:
        found.setdefault(op.path, []).append(op)
    return found


def select(ops: Iterable[Operation], method: str, query: dict[str, str]) -> Operation | None:
    """The operation of ``method`` for a request with ``query``: one whose ``when`` flag is
    set in the query first, else the one without a flag."""
    candidates = [op for op in ops if op.method == method.upper()]
    for op in candidates:
        if op.when and query.get(op.when, "0").lower() in ("1", "true", "yes"):
            return op
    return next((op for op in candidates if op.when is None), None)


def request_of(op: Operation, query: dict[str, str], body: Any) -> Params:
    """The validated request of ``op`` from a GET's query or a POST's JSON body.

    Raises:
        InvalidRequest: a body that is not a JSON object, or invalid fields.
    """
    if op.method == "GET":
        return validated(op.params, {k: v for k, v in query.items()
                                     if k in _wire_names(op.params)})
    if body is not None and not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return validated(op.params, body or {})


def _wire_names(model: type[Params]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


async def call(api: EngineAPI, op: Operation, ref: str | None, params: Params) -> Any:
    """Call ``op`` on ``api`` (the engine or anything implementing ``EngineAPI``) and return
    the method's own value (not encoded).

    Raises:
        EngineUnavailable: the engine is not running (``ensure_running``).
        OvermindError: what the method raises.
    """
    api.ensure_running()
    method = getattr(api, op.name)
    return await (method(ref, **params.args()) if op.takes_ref else method(**params.args()))


# -- the kernel's router -----------------------------------------------------------------
_PATTERNS = [(op, re.compile("^" + re.escape(op.path).replace(r"\{ref\}", "(?P<ref>[^/]+)")
                             + "$")) for op in OPERATIONS if op.kernel]


async def dispatch(api: EngineAPI, method: str, path: str, query: dict[str, str],
                   body: Any = None) -> Json:
    """Serve one REST call with ``api`` as the server would (the kernel's router for engines
    embedded in a kernel, where no Jupyter server answers the views).

    Args:
        api: the engine interface.
        method: ``GET`` or ``POST``.
        path: relative to ``overmind/api/``, without its query.
        query: the query string's parameters.
        body: the JSON body or None.

    Returns:
        The JSON-ready answer (or text, for diffs).

    Raises:
        NotFound: no such route in the kernel. UsageError: invalid request.
        OvermindError: whatever the engine call raises.
    """
    matches = [(op, m) for op, m in ((op, p.match(path)) for op, p in _PATTERNS) if m]
    op = select([op for op, _ in matches], method, query)
    if op is None:
        raise NotFound(f"no Overmind route {method} {path!r} in the kernel; update "
                       "overmind-jupyter or open this view on a Jupyter server")
    ref = next(m for o, m in matches if o is op).groupdict().get("ref")
    params = request_of(op, query, body)
    value = await call(api, op, unquote(ref) if ref else None, params)
    return op.result.encode(value, params)
