"""Base handler of the host API: authentication, authorization, JSON bodies and errors.

Two credentials are accepted: the Jupyter user (cookie or Jupyter token, then checked
by the server's authorizer on resource ``overmind``), or the scoped Overmind token in
the ``X-Overmind-Token`` header that the extension gives kernels and the CLI. The scoped
token reaches only Overmind's routes. Under JupyterHub, a hub user other than the
server's owner (``hub.visitor_of``) is refused on every route with 403 and reason
``party-member``, except on handlers with ``hub_members_allowed`` (the member routes).
Errors leave as ``{"message", "reason"}``, never as a traceback.
"""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .. import bounds
from ..api import Params, validated
from ..errors import OvermindError, UsageError
from ..runtime_files import TOKEN_HEADER
from . import hub

Body = TypeVar("Body", bound=Params)


class OvermindAuth:
    """Mixin for Jupyter handlers (REST and websockets): Overmind's authentication,
    authorization and JSON error bodies."""

    hub_members_allowed = False  # True on the member routes only
    hub_visitor: hub.Visitor | None = None  # the hub visitor making this request, if any

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """JSON ``{"message", "reason"}`` for every error; tracebacks stay in the log."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = error_message(exc) or self._reason
        reason = getattr(exc, "overmind_reason", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "reason": reason}))

    @property
    def engine(self):
        """The engine owned by the Overmind extension app."""
        return self.settings["overmind_engine"]

    def scoped_token_ok(self) -> bool:
        """True when the request carries the valid scoped Overmind token."""
        given = self.request.headers.get(TOKEN_HEADER, "")
        expected = self.settings.get("overmind_token", "")
        return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())

    def check_xsrf_cookie(self) -> None:
        """Header-token requests carry no ambient credential, so XSRF does not apply."""
        if self.scoped_token_ok():
            return None
        return super().check_xsrf_cookie()

    async def prepare(self, **kwargs: Any) -> None:
        """Authenticate (Jupyter user or scoped token), then authorize Jupyter users."""
        await super().prepare(**kwargs)
        if self.scoped_token_ok():
            return
        if self.current_user is None:
            raise web.HTTPError(403, "Overmind needs a Jupyter login or an Overmind token")
        action = "read" if self.request.method in ("GET", "HEAD") else "write"
        if not self.authorizer.is_authorized(self, self.current_user, action, "overmind"):
            raise web.HTTPError(403, f"not allowed to {action} Overmind")
        self.hub_visitor = hub.visitor_of(self.current_user)
        if self.hub_visitor is not None and not self.hub_members_allowed:
            raise OvermindErrorHTTP(403, hub.host_only_message(self.hub_visitor),
                                    hub.PARTY_MEMBER)


class OvermindHandler(OvermindAuth, APIHandler):
    """Every host REST endpoint derives from this; methods are wrapped with ``endpoint``."""

    max_body_bytes = bounds.MAX_JSON_BYTES  # the guest routes take less

    def json_body(self) -> Any:
        """The JSON request body (``{}`` when empty); 400 ``bad-json`` with a readable
        message if it is not JSON, too big, too deep or bad Unicode (see ``bounds``)."""
        try:
            return bounds.load_json(self.request.body or b"{}", max_bytes=self.max_body_bytes)
        except UsageError as exc:
            raise OvermindErrorHTTP(400, exc.message, "bad-json") from None

    def body(self, model: type[Body]) -> Body:
        """The JSON request body validated as ``model``; 400 ``invalid`` naming each
        field's problem (``api.validated``)."""
        return validated(model, self.json_body())

    def send_json(self, data: Any, status: int = 200) -> None:
        """Finish with ``data`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, separators=(",", ":")))


class OvermindErrorHTTP(web.HTTPError):
    """An HTTP error whose JSON body has our ``message`` and ``reason``."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(status, message)
        self.overmind_reason = reason


def error_message(exc: BaseException | None) -> str | None:
    """The text of an ``HTTPError`` as given (tornado ≥ 6.5 escapes ``%`` in ``log_message``)."""
    if not isinstance(exc, web.HTTPError):
        return None
    get_message = getattr(exc, "get_message", None)
    if get_message is not None:
        return get_message()
    return exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message


Method = Callable[..., Awaitable[None]]


def endpoint(method: Method) -> Method:
    """Mark a handler method as Overmind-authenticated and map errors to JSON.

    ``OvermindError`` → its ``http_status`` with ``{message, reason}``.
    """
    @functools.wraps(method)
    async def wrapper(self: OvermindHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except OvermindError as exc:
            self.send_json(exc.to_json(), exc.http_status)
        except OvermindErrorHTTP as exc:
            self.send_json({"message": error_message(exc),
                            "reason": exc.overmind_reason}, exc.status_code)
    return allow_unauthenticated(wrapper)
