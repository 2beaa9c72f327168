"""The party websocket protocol, ``<base_url>overmind/party/ws`` (both directions).

Guest → host, JSON text frames (``ref``: any integer, echoed in the answer)::

    {"type": "hello", "credential": "<member id>.<secret>", "after": SEQ}   first, once
    {"type": "ping", "ref"?}             → {"type": "pong", "ref"}   (no role needed)
    {"type": "status", "ref"?}           → reply: the member's view (party_view.guest_status)
    {"type": "prompt", "text", "agent"?, "ref"?}
                                         → reply: the queued prompt      (collaborator+)
                                           agent: one of the host's configured agents
    {"type": "leave", "ref"?}            → reply, then the host closes the socket
    approve | deny | kick | share | move | role | invite | revoke | close
                                         host-only: every guest gets an error frame

Host → guest::

    {"type": "welcome", "party": {id, name, state}, "member": {id, name, role, state}}
        after a valid hello, and again when a pending member is approved
    {"type": "events", "events": [Event, …]}     party events after ``after``, redacted
    {"type": "reply", "ref", "data"}             the answer to a request
    {"type": "error", "ref", "message", "reason"}   a refused frame; the socket stays open

Close codes: 4401 credential refused, 4403 kicked / denied / left / party closed,
4408 no hello within ``HELLO_TIMEOUT_S``, 4429 rate limited. The role of the sender is
looked up for every frame, never remembered from the hello.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import bounds
from ..errors import UsageError

MAX_FRAME_BYTES = 512 * 1024  # a prompt (≤ 100 000 characters) fits in one frame
HELLO_TIMEOUT_S = 10.0
CLOSE_REFUSED, CLOSE_REMOVED, CLOSE_NO_HELLO, CLOSE_LIMITED = 4401, 4403, 4408, 4429
FINAL_CLOSE_CODES = frozenset({CLOSE_REFUSED, CLOSE_REMOVED})  # reconnecting cannot help
HOST_ONLY = ("approve", "deny", "kick", "share", "move", "role", "invite", "revoke", "close")
REVIEW = ("merge", "close-change", "request-changes")  # a change of an objective it follows
REQUIRED_ROLE: dict[str, str] = {"status": "viewer", "leave": "viewer",
                                 "prompt": "collaborator", **{t: "reviewer" for t in REVIEW},
                                 **{t: "host" for t in HOST_ONLY}}
ACTION_WORDS = {"status": "see the party", "leave": "leave", "prompt": "submit prompts",
                **{t: f"{t.replace('-', ' ')} (a reviewer action)" for t in REVIEW},
                **{t: f"{t} (a host action)" for t in HOST_ONLY}}


class Hello(BaseModel):
    """The first guest frame: the member credential and the event cursor."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["hello"]
    credential: str = Field(max_length=512)
    after: int = Field(0, ge=0, le=2**63 - 1)


class Request(BaseModel):
    """Any later guest frame; ``text`` and ``agent`` (which of the host's agents runs it)
    belong to ``prompt`` frames, ``change`` (its id) and ``text`` (the requested changes)
    to the ``REVIEW`` frames."""

    model_config = ConfigDict(extra="ignore")
    type: str = Field(max_length=40)
    ref: int | None = None
    text: str | None = Field(None, max_length=100_000)
    agent: str | None = Field(None, min_length=1, max_length=64)
    change: str | None = Field(None, min_length=1, max_length=64)


def parse(message: str | bytes, model: type[BaseModel] = Request) -> Any:
    """Decode one frame into ``model``.

    Raises:
        UsageError: not JSON, beyond the ``bounds`` limits (nesting, Unicode), or not the
            expected shape (the message names the field, never echoes a credential).
    """
    data = bounds.load_json(message, what="frame", max_bytes=MAX_FRAME_BYTES)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"]))[:40] or "frame"
                           for e in exc.errors()[:5])
        raise UsageError(f"bad {model.__name__.lower()} frame: check {fields}") from None


def frame(type_: str, **fields: Any) -> str:
    """One JSON text frame ``{"type": type_, **fields}``."""
    return json.dumps({"type": type_, **fields}, separators=(",", ":"))
