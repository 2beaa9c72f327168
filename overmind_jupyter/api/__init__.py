"""The engine contract: every operation a front (REST, kernel views, CLI, magics) can ask
of an engine, written once.

- ``EngineAPI`` is the interface as a Protocol made of four sub-protocols (``MissionsAPI``,
  ``WorkAPI``, ``PartyAPI``, ``ReviewAPI``). ``engine.Engine`` (in process) and
  ``client.Client`` (over REST) both implement it; ``tests/server/test_api_contract.py``
  checks their signatures against it and mypy their types (``tests/test_structure.py``).
- ``OPERATIONS`` is the table: name (the method), HTTP method, path (relative to
  ``<base_url>overmind/api/``; ``{ref}`` is the method's first argument), the request model
  (a JSON body for POST, the query for GET; fields are the method's keyword arguments),
  the result codec and the success status. From it come the tornado routes
  (``server/routes.py``), the REST client's methods (``client.Client``), the kernel's router
  for embedded engines (``dispatch``, behind the views' comm bridge), the OpenAPI
  document (``server/openapi.py``) and the TypeScript types of the views
  (``labextension/src/api.gen.ts``; it and the client's methods are written by
  ``python -m overmind_jupyter.server.codegen``).

Rooms: ``protocol.py`` (the interface), ``requests.py`` (request models),
``operations.py`` (result codecs, the table, generic serving). Adding an operation: a method
on the engine, its signature on the sub-protocol, one ``Operation`` in the table (plus a
request model if it takes arguments), then ``python -m overmind_jupyter.server.codegen``.
"""

from .operations import (
    BY_NAME,
    EVENTS,
    JSON,
    MISSION,
    MISSIONS,
    OPERATIONS,
    QUESTION,
    TEXT,
    HttpMethod,
    Json,
    Media,
    Operation,
    Result,
    by_path,
    call,
    dispatch,
    request_of,
    select,
)
from .protocol import (
    EngineAPI,
    MissionsAPI,
    PartyAPI,
    ReviewAPI,
    WorkAPI,
)
from .requests import (
    AllQuery,
    AnswerBody,
    ApplyBody,
    ChangesQuery,
    DiffQuery,
    EventsQuery,
    GuestJoinBody,
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
    RequestChangesBody,
    RestartBody,
    RunBody,
    SendBody,
    StatsQuery,
    StopBody,
    WaitBody,
    WaitObjectiveBody,
    validated,
)

__all__ = [
    "BY_NAME",
    "EVENTS",
    "JSON",
    "MISSION",
    "MISSIONS",
    "OPERATIONS",
    "QUESTION",
    "TEXT",
    "AllQuery",
    "AnswerBody",
    "ApplyBody",
    "ChangesQuery",
    "DiffQuery",
    "EngineAPI",
    "EventsQuery",
    "GuestJoinBody",
    "HostBody",
    "HttpMethod",
    "InviteBody",
    "JoinBody",
    "Json",
    "KillBody",
    "LeaveBody",
    "LogsQuery",
    "Media",
    "MemberActionBody",
    "MemberPromptBody",
    "MessageBody",
    "MessagesQuery",
    "MissionsAPI",
    "NoParams",
    "Operation",
    "Params",
    "PartyAPI",
    "PartyPromptBody",
    "PartyReviewBody",
    "PromptActionBody",
    "PromptBody",
    "RequestChangesBody",
    "RestartBody",
    "Result",
    "ReviewAPI",
    "RunBody",
    "SendBody",
    "StatsQuery",
    "StopBody",
    "WaitBody",
    "WaitObjectiveBody",
    "WorkAPI",
    "by_path",
    "call",
    "dispatch",
    "request_of",
    "select",
    "validated",
]
