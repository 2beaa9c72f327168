"""A minimal websocket client for the benchmarks (asyncio protocol, RFC 6455 subset).

It is the measuring instrument of ``server_bench.py``, the same for the Overmind server and
the bare tornado baseline. In ``record`` mode ``data_received`` only stores
``(time.time(), bytes)``; frames are parsed after the run (``frames_with_times``), so the
client's own parsing cost cannot delay the timestamps of later frames. Otherwise frames
are parsed as they arrive and handed to ``on_frame(opcode, payload)``.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import os
import time
from collections.abc import Callable


def parse_frames(buf: bytes | bytearray, pos: int = 0) -> tuple[list[tuple[int, bytes, int]], int]:
    """Complete frames in ``buf`` from ``pos``: ``[(opcode, payload, end offset)]``, new pos."""
    out = []
    n = len(buf)
    while pos + 2 <= n:
        b0, b1 = buf[pos], buf[pos + 1]
        length, hdr = b1 & 0x7F, 2
        if length == 126:
            if pos + 4 > n:
                break
            length, hdr = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
        elif length == 127:
            if pos + 10 > n:
                break
            length, hdr = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
        if b1 & 0x80:
            hdr += 4  # a masked server frame would be a protocol error; skip its key
        end = pos + hdr + length
        if end > n:
            break
        if not b0 & 0x80:
            raise ValueError("fragmented frames are not supported by this bench client")
        out.append((b0 & 0x0F, bytes(buf[pos + hdr:end]), end))
        pos = end
    return out, pos


def masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask)."""
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + key + body


class WsClient(asyncio.Protocol):
    """One websocket connection to ``host:port`` + ``path``."""

    def __init__(self, host: str, port: int, path: str, headers: dict[str, str] | None = None,
                 record: bool = False,
                 on_frame: Callable[[int, bytes], None] | None = None) -> None:
        self.host, self.port, self.path = host, port, path
        self.headers = headers or {}
        self.record, self.on_frame = record, on_frame
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.head = b""
        self.chunks: list[tuple[float, bytes]] = []
        self.buf = bytearray()
        self.last_rx = 0.0
        self.nbytes = 0
        self.transport: asyncio.Transport | None = None

    @classmethod
    async def connect(cls, host: str, port: int, path: str, timeout_s: float = 20.0,
                      **kw) -> WsClient:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(lambda: cls(host, port, path, **kw), host, port)
        await asyncio.wait_for(asyncio.shield(proto.opened), timeout_s)
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13", *(f"{k}: {v}" for k, v in self.headers.items())]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.head.split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                self.opened.set_exception(ConnectionError(
                    f"websocket upgrade refused: {self.head[:300]!r}"))
                return
            self.opened.set_result(None)
            data, self.head = self.head[end + 4:], b""
            if not data:
                return
        if self.record:
            self.chunks.append((time.time(), data))
            self.nbytes += len(data)
            self.last_rx = time.monotonic()
            return
        self.buf += data
        self.nbytes += len(data)
        frames, pos = parse_frames(self.buf)
        if pos:
            del self.buf[:pos]
        for opcode, payload, _ in frames:
            if opcode == 9:  # ping
                self.transport.write(masked(0xA, payload))
            elif opcode == 8:
                self.transport.close()
            elif self.on_frame is not None:
                self.on_frame(opcode, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the upgrade"))
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            try:
                self.transport.write(masked(0x8, (1000).to_bytes(2, "big")))
            finally:
                self.transport.close()

    def frames_with_times(self) -> list[tuple[int, bytes, float]]:
        """Record mode: every frame with the time its last byte arrived."""
        data = b"".join(c for _, c in self.chunks)
        ends, total = [], 0
        for _, c in self.chunks:
            total += len(c)
            ends.append(total)
        frames, _ = parse_frames(data)
        return [(op, payload, self.chunks[bisect.bisect_left(ends, end)][0])
                for op, payload, end in frames]
