"""``<base_url>overmind/api/missions/{ref}/attach``: an interactive terminal on a session.

A websocket to a running session mission's pty. Server → client: binary frames of raw
terminal output (first the recent tail of the log, so the screen is not empty). Client →
server: binary (or text) frames of raw keystrokes, written to the pty as they are. The
socket closes (code 1000) when the mission ends; a mission that is not a running session
is refused before the upgrade with a JSON error. Authentication as for every host route.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..errors import OvermindError
from ..model import Mission
from ..supervisor import logs
from ..supervisor.listener import MissionListener
from .base import OvermindAuth

SCREEN_TAIL_BYTES = 8192
MAX_KEYS_FRAME = 64 * 1024


class AttachHandler(OvermindAuth, WebSocketMixin, WebSocketHandler, JupyterHandler):
    """Raw pty output out, raw keystrokes in."""

    _stop_output: Any = None
    ending: MissionListener | None = None  # closes the socket when the mission ends

    @property
    def max_message_size(self) -> int:
        """Keystroke frames above 64 KiB close the socket."""
        return MAX_KEYS_FRAME

    @allow_unauthenticated  # OvermindAuth.prepare authenticates every request
    async def get(self, ref: str, *args: Any, **kwargs: Any) -> None:
        """Check the mission can be attached to, then upgrade."""
        try:
            self.mission = self.engine.resolve(ref)
            self.engine.attach(self.mission.id, _ignore)[1]()  # refuse now if impossible
        except OvermindError as exc:  # refused before the upgrade, as the REST routes do
            self.set_status(exc.http_status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(exc.to_json()))
            return
        await super().get(ref, *args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Send the recent screen, then stream; close when the mission ends."""
        super().open(*args, **kwargs)
        self.set_nodelay(True)
        try:
            self._stop_output = self.engine.attach(self.mission.id, self._output)[1]
        except OvermindError as exc:  # it ended between the check and the upgrade
            self.close(1000, exc.message[:100])
            return
        screen = logs.tail(self.mission.log_path, None, max_bytes=SCREEN_TAIL_BYTES)
        if screen:
            self.write_message(screen.encode(), binary=True)
        self.ending = _EndOf(self.mission.id, self._ended)
        self.engine.supervisor.listen(self.ending)

    def _output(self, data: bytes) -> None:
        try:
            self.write_message(data, binary=True)
        except WebSocketClosedError:
            self.on_close()

    def _ended(self, m: Mission) -> None:
        self.close(1000, f"{m.name} {m.status.value}")

    def on_message(self, message: str | bytes) -> None:
        """Keystrokes to the pty; a mission that stopped reading closes the socket."""
        data = message.encode() if isinstance(message, str) else message
        try:
            self.engine.type_keys(self.mission.id, data)
        except OvermindError as exc:
            self.close(1011, exc.message[:100])

    def on_close(self) -> None:
        """Detach from the pty output."""
        if self._stop_output is not None:
            self._stop_output()
            self._stop_output = None
        if self.ending is not None:
            self.engine.supervisor.unlisten(self.ending)
            self.ending = None


class _EndOf(MissionListener):
    """Calls ``then(mission)`` when mission ``mission_id`` has ended."""

    def __init__(self, mission_id: str, then: Callable[[Mission], None]) -> None:
        self.mission_id, self.then = mission_id, then

    def ended(self, m: Mission) -> None:
        """``MissionListener``: call ``then`` for the watched mission."""
        if m.id == self.mission_id:
            self.then(m)


def _ignore(data: bytes) -> None:
    """A listener for the attachability check."""
