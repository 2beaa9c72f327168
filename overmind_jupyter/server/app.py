"""The Overmind Jupyter server extension: owns one engine for the server's root directory.

Configure with ``c.Overmind.<trait>`` in ``jupyter_server_config.py`` or in a drop-in JSON
file of a config path, e.g. ``/etc/jupyter/jupyter_server_config.d/overmind.json`` =
``{"Overmind": {"model": …, "max_cost_usd": …}}`` (``admin_config``: how a JupyterHub admin
sets defaults for every user; see docs/jupyterhub.md). On load it puts
``OVERMIND_URL`` and a scoped ``OVERMIND_TOKEN`` into the server's environment, so every
kernel started afterwards can reach the engine, and writes the runtime file the CLI reads.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode

from .. import runtime_files
from ..agents import adapters
from ..agents.admin_policy import policy_from_mapping
from ..agents.mcp_access import McpAccess
from ..agents.policy import CommandPolicy
from ..config import (
    AUTO_MERGE_ENV,
    HUB_TOKEN_ENV,
    HUB_URL_ENV,
    HUB_USER_ENV,
    MODEL_ENV,
    MODELS_ENV,
    ROOT_ENV,
    TOKEN_ENV,
    URL_ENV,
    Settings,
)
from ..engine import Engine
from ..workspace.sandbox import ALLOW_ENV, READ_ENV
from . import hub
from .admin_config import drop_in_config
from .mcp import McpEndpoint, McpHandler
from .party_handlers import GUEST_ROUTES
from .routes import ROUTES

API_PREFIX = "overmind/api"
PARTY_PREFIX = "overmind/party"  # guest endpoints: party credentials, no Jupyter login
MCP_PATH = "overmind/mcp"  # Overmind's tools over MCP: mission credentials, no Jupyter login


TASK_SERVER_PREFIX = "overmind-"  # the named servers hub targets start (targets.remote)


def task_server_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The engine root of a named server a host started for tasks (its name starts with
    ``overmind-``; JupyterHub sets ``JUPYTERHUB_SERVER_NAME``), else None.

    A user's named servers share the user's home, so rooting each at the home would make
    their engines share one store: a server starting up would re-adopt, and stop, the
    agents of the others. A task server gets a directory of its own under the system's
    temporary directory instead, removed when the server stops.
    """
    name = environ.get("JUPYTERHUB_SERVER_NAME", "")
    if not name.startswith(TASK_SERVER_PREFIX):
        return None
    owner = environ.get("JUPYTERHUB_USER", "user")
    root = Path(tempfile.gettempdir()) / f"overmind-{owner}-{name}"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


class Overmind(ExtensionApp):
    """Overmind inside Jupyter Server: REST under ``<base_url>overmind/api/``."""

    name = "overmind"
    load_other_extensions = True

    root_dir = Unicode("", config=True, help=(
        "Project root whose missions this server supervises; state lives in "
        "<root>/.overmind/. Default: the server's root_dir."))
    stop_missions_on_exit = Bool(True, config=True, help=(
        "Stop every mission (SIGTERM, grace period, SIGKILL) when the server stops. When "
        "False, missions keep running and are re-adopted by the next server."))
    agents = Dict({}, config=True, help=(
        "Custom ACP agents: name → command argv, e.g. {'mine': ['my-agent', '--acp']}."))
    story_window_s = Float(0.3, min=0.0, config=True, help=(
        "Seconds approved prompts wait for companions before the story agent groups them "
        "into objectives (longer: prompts from several cells or members join one objective)."))
    model = Unicode("", config=True, help=(
        "Default model of the built-in agent and the orchestration roles, e.g. "
        "'openai:gpt-4.1-mini' (used when the server's environment sets no OVERMIND_MODEL)."))
    max_tokens = Int(None, allow_none=True, min=1, config=True, help=(
        "Default token budget of each objective (input + output tokens; None: unlimited)."))
    max_cost_usd = Float(None, allow_none=True, min=0.0, config=True, help=(
        "Default cost budget of each objective in USD (None: unlimited)."))
    auto_merge = Bool(False, config=True, help=(
        "Land agents' accepted changes without review. Default: each change waits for a "
        "reviewer (merge, request changes or close), tested on the target first; a prompt "
        f"opts in with --auto-merge. ${AUTO_MERGE_ENV} (1/0), when set, wins."))
    command_policy = Dict({}, config=True, help=(
        "Command policy of agents' commands: {'allow': [prefix…], 'deny': [prefix…], "
        "'default': 'allow'|'ask'|'deny'} (empty: the built-in policy). It answers agents' "
        "permission requests and binds the built-in agent's own checks (deny wins; see "
        "docs/jupyterhub.md)."))
    hub_member_role = Enum(["collaborator", "viewer"], "collaborator", config=True, help=(
        "Under JupyterHub: the party role of hub users the owner shared the server with."))
    hub_members_need_approval = Bool(False, config=True, help=(
        "Under JupyterHub: hub users who reach the server join the party pending, and the "
        "host approves each (default: approved at once; the hub's share is the approval)."))
    allow_unsandboxed_agents = Bool(False, config=True, help=(
        "Where the OS sandbox (bubblewrap) cannot run (no user namespaces, not installed): "
        "run agent missions and the verification command without it. Default: refuse "
        f"them with an error. ${ALLOW_ENV} (1/0), when set, wins."))
    sandbox_read_paths = List(Unicode(), [], config=True, help=(
        "Extra paths sandboxed agents may read (toolchains outside /usr, the venv and "
        f"~/.cache), e.g. ['/srv/node']. ${READ_ENV} adds more (os.pathsep-separated)."))
    models = List(Unicode(), [], config=True, help=(
        "More models a prompt may choose for its agents (the default model is always a "
        "choice), e.g. ['openai:gpt-4.1', 'openai:qwen@http://127.0.0.1:8091/v1']; "
        f"${MODELS_ENV} adds more (space-separated)."))
    hub_url = Unicode("", config=True, help=(
        "A JupyterHub whose named servers run tasks (target 'hub'), e.g. "
        f"'https://hub.example.org/'; its API token is read from ${HUB_TOKEN_ENV} (never "
        f"from config). ${HUB_URL_ENV}, when set, wins. See docs/scale-out.md."))
    hub_user = Unicode("", config=True, help=(
        "The hub user whose named servers run tasks (default: this server's owner, "
        f"JUPYTERHUB_USER). ${HUB_USER_ENV}, when set, wins."))
    hub_capacity = Int(2, min=1, config=True, help=(
        "How many tasks the configured hub target runs at once (named servers)."))
    hub_warm = Int(0, min=0, config=True, help=(
        "Idle named servers the configured hub target keeps ready, so a task starts in "
        "seconds (at most hub_capacity; they are deleted when the server stops)."))
    daemon = Bool(False, config=True, help=(
        "Set by `overmind start`: `overmind shutdown` then stops this whole server."))

    def load_config_file(self, *args: Any, **kwargs: Any) -> None:
        """Drop-in defaults (``admin_config``) first, then Jupyter's config files on top."""
        self.update_config(drop_in_config(self.config_file_paths))
        super().load_config_file(*args, **kwargs)

    def initialize_settings(self) -> None:
        """Create the engine and the scoped token; export both to future kernels."""
        root = task_server_root() or self.root_dir or self.serverapp.root_dir
        # provider keys go to agent missions only: kernels started later never see them
        keys = adapters.provider_env(os.environ)
        for name in adapters.PROVIDER_KEYS:
            os.environ.pop(name, None)
        if self.model:
            keys.setdefault(MODEL_ENV, self.model)
        # the Jupyter token reaches no mission: read (the identity provider has it), then
        # dropped from the environment every process started from now on inherits
        self.serverapp.identity_provider.token  # noqa: B018 - resolves its default first
        for name in ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE"):
            os.environ.pop(name, None)
        settings = Settings.from_env(
            os.environ, mode="server", allow_unsandboxed=self.allow_unsandboxed_agents,
            sandbox_read=tuple(Path(p) for p in self.sandbox_read_paths),
            story_window_s=self.story_window_s, max_tokens=self.max_tokens,
            auto_merge=self.auto_merge, max_cost_usd=self.max_cost_usd,
            hub_url=self.hub_url or None, hub_user=self.hub_user or None,
            hub_capacity=self.hub_capacity, hub_warm=self.hub_warm,
            models=tuple(self.models))
        # the hub token is the engine's alone: no kernel, terminal or mission inherits it
        hub_token = os.environ.pop(HUB_TOKEN_ENV, None)
        self.engine = Engine(root, settings, provider_env=keys, agents=dict(self.agents),
                             command_policy=self._policy() if self.command_policy else None,
                             mcp=McpAccess(url=lambda: self._url() + MCP_PATH),
                             target_env={**os.environ, **({HUB_TOKEN_ENV: hub_token}
                                                          if hub_token else {})})
        self.token = secrets.token_urlsafe(32)
        self.settings.update(overmind_engine=self.engine, overmind_token=self.token,
                             overmind_app=self)
        os.environ[URL_ENV] = self._url()
        os.environ[TOKEN_ENV] = self.token
        os.environ[ROOT_ENV] = str(self.engine.root)

    def _url(self) -> str:
        s = self.serverapp
        host = s.ip if s.ip not in ("", "0.0.0.0", "::") else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if s.certfile else "http"
        return f"{scheme}://{host}:{s.port}{s.base_url}"

    def _policy(self) -> CommandPolicy:
        """``command_policy`` as a ``CommandPolicy`` (allow/deny default to empty lists).

        Raises:
            UsageError: unknown keys or bad entries (the server then fails to start).
        """
        return policy_from_mapping(self.command_policy, "c.Overmind.command_policy")

    def initialize_handlers(self) -> None:
        """Register the host REST routes and the party's guest routes (the base URL is
        prefixed by ExtensionApp)."""
        self.handlers.extend((url_path_join("/", API_PREFIX, path), handler)
                             for path, handler in ROUTES)
        self.handlers.extend((url_path_join("/", PARTY_PREFIX, path), handler)
                             for path, handler in GUEST_ROUTES)
        self.handlers.append((url_path_join("/", MCP_PATH), McpHandler))

    async def _start_jupyter_server_extension(self, serverapp) -> None:
        """Open the store, reconcile missions, publish the runtime file."""
        report = await self.engine.start()
        self.mcp = McpEndpoint(self.engine)
        self.mcp.start()
        self.settings["overmind_mcp"] = self.mcp
        serverapp.web_app.settings["overmind_mcp"] = self.mcp
        # the address in party invites: through the hub's proxy when the hub says where
        self.engine.party_url = hub.public_url() or self._url()
        os.environ[URL_ENV] = self._url()  # the port is final once the server runs
        runtime_files.write({"url": self._url(), "token": self.token,
                             "root": str(self.engine.root), "pid": os.getpid(),
                             "pid_start": runtime_files.process_started(),
                             "daemon": self.daemon,
                             "sandbox": self.engine.sandbox.status.to_dict()})
        self.log.info("Overmind engine for %s: %s", self.engine.root, report)

    async def stop_extension(self) -> None:
        """Stop missions (unless configured not to) and close the store explicitly."""
        runtime_files.remove()
        await self.engine.close(stop_missions=self.stop_missions_on_exit)
        if task_server_root() is not None:  # nothing of a task server outlives it
            shutil.rmtree(self.engine.root, ignore_errors=True)
        if getattr(self, "mcp", None) is not None:
            await self.mcp.stop()
