"""The one exception tree of Overmind.

::

    OvermindError                 root; ``message`` says what went wrong and what to do
    ├── UsageError                bad command line / bad request arguments (HTTP 400, exit 2)
    │   └── BlueprintError        a blueprint file that cannot be applied (HTTP 400, exit 2)
    ├── NotFound                  unknown mission / objective / change id (HTTP 404)
    │   └── AmbiguousReference    an id prefix matches several records (HTTP 400)
    ├── InvalidTransition         a status change the transition table forbids (HTTP 409)
    ├── EngineUnavailable         no engine reachable (CLI / client side)
    ├── NotAvailable              a command whose subsystem has not landed yet (HTTP 501)
    ├── Unauthorized              a missing or bad party credential or invite (HTTP 401)
    ├── Forbidden                 the member's role does not allow it (HTTP 403)
    └── RateLimited               too many attempts; retry after ``retry_after_s`` (HTTP 429)

Every error carries ``reason``: a short machine-readable tag used in JSON error bodies
(``{"message": ..., "reason": ...}``) and an HTTP status for the server edge.
"""

from __future__ import annotations

import math


class OvermindError(Exception):
    """Root of every error Overmind raises on purpose.

    Args:
        message: human sentence: what went wrong and what to do next.
    """

    reason = "error"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The JSON body the REST edge sends: ``{"message": str, "reason": str}``."""
        return {"message": self.message, "reason": self.reason}


class UsageError(OvermindError):
    """Bad arguments: unknown command or flag, malformed value. CLI exit status 2."""

    reason = "usage"
    http_status = 400


class InvalidRequest(UsageError):
    """A request whose fields fail validation (each field's problem is named)."""

    reason = "invalid"


class NotFound(OvermindError):
    """No record matches the reference (id, id prefix or name)."""

    reason = "not-found"
    http_status = 404


class AmbiguousReference(NotFound):
    """An id prefix or name matches several records; the message lists them."""

    reason = "ambiguous"
    http_status = 400


class InvalidTransition(OvermindError):
    """A status change that the transition table in ``model.py`` forbids."""

    reason = "invalid-transition"
    http_status = 409


class BlueprintError(UsageError):
    """A blueprint that cannot be applied (syntax, types, unknown dependency, cycle):
    bad input, so CLI exit status 2."""

    reason = "blueprint"
    http_status = 400


class EngineUnavailable(OvermindError):
    """No engine could be reached or started."""

    reason = "engine-unavailable"
    http_status = 503


class NotAvailable(OvermindError):
    """The command exists in the grammar but its subsystem is not available yet."""

    reason = "not-available"
    http_status = 501


class Unauthorized(OvermindError):
    """A missing, wrong, expired or revoked invite or party credential (HTTP 401)."""

    reason = "unauthorized"
    http_status = 401


class Forbidden(OvermindError):
    """The sender's role does not allow the action (HTTP 403)."""

    reason = "forbidden"
    http_status = 403


class RateLimited(OvermindError):
    """Too many attempts (HTTP 429); ``retry_after_s`` says when to try again (s)."""

    reason = "rate-limited"
    http_status = 429

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` value: whole seconds, at least 1 (RFC 9110 §10.2.3)."""
        return str(max(1, math.ceil(self.retry_after_s)))


_BY_REASON = {cls.reason: cls for cls in (
    OvermindError, UsageError, InvalidRequest, NotFound, AmbiguousReference, InvalidTransition,
    BlueprintError, EngineUnavailable, NotAvailable, Unauthorized, Forbidden, RateLimited)}


def from_json(body: dict, status: int = 500) -> OvermindError:
    """Rebuild the error a server sent as ``{"message", "reason"}`` (client side)."""
    cls = _BY_REASON.get(str(body.get("reason")), OvermindError)
    message = str(body.get("message") or f"server answered HTTP {status}")
    return cls(message)
