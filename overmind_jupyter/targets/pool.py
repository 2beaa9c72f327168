"""A warm pool of named servers per hub target: started before tasks need them, so a
task placed there starts its agent in seconds instead of waiting for a spawn.

A hub target with ``warm`` = N keeps up to N idle named servers (``overmind-pool-<hex>``)
ready. A task takes one (``take``) and the pool starts another in the background; when the
task ends its server comes back (``give_back``) while the pool has room, else it is
stopped and deleted. ``close`` stops and deletes every idle server (the engine's close).
Idle servers are the hub's to cull too: one that stopped is noticed when taken (it is not
ready any more) and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets

from .hub_api import HubAPI, HubRefused, HubUnreachable


@dataclasses.dataclass(frozen=True)
class PooledServer:
    """An idle named server: its hub ``api``, ``user``, ``name`` and ``url`` (path)."""

    api: HubAPI
    user: str
    name: str
    url: str


class WarmPool:
    """Idle named servers by target name (module docstring).

    Args:
        start_timeout_s: how long a server may take to become ready (s).
    """

    def __init__(self, start_timeout_s: float) -> None:
        self.start_timeout_s = start_timeout_s
        self.idle: dict[str, list[PooledServer]] = {}
        self.starting: dict[str, int] = {}
        self.tasks: set[asyncio.Task] = set()

    async def take(self, target: str) -> PooledServer | None:
        """An idle server of ``target`` that is still ready, or None (none left)."""
        while self.idle.get(target):
            server = self.idle[target].pop(0)
            with contextlib.suppress(HubUnreachable, HubRefused):
                found = (await server.api.user(server.user)).servers.get(server.name)
                if found is not None and found.ready:
                    return server
            await _remove(server, self.start_timeout_s)
        return None

    def fill(self, target: str, api: HubAPI, user: str, size: int) -> None:
        """Start servers in the background until ``target`` has ``size`` idle or
        starting ones (a failed start is dropped: the doctor says why)."""
        missing = size - len(self.idle.get(target, [])) - self.starting.get(target, 0)
        for _ in range(max(0, missing)):
            self.starting[target] = self.starting.get(target, 0) + 1
            task = asyncio.create_task(self._start(target, api, user))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def give_back(self, target: str, server: PooledServer, size: int) -> bool:
        """Keep ``server`` idle for ``target`` if the pool has room; whether it did."""
        if len(self.idle.get(target, [])) + self.starting.get(target, 0) >= size:
            return False
        self.idle.setdefault(target, []).append(server)
        return True

    async def close(self) -> None:
        """Stop starting servers and delete every idle one."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        idle = [s for servers in self.idle.values() for s in servers]
        self.idle.clear()
        await asyncio.gather(*(_remove(s, self.start_timeout_s) for s in idle))

    async def _start(self, target: str, api: HubAPI, user: str) -> None:
        name = f"overmind-pool-{secrets.token_hex(4)}"
        server = PooledServer(api, user, name, "")
        try:
            await api.start_server(user, name)
            ready = await api.wait_ready(user, name, self.start_timeout_s)
            self.idle.setdefault(target, []).append(dataclasses.replace(server, url=ready.url))
        except (HubUnreachable, HubRefused):
            await _remove(server, self.start_timeout_s)
        except asyncio.CancelledError:
            await asyncio.shield(_remove(server, self.start_timeout_s))
            raise
        finally:
            self.starting[target] -= 1


async def _remove(server: PooledServer, timeout_s: float) -> None:
    await server.api.delete_server(server.user, server.name, timeout_s)
