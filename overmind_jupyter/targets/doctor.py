"""The doctor of a hub target: what placement needs, checked through the Hub API, each
finding named with what to set when it is missing (orcha's target doctor).

Checks, in order (a failed one stops those that depend on it; they read "not checked"):

    hub             GET /hub/api/ answers (version)
    token           the token variable is set, the hub accepts it, and it is the target
                    user's own (Overmind on a user's server answers only its owner)
    scopes          servers, read:servers and access:servers on the target's user
    named-servers   a probe named server ``overmind-doctor`` can be created (a refusal
                    names allow_named_servers or the named-server limit)
    server          the probe server becomes ready (s it took)
    extension       the probe server answers overmind/api/status (the extension enabled)
    git             the probe server's engine finds git
    agents          which agents the probe server has installed
    sandbox         the probe server's OS sandbox (bubblewrap) works

The probe server is stopped and removed whatever happens (``stop_server`` + ``wait_gone``),
so a doctor leaves nothing behind on the hub.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..store.kinds import TargetCheck
from ..supervisor.clock import Clock
from .hub_api import HubAPI, HubRefused, HubServer, HubUnreachable

PROBE_SERVER = "overmind-doctor"
NEEDED_SCOPES = ("servers", "read:servers", "access:servers")
START_TIMEOUT_S = 90.0  # s a probe server may take to start (the hub's own default is 60)
CHECK_NAMES = ("hub", "token", "scopes", "named-servers", "server", "extension", "git",
               "agents", "sandbox")


@dataclass(frozen=True, slots=True)
class HubTarget:
    """What the doctor needs of a hub target: ``name``, hub ``url``, hub ``user`` and the
    name of the environment variable holding the token (``token_env``)."""

    name: str
    url: str
    user: str
    token_env: str


class Doctor:
    """Runs the checks of one hub target (module docstring).

    Args:
        target: the target to check.
        environ: where the token variable is read (the engine's environment).
        clock: monotonic time for the start-up figure.
        start_timeout_s: how long the probe server may take to become ready (s).
    """

    def __init__(self, target: HubTarget, environ: Mapping[str, str], clock: Clock,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.target, self.environ, self.clock = target, environ, clock
        self.start_timeout_s = start_timeout_s
        self.checks: list[TargetCheck] = []

    async def run(self) -> list[TargetCheck]:
        """Every check's finding, in ``CHECK_NAMES`` order (never raises for what the hub
        answers: an unreachable hub or a refusal is a failed finding)."""
        token = self.environ.get(self.target.token_env, "")
        api = HubAPI(self.target.url, token, self.clock.sleep)
        await self._checks(api, token)
        done = {c.name for c in self.checks}
        self.checks += [TargetCheck(name=n, ok=False, skipped=True, detail="not checked: "
                                    "an earlier check failed") for n in CHECK_NAMES
                        if n not in done]
        return self.checks

    async def _checks(self, api: HubAPI, token: str) -> None:
        if not await self._hub(api) or not await self._token(api, token):
            return
        if not await self._named_servers(api):
            return
        try:
            server = await self._server(api)
            if server is not None:
                await self._remote(api, server)
        finally:
            await api.delete_server(self.target.user, PROBE_SERVER, self.start_timeout_s)

    def _found(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(TargetCheck(name=name, ok=ok, detail=detail))
        return ok

    async def _hub(self, api: HubAPI) -> bool:
        try:
            version = await api.version()
        except (HubUnreachable, HubRefused) as err:
            return self._found("hub", False, err.message)
        return self._found("hub", True, f"JupyterHub {version} at {api.url}")

    async def _token(self, api: HubAPI, token: str) -> bool:
        if not token:
            return self._found("token", False, f"{self.target.token_env} is not set in the "
                               "server's environment: set it to a hub API token")
        try:
            who = await api.identity()
        except (HubUnreachable, HubRefused) as err:
            return self._found("token", False, f"the hub refused the token in "
                               f"{self.target.token_env}: {err.message}")
        if (who.kind, who.name) != ("user", self.target.user):
            return self._found("token", False, f"the token in {self.target.token_env} is "
                               f"{who.kind} {who.name}'s, not {self.target.user}'s: Overmind "
                               f"on {self.target.user}'s servers answers only its owner, so "
                               f"give a token of hub user {self.target.user}")
        self._found("token", True, f"hub user {who.name}")
        missing = [s for s in NEEDED_SCOPES
                   if not has_scope(who.scopes, s, self.target.user, who.name)]
        return self._found("scopes", not missing, (
            f"{', '.join(NEEDED_SCOPES)} on {self.target.user}" if not missing else
            f"the token lacks {', '.join(missing)} on user {self.target.user}: grant them "
            "in c.JupyterHub.load_roles (e.g. scopes [\"servers!user="
            f"{self.target.user}\", \"read:servers!user={self.target.user}\", "
            f"\"access:servers!user={self.target.user}\"])"))

    async def _named_servers(self, api: HubAPI) -> bool:
        try:
            await api.start_server(self.target.user, PROBE_SERVER)
        except (HubUnreachable, HubRefused) as err:
            return self._found("named-servers", False, _named_hint(err.message))
        return self._found("named-servers", True, f"allowed for {self.target.user}")

    async def _server(self, api: HubAPI) -> HubServer | None:
        began = self.clock.monotonic()
        try:
            server = await api.wait_ready(self.target.user, PROBE_SERVER, self.start_timeout_s)
        except (HubUnreachable, HubRefused) as err:
            self._found("server", False, err.message)
            return None
        self._found("server", True, f"{PROBE_SERVER} ready in "
                    f"{self.clock.monotonic() - began:.1f} s")
        return server

    async def _remote(self, api: HubAPI, server: HubServer) -> None:
        try:
            status = await api.call("GET", server.url + "overmind/api/status")
        except (HubUnreachable, HubRefused) as err:
            self._found("extension", False, "the spawned server does not answer "
                        f"overmind/api/status ({err.message}): install overmind-jupyter in "
                        "its image and enable the server extension")
            return
        self._found("extension", True, f"Overmind {status.get('version', '?')}")
        self._tools(status, await _agents(api, server))

    def _tools(self, status: dict[str, Any], agents: list[dict[str, Any]]) -> None:
        git = status.get("git")
        self._found("git", bool(git), git or "git is not on the server's PATH: add it to "
                    "the image")
        installed = [a["name"] for a in agents if a.get("installed")]
        self._found("agents", bool(installed), ", ".join(installed) or "no agent is installed")
        sandbox = status.get("sandbox") or {}
        self._found("sandbox", bool(sandbox.get("available")), sandbox.get("reason") or (
            "bubblewrap works" if sandbox.get("available") else "no OS sandbox"))


async def _agents(api: HubAPI, server: HubServer) -> list[dict[str, Any]]:
    with contextlib.suppress(HubRefused, HubUnreachable):
        found = await api.call("GET", server.url + "overmind/api/agents")  # {agents: [...]}
        return list(found.get("agents") or []) if isinstance(found, dict) else []
    return []


def has_scope(scopes: frozenset[str], scope: str, user: str, who: str) -> bool:
    """Whether expanded hub ``scopes`` grant ``scope`` on ``user``'s servers: unfiltered,
    filtered to the user (``scope!user=USER``), or ``scope!user`` when the token is the
    user's own (``who`` = ``user``). See JupyterHub's scopes reference (filters)."""
    wanted = {scope, f"{scope}!user={user}"}
    if who == user:
        wanted.add(f"{scope}!user")
    return bool(wanted & scopes)


def _named_hint(message: str) -> str:
    if "not enabled" in message:
        return (f"{message}: set c.JupyterHub.allow_named_servers = True in the hub's "
                "configuration")
    if "maximum" in message:
        return (f"{message}: raise c.JupyterHub.named_server_limit_per_user or lower the "
                "target's capacity")
    return message
