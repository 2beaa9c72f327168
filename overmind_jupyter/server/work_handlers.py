"""REST handlers of orchestration (relative to ``<base_url>overmind/api/``): prompts,
objectives and changes — thin wrappers of the engine's ``WorkFacade``.

``POST prompts`` · ``GET objectives`` · ``GET objectives/{ref}`` ·
``POST objectives/{ref}/wait`` · ``POST objectives/{ref}/cancel`` · ``GET changes`` ·
``GET changes/{ref}`` · ``GET changes/{ref}/diff`` (text/plain) · ``GET changes/{ref}/files``
· ``POST changes/{ref}/merge`` · ``POST changes/{ref}/close`` · ``POST changes/{ref}/reopen``
· ``POST changes/{ref}/request-changes``
"""

from __future__ import annotations

from .base import OvermindHandler, endpoint
from .schemas import MessageBody, PromptBody, RequestChangesBody, WaitObjectiveBody

_REF = r"(?P<ref>[^/]+)"


class PromptsHandler(OvermindHandler):
    """``POST prompts``: submit a prompt; answers its objective (ended with ``wait``)."""

    @endpoint
    async def post(self) -> None:
        body = self.body(PromptBody)
        self.send_json(await self.engine.prompt(body.text, agent=body.agent, wait=body.wait,
                                                shared=body.shared), 201)


class ObjectivesHandler(OvermindHandler):
    """``GET objectives``: every objective, oldest first."""

    @endpoint
    async def get(self) -> None:
        self.send_json({"objectives": await self.engine.objectives()})


class ObjectiveHandler(OvermindHandler):
    """``GET objectives/{ref}``: one objective with its tasks and changes."""

    @endpoint
    async def get(self, ref: str) -> None:
        self.send_json(await self.engine.objective(ref))


class WaitObjectiveHandler(OvermindHandler):
    """``POST objectives/{ref}/wait``: wait until it has ended (or ``timeout_s``)."""

    @endpoint
    async def post(self, ref: str) -> None:
        body = self.body(WaitObjectiveBody)
        self.send_json(await self.engine.wait_objective(ref, body.timeout_s))


class CancelObjectiveHandler(OvermindHandler):
    """``POST objectives/{ref}/cancel``: cancel it and its tasks."""

    @endpoint
    async def post(self, ref: str) -> None:
        self.send_json(await self.engine.cancel_objective(ref))


class ChangesHandler(OvermindHandler):
    """``GET changes[?objective=REF]``: changes, oldest first."""

    @endpoint
    async def get(self) -> None:
        found = await self.engine.changes(self.get_argument("objective", None))
        self.send_json({"changes": found})


class ChangeHandler(OvermindHandler):
    """``GET changes/{ref}``: one change."""

    @endpoint
    async def get(self, ref: str) -> None:
        self.send_json(await self.engine.change(ref))


class DiffHandler(OvermindHandler):
    """``GET changes/{ref}/diff[?path=P]``: its unified diff (text/plain)."""

    @endpoint
    async def get(self, ref: str) -> None:
        text = await self.engine.diff(ref, self.get_argument("path", None))
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(text)


class FilesHandler(OvermindHandler):
    """``GET changes/{ref}/files``: its diff as data (files, hunks, notebook cells)."""

    @endpoint
    async def get(self, ref: str) -> None:
        self.send_json(await self.engine.change_files(ref))


class RequestChangesHandler(OvermindHandler):
    """``POST changes/{ref}/request-changes {text}``: close it; a follow-up task of its
    objective takes the review."""

    @endpoint
    async def post(self, ref: str) -> None:
        body = self.body(RequestChangesBody)
        self.send_json(await self.engine.request_changes(ref, body.text))


class MergeHandler(OvermindHandler):
    """``POST changes/{ref}/merge``: merge through the merge queue (an objective's id
    merges all its open changes)."""

    @endpoint
    async def post(self, ref: str) -> None:
        self.send_json(await self.engine.merge(ref))


class CloseHandler(OvermindHandler):
    """``POST changes/{ref}/close``: close a change (its branch is kept)."""

    @endpoint
    async def post(self, ref: str) -> None:
        self.send_json(await self.engine.close_change(ref))


class ReopenHandler(OvermindHandler):
    """``POST changes/{ref}/reopen``: reopen a closed change."""

    @endpoint
    async def post(self, ref: str) -> None:
        self.send_json(await self.engine.reopen_change(ref))


class MessagesHandler(OvermindHandler):
    """``GET messages[?to=NAME]``: the mailbox; ``POST messages``: send one as the host."""

    @endpoint
    async def get(self) -> None:
        self.send_json({"messages": await self.engine.messages(self.get_argument("to", None))})

    @endpoint
    async def post(self) -> None:
        body = self.body(MessageBody)
        self.send_json(await self.engine.send_message(body.to, body.text), 201)


WORK_ROUTES = [
    ("prompts", PromptsHandler),
    ("objectives", ObjectivesHandler),
    (f"objectives/{_REF}", ObjectiveHandler),
    (f"objectives/{_REF}/wait", WaitObjectiveHandler),
    (f"objectives/{_REF}/cancel", CancelObjectiveHandler),
    ("changes", ChangesHandler),
    (f"changes/{_REF}", ChangeHandler),
    (f"changes/{_REF}/diff", DiffHandler),
    (f"changes/{_REF}/files", FilesHandler),
    (f"changes/{_REF}/request-changes", RequestChangesHandler),
    (f"changes/{_REF}/merge", MergeHandler),
    (f"changes/{_REF}/close", CloseHandler),
    (f"changes/{_REF}/reopen", ReopenHandler),
    ("messages", MessagesHandler),
]
