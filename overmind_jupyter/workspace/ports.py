"""Port blocks for workspaces: ``n`` consecutive TCP ports, free on 127.0.0.1.

A port counts as free when a socket can bind ``127.0.0.1:port`` without ``SO_REUSEADDR``
(so a listener on 127.0.0.1 or on the wildcard address, and a connection lingering in
TIME_WAIT, all make it busy). The default range 20000–29999 lies below Linux's ephemeral
range (``net.ipv4.ip_local_port_range`` 32768–60999), so outgoing connections do not
take the ports a workspace was given. The search starts at a random place in the range
and moves on after each allocation, so two engines on one machine rarely probe the same
ports and a released block is not handed out again at once.
"""

from __future__ import annotations

import random
import socket

from .errors import PortsExhausted


class PortAllocator:
    """Hands out blocks of consecutive free ports and never the same port twice while
    it is allocated.

    Args:
        low, high: the range ``[low, high)`` to allocate from (1024 ≤ low < high ≤ 65536).
        host: the address a port must be free on.
        start: the first port to try (default: random within the range).

    Raises:
        ValueError: a bad range.
    """

    def __init__(self, low: int = 20000, high: int = 30000, host: str = "127.0.0.1",
                 start: int | None = None) -> None:
        if not 1024 <= low < high <= 65536:
            raise ValueError(f"port range [{low}, {high}) must lie within [1024, 65536)")
        self.low, self.high, self.host = low, high, host
        self._next = start if start is not None else random.randrange(low, high)
        self._allocated: set[int] = set()

    @property
    def allocated(self) -> frozenset[int]:
        """The ports handed out and not yet released."""
        return frozenset(self._allocated)

    def allocate(self, n: int) -> tuple[int, ...]:
        """``n`` consecutive ports, each free now; ``()`` when ``n`` is 0.

        Raises:
            ValueError: ``n`` < 0.
            PortsExhausted: no such block in the whole range.
        """
        if n < 0:
            raise ValueError(f"cannot allocate {n} ports")
        if n == 0:
            return ()
        size = self.high - self.low
        for step in range(size):
            first = self.low + (self._next - self.low + step) % size
            block = tuple(range(first, first + n))
            if block[-1] < self.high and self._usable(block):
                self._allocated.update(block)
                self._next = block[-1] + 1
                return block
        raise PortsExhausted(
            f"no block of {n} free consecutive port(s) in [{self.low}, {self.high}): release "
            f"finished workspaces or give the PortAllocator a larger range")

    def release(self, ports: tuple[int, ...] | list[int]) -> None:
        """Give ``ports`` back; ports not allocated here are ignored."""
        self._allocated.difference_update(ports)

    def _usable(self, block: tuple[int, ...]) -> bool:
        return all(p not in self._allocated and self._bindable(p) for p in block)

    def _bindable(self, port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((self.host, port))
            except OSError:
                return False
        return True
