"""The engine's targets service (``TargetService``): list, register, drain, disable,
enable, remove and doctor the targets tasks run on (``targets.registry``,
``targets.doctor``).

A target answers as ``{id, name, kind, state, url?, user?, token_env?, capacity, claims,
checks: [{name, ok, detail}], checked_at?, created_at, updated_at}``; a token never does
(``token_env`` names the variable that holds it). A hub configured in the server's
settings (``Settings.hub_url``) is registered as target ``hub`` at start, so a URL and a
token are all a user configures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..config import HUB_TOKEN_ENV, HUB_USER_ENV, Settings
from ..errors import UsageError
from ..store.records import Record
from ..supervisor.clock import Clock
from ..targets import shipping
from ..targets.doctor import Doctor, HubTarget
from ..targets.registry import Targets

CONFIGURED_HUB = "hub"
log = logging.getLogger("overmind.targets")  # the name of the target registered from the settings


class TargetService:
    """Targets of one engine.

    Args:
        targets: the registry.
        environ: the engine's environment (where a target's token variable is read).
        clock: time for the doctor's figures.
        prewarm: starts a hub target's warm servers (``HubRunner.prewarm``).
        root: this engine's root: repositories a host ships here are cloned under
            ``.overmind/remote/`` (this engine is then the remote end of a hub target).
    """

    def __init__(self, targets: Targets, environ: Mapping[str, str], clock: Clock,
                 root: Path, prewarm: Callable[[Record], None] = lambda target: None) -> None:
        self.targets, self.environ, self.clock, self.root = targets, environ, clock, root
        self.prewarm = prewarm

    def register_configured(self, settings: Settings) -> None:
        """When ``settings.hub_url`` is set and no live target is called ``hub``, register
        the configured hub (``settings.hub_user``'s named servers, capacity
        ``settings.hub_capacity``); ``local`` the registry registers itself."""
        if not settings.hub_url or any(r.data.name == CONFIGURED_HUB
                                       for r in self.targets.list()):
            return
        try:
            self.targets.add_hub(CONFIGURED_HUB, settings.hub_url, settings.hub_user or "",
                                 settings.hub_capacity, HUB_TOKEN_ENV, settings.hub_warm)
        except UsageError as err:  # a bad setting must not stop the engine: say it
            log.warning("the configured hub target was not registered: %s (set %s or "
                        "c.Overmind.hub_user for the user)", err.message, HUB_USER_ENV)

    async def targets_list(self) -> list[dict[str, Any]]:
        """Live targets, ``local`` first (shape in the module docstring)."""
        return [r.to_dict() for r in self.targets.list()]

    def prewarm_all(self) -> None:
        """Start the warm servers of every active hub target (at the engine's start)."""
        for target in self.targets.list():
            if target.state == "active":
                self.prewarm(target)

    async def target_add(self, name: str, url: str, user: str, capacity: int = 2,
                         token_env: str = HUB_TOKEN_ENV, doctor: bool = True,
                         warm: int = 0) -> dict[str, Any]:
        """Register hub target ``name`` and, unless ``doctor`` is False, run its doctor
        (the findings are in the answer's ``checks``; a failed check does not undo the
        registration: fix what it names and run ``targets doctor``).

        Raises:
            UsageError: bad arguments or a taken name (see ``Targets.add_hub``).
        """
        rec = self.targets.add_hub(name, url, user, capacity, token_env, warm)
        found = await self.target_doctor(rec.data.name) if doctor else rec.to_dict()
        self.prewarm(self.targets.resolve(rec.data.name))
        return found

    async def target_action(self, ref: str, action: str) -> dict[str, Any]:
        """``drain``, ``disable``, ``enable`` or ``remove`` target ``ref`` (see
        ``Targets.act`` for the errors)."""
        return self.targets.act(ref, action).to_dict()

    async def target_doctor(self, ref: str) -> dict[str, Any]:
        """Run the doctor of hub target ``ref``; the target with its new ``checks``.

        Raises:
            UsageError: ``ref`` is the local target (nothing to check through a hub).
            NotFound: no such target.
        """
        rec = self.targets.resolve(ref)
        if rec.data.kind != "hub":
            raise UsageError(f"target {rec.data.name} is {rec.data.kind}: the doctor checks "
                             "hub targets; `overmind status` describes this machine")
        target = HubTarget(rec.data.name, rec.data.url, rec.data.user, rec.data.token_env)
        checks = await Doctor(target, self.environ, self.clock).run()
        return self.targets.record_checks(rec.id, checks, time.time()).to_dict()


    # -- the remote end: a host's task shipped to this server ------------------------
    async def remote_receive(self, name: str, bundle: str) -> dict[str, Any]:
        """Clone a host's bundle (``targets.shipping.receive``) as ``name``; answers
        ``{name, path, head}``.

        Raises:
            UsageError: a bad name or bundle.
            GitError: git refused the bundle.
        """
        path, head = await shipping.receive(self.root, name, bundle)
        return {"name": name, "path": str(path), "head": head}

    async def remote_result(self, ref: str) -> dict[str, Any]:
        """Commit and bundle shipped repository ``ref`` (``shipping.pack_result``);
        answers ``{name, head, bundle (base64, "" when nothing changed), files}``.

        Raises:
            UsageError: nothing was shipped under ``ref``.
        """
        head, bundle, files = await shipping.pack_result(self.root, ref)
        return {"name": ref, "head": head, "bundle": bundle, "files": files}

    async def remote_discard(self, ref: str) -> dict[str, Any]:
        """Remove shipped repository ``ref``; answers ``{name, removed}``."""
        return {"name": ref, "removed": shipping.discard(self.root, ref)}
