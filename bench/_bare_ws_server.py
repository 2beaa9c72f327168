"""The baseline of ``server_bench.py``: a minimal tornado websocket broadcast server.

    python bench/_bare_ws_server.py PORT

``/ws``: every open socket receives every broadcast frame. ``POST /emit`` ``{"rate", "n"}``
emits events at the same steady rate as the Overmind bench extension (``_pacing.paced``),
serialises each group of due events once (the same ``{"type": "events", "events": [...]}``
frame and event shape as Overmind's stream) and writes it to every socket.
``POST /prefill`` ``{"n"}`` builds ``n`` events in memory; ``/replay`` (websocket) then
sends them in frames of 2,000 events, as Overmind's replay does, awaiting each write.
Prints ``ready`` once listening.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import tornado.web
import tornado.websocket
from _pacing import paced

CLIENTS: set[tornado.websocket.WebSocketHandler] = set()
STORED: list[dict] = []
SEQ = [0]
REPLAY_CHUNK = 2000


def event(i: int, type_: str) -> dict:
    SEQ[0] += 1
    return {"seq": SEQ[0], "ts": time.time(), "type": type_, "mission": None,
            "objective": None, "party": None, "data": {"t": time.time(), "i": i}}


def frame(events: list[dict]) -> str:
    return json.dumps({"type": "events", "events": events}, separators=(",", ":"))


class Broadcast(tornado.websocket.WebSocketHandler):
    def open(self) -> None:
        if self.get_argument("nodelay", "1") == "1":
            self.set_nodelay(True)  # as Overmind's event socket does
        CLIENTS.add(self)

    def on_close(self) -> None:
        CLIENTS.discard(self)


class Replay(tornado.websocket.WebSocketHandler):
    def open(self) -> None:
        self.set_nodelay(True)
        self.task = asyncio.get_running_loop().create_task(self.send_all())

    async def send_all(self) -> None:
        for k in range(0, len(STORED), REPLAY_CHUNK):
            await self.write_message(frame(STORED[k:k + REPLAY_CHUNK]))


class Emit(tornado.web.RequestHandler):
    async def post(self) -> None:
        a = json.loads(self.request.body)

        def emit(first: int, count: int) -> None:
            text = frame([event(i, "bench-tick") for i in range(first, first + count)])
            for c in list(CLIENTS):
                try:
                    c.write_message(text)
                except tornado.websocket.WebSocketClosedError:
                    CLIENTS.discard(c)

        stats = await paced(float(a["rate"]), int(a["n"]), emit)
        self.finish(json.dumps(stats))


class Prefill(tornado.web.RequestHandler):
    def post(self) -> None:
        n = int(json.loads(self.request.body)["n"])
        STORED[:] = [event(i, "bench-fill") for i in range(n)]
        self.finish(json.dumps({"n": n}))


async def main(port: int) -> None:
    app = tornado.web.Application([(r"/ws", Broadcast), (r"/replay", Replay),
                                   (r"/emit", Emit), (r"/prefill", Prefill)])
    app.listen(port, address="127.0.0.1")
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
