"""Thin REST handlers over the engine facade; the URL table is at the bottom.

Routes are relative to ``<base_url>overmind/api/``; ``openapi.py`` documents each.
"""

from __future__ import annotations

import asyncio

from tornado import iostream

from ..errors import UsageError
from ..model import mission_to_dict
from .attach_ws import AttachHandler
from .base import OvermindHandler, endpoint
from .events_ws import EventsHandler
from .member_handlers import MEMBER_ROUTES
from .party_handlers import HOST_ROUTES as PARTY_ROUTES
from .schemas import AnswerBody, ApplyBody, KillBody, RunBody, SendBody, StopBody, WaitBody
from .work_handlers import WORK_ROUTES


def _flag(handler: OvermindHandler, name: str) -> bool:
    return handler.get_argument(name, "0").lower() in ("1", "true", "yes")


def _int_arg(handler: OvermindHandler, name: str, default: int | None) -> int | None:
    raw = handler.get_argument(name, None)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"query parameter {name} must be an integer, not {raw!r}") from None
    if value < 0:
        raise UsageError(f"query parameter {name} must be ≥ 0")
    return value


class StatusHandler(OvermindHandler):
    """``GET status``: engine facts."""

    @endpoint
    async def get(self) -> None:
        self.send_json(await self.engine.status())


class MissionsHandler(OvermindHandler):
    """``GET missions[?all=1][&stats=1]``: list (``stats``: live ones with ``last_line``,
    ``cpu_percent``, ``rss_bytes``, one pass for all); ``POST missions``: run one."""

    @endpoint
    async def get(self) -> None:
        if _flag(self, "stats"):
            self.send_json({"missions": await self.engine.ps_stats(all=_flag(self, "all"))})
            return
        text = await self.engine.ps_json(all=_flag(self, "all"))  # built by SQLite
        self.finish('{"missions":' + text + "}", set_content_type="application/json")

    @endpoint
    async def post(self) -> None:
        mission = await self.engine.run(self.body(RunBody).to_spec())
        self.send_json(mission_to_dict(mission), 201)


class MissionHandler(OvermindHandler):
    """``GET missions/{ref}``: details of one mission."""

    @endpoint
    async def get(self, ref: str) -> None:
        self.send_json(await self.engine.info(ref))


TEXT = "text/plain; charset=utf-8"  # APIHandler.finish would say JSON unless told


class LogsHandler(OvermindHandler):
    """``GET missions/{ref}/logs[?tail=N][&follow=1]``: text; follow streams chunks."""

    @endpoint
    async def get(self, ref: str) -> None:
        tail = _int_arg(self, "tail", None)
        self.set_header("Content-Type", TEXT)
        if not _flag(self, "follow"):
            self.finish(await self.engine.logs(ref, tail), set_content_type=TEXT)
            return
        self.set_header("X-Accel-Buffering", "no")
        stream = self.engine.follow(ref, 10 if tail is None else tail)
        try:
            async for text in stream:
                if text:
                    self.write(text)
                    await self.flush()
        except iostream.StreamClosedError:
            return
        finally:
            await stream.aclose()
        self.finish(set_content_type=TEXT)


class SendHandler(OvermindHandler):
    """``POST missions/{ref}/send``: a line of input to a session mission."""

    @endpoint
    async def post(self, ref: str) -> None:
        mission = await self.engine.send(ref, self.body(SendBody).text)
        self.send_json(mission_to_dict(mission))


class StopHandler(OvermindHandler):
    """``POST missions/{ref}/stop``: SIGTERM, grace, SIGKILL; never restarts."""

    @endpoint
    async def post(self, ref: str) -> None:
        mission = await self.engine.stop(ref, force=self.body(StopBody).force)
        self.send_json(mission_to_dict(mission))


class RestartHandler(OvermindHandler):
    """``POST missions/{ref}/restart``: end a live mission's process, run it again now."""

    @endpoint
    async def post(self, ref: str) -> None:
        self.send_json(mission_to_dict(await self.engine.restart(ref)))


class KillHandler(OvermindHandler):
    """``POST missions/{ref}/kill``: SIGKILL (``cascade``: descendants first)."""

    @endpoint
    async def post(self, ref: str) -> None:
        ended = await self.engine.kill(ref, cascade=self.body(KillBody).cascade)
        self.send_json({"missions": [mission_to_dict(m) for m in ended]})


class WaitHandler(OvermindHandler):
    """``POST missions/{ref}/wait``: long-poll until the mission ends or ``timeout_s``."""

    @endpoint
    async def post(self, ref: str) -> None:
        mission = await self.engine.wait(ref, self.body(WaitBody).timeout_s)
        self.send_json(mission_to_dict(mission))


class BlueprintsHandler(OvermindHandler):
    """``POST blueprints``: apply a blueprint; answers with the blueprint mission."""

    @endpoint
    async def post(self) -> None:
        b = self.body(ApplyBody)
        mission = await self.engine.apply(b.text, b.source, b.base_dir, b.name)
        self.send_json(mission_to_dict(mission), 201)


class AgentsHandler(OvermindHandler):
    """``GET agents``: known and custom agents, installed or not."""

    @endpoint
    async def get(self) -> None:
        self.send_json({"agents": await self.engine.list_agents()})


class QuestionsHandler(OvermindHandler):
    """``GET questions``: open questions."""

    @endpoint
    async def get(self) -> None:
        self.send_json({"questions": [q.to_dict() for q in await self.engine.list_questions()]})


class AnswerHandler(OvermindHandler):
    """``POST questions/{ref}/answer``: answer a question; the waiting agent resumes."""

    @endpoint
    async def post(self, ref: str) -> None:
        question = await self.engine.answer(ref, self.body(AnswerBody).text)
        self.send_json(question.to_dict())


class ShutdownHandler(OvermindHandler):
    """``POST shutdown``: stop every mission; a daemon server then stops itself."""

    @endpoint
    async def post(self) -> None:
        ended = await self.engine.shutdown()
        app = self.settings["overmind_app"]
        self.send_json({"missions": [mission_to_dict(m) for m in ended],
                        "server_stopping": app.daemon})
        if app.daemon:
            asyncio.get_running_loop().call_later(0.2, app.serverapp.stop)


class OpenAPIHandler(OvermindHandler):
    """``GET openapi.json``: the OpenAPI 3.1 document of these routes."""

    @endpoint
    async def get(self) -> None:
        from .openapi import document
        self.send_json(document())


_REF = r"(?P<ref>[^/]+)"
ROUTES = [
    ("status", StatusHandler),
    ("missions", MissionsHandler),
    (f"missions/{_REF}", MissionHandler),
    (f"missions/{_REF}/logs", LogsHandler),
    (f"missions/{_REF}/send", SendHandler),
    (f"missions/{_REF}/stop", StopHandler),
    (f"missions/{_REF}/restart", RestartHandler),
    (f"missions/{_REF}/kill", KillHandler),
    (f"missions/{_REF}/wait", WaitHandler),
    (f"missions/{_REF}/attach", AttachHandler),
    ("blueprints", BlueprintsHandler),
    ("events", EventsHandler),
    ("agents", AgentsHandler),
    ("questions", QuestionsHandler),
    (f"questions/{_REF}/answer", AnswerHandler),
    ("shutdown", ShutdownHandler),
    ("openapi.json", OpenAPIHandler),
    *PARTY_ROUTES,
    *MEMBER_ROUTES,
    *WORK_ROUTES,
]
