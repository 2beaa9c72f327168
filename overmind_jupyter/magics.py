"""``%overmind`` / ``%%overmind`` IPython magics (``%load_ext overmind``).

In a kernel started by a Jupyter server with the Overmind extension the magics talk to the
server's engine over REST (``OVERMIND_URL`` / ``OVERMIND_TOKEN``); elsewhere (plain
IPython, VS Code, a server without the extension) they start the same engine embedded in
the kernel. Async work runs on a private event-loop thread (an anyio blocking portal), so
the magics work whether or not the kernel's own loop is running.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import shlex
import time
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import DisplayHandle, display
from traitlets import CaselessStrEnum, Float, Unicode

from . import commands, runtime_files
from .api import EngineAPI
from .commands import HelpRequested, Result
from .errors import EngineUnavailable, OvermindError
from .portal import Portal

if TYPE_CHECKING:
    from .widgets.snapshots import Snapshots


@magics_class
class OvermindMagics(Magics):
    """``%overmind COMMAND …`` runs the shared grammar; ``%%overmind prompt`` submits a cell.

    Configure with ``%config OvermindMagics.<trait> = …`` or ``c.OvermindMagics.<trait>``.
    """

    mode = CaselessStrEnum(["auto", "server", "embedded"], "auto", config=True, help=(
        "auto: use the Jupyter server's engine when reachable, else embed one; server: "
        "require the server's engine; embedded: always run an engine inside this kernel."))
    url = Unicode("", config=True, help="Server URL to use instead of $OVERMIND_URL.")
    token = Unicode("", config=True, help="Scoped token to use instead of $OVERMIND_TOKEN.")
    wait_refresh_s = Float(1.0, config=True, help="Progress refresh of `wait` (s).")
    widgets = CaselessStrEnum(["auto", "on", "off"], "auto", config=True, help=(
        "Live widgets for `ps`, `logs ID -f` and `questions`: auto = in a Jupyter kernel "
        "(they carry an HTML/text snapshot for frontends without widgets); off = text."))
    snapshot_refresh_s = Float(3.0, config=True, help=(
        "Seconds between two looks for changes that rewrite displayed widgets' saved "
        "snapshots (also done when a cell ends); 0: only when a cell ends."))

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.portal = Portal()
        self.api: EngineAPI | None = None
        self.engine: Any = None
        self.snapshots: Snapshots | None = None  # once a widget command ran

    # -- connection -------------------------------------------------------------------
    def connect(self) -> Any:
        """The engine interface: a REST client, or an engine embedded in this kernel."""
        if self.api is None:
            self.api = self.portal.call(self._connect)
        return self.api

    async def _connect(self) -> Any:
        if self.mode != "embedded":
            client = self._client()
            if client is not None:
                try:
                    await client.status()
                    return client
                except EngineUnavailable:
                    if self.mode == "server":
                        raise
            elif self.mode == "server":
                raise EngineUnavailable("no Overmind server found: this kernel has no "
                                        "OVERMIND_URL; set %config OvermindMagics.url")
        return await self._embed()

    def _client(self) -> Any:
        from .client import Client
        if self.url and self.token:
            return Client(self.url, self.token)
        return Client.discover()

    async def _embed(self) -> Any:
        import os

        from .config import Settings
        from .engine import Engine
        self.engine = Engine(runtime_files.project_root(os.getcwd()),
                             Settings.from_env(mode="embedded"))
        await self.engine.start()
        atexit.register(self.close)
        return self.engine

    def close(self) -> None:
        """Stop an embedded engine (and its missions), the snapshots' refresh and the
        portal thread."""
        if self.snapshots is not None:
            self.snapshots.close()
            if self.shell is not None:
                self.shell.events.unregister("post_run_cell", self._cell_ended)
            self.snapshots = None
        if self.engine is not None:
            with contextlib.suppress(Exception):
                self.portal.call(self.engine.close)
            self.engine = None
        self.api = None
        self.portal.close()

    # -- the magic ----------------------------------------------------------------------
    @line_cell_magic
    def overmind(self, line: str, cell: str | None = None) -> None:
        """``%overmind COMMAND [ARGS]`` — see ``%overmind --help``."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise IPythonUsageError(f"cannot parse the command line: {exc}") from None
        if cell is not None:
            words = self._cell_words(words, cell)
        try:
            args = commands.parse(words, prog="%overmind")
            if self._show_widget(args):
                return
            result = self._execute(args)
        except HelpRequested as exc:
            print(exc.message)
            return
        except OvermindError as exc:
            raise IPythonUsageError(exc.message) from None
        self._show(result)

    def _show_widget(self, args: Any) -> bool:
        """Display the live widget of ``args`` when it has one and widgets are on."""
        if self.widgets == "off" or (self.widgets == "auto" and not _in_kernel(self.shell)):
            return False
        from .widgets import for_command
        api = self.connect()
        snapshots = self._snapshots(api)
        pending = _pending(args)  # a prompt: the story agent may take seconds to group it
        try:
            widget = for_command(api, args, self.portal)
        except BaseException as exc:
            _settle(pending, exc)
            raise
        if widget is None:
            return False
        snapshots.show(widget, into=pending)
        follow_up = getattr(widget, "follow_up", None)  # `prompt --wait`: text at the end
        if follow_up is not None:
            try:
                result = self.portal.call(follow_up, api)
            except KeyboardInterrupt:
                result = Result("(stopped waiting; the objective goes on)\n")
            if result is not None:
                self._cell_ended()  # the tree above says what the summary says
                self._show(result)
        return True

    def _snapshots(self, api: EngineAPI) -> Snapshots:
        """The ``Snapshots`` keeping displayed widgets' outputs true (made on first use,
        before any widget takes its first snapshot)."""
        if self.snapshots is None:
            from .widgets.snapshots import Snapshots
            self.snapshots = Snapshots(api, self.portal, self.snapshot_refresh_s)
            if self.shell is not None:
                self.shell.events.register("post_run_cell", self._cell_ended)
        return self.snapshots

    def _cell_ended(self, *result: Any) -> None:
        """``post_run_cell``: rewrite the outputs whose snapshot changed, while the cell's
        request is still the parent (executors keep only its messages)."""
        if self.snapshots is not None:
            with contextlib.suppress(OvermindError):  # engine away: outputs stay as they are
                self.snapshots.flush()

    def _cell_words(self, words: list[str], cell: str) -> list[str]:
        if words[:1] != ["prompt"]:
            raise IPythonUsageError("%%overmind takes `prompt [options]` with the prompt as "
                                    "the cell body")
        return [*words, "--", cell.strip()] if "--" not in words else [*words, cell.strip()]

    def _execute(self, args: Any) -> Result:
        api = self.connect()
        if args.cmd == "status":
            return self._status(api, args)
        if args.cmd == "wait":
            return self._wait(api, args)
        if args.cmd in ("start", "shutdown", "attach"):
            raise OvermindError(f"`{args.cmd}` is a terminal command: run `overmind "
                                f"{args.cmd}` in a terminal")
        return self.portal.call(commands.execute, api, args, None)

    def _status(self, api: EngineAPI, args: Any) -> Result:
        result = self.portal.call(commands.execute, api, args, None)
        if not args.json:
            where = ("the Jupyter server's engine (REST)" if api is not self.engine
                     else "an engine embedded in this kernel")
            result.text = f"mode: {api.mode} — using {where}\n" + result.text
        return result

    def _wait(self, api: EngineAPI, args: Any) -> Result:
        """``wait`` with a progress line refreshed every ``wait_refresh_s`` seconds."""
        handle = display({"text/plain": f"waiting for {args.id}…"}, raw=True, display_id=True)
        began, deadline = time.monotonic(), args.timeout
        while True:
            left = None if deadline is None else deadline - (time.monotonic() - began)
            step = self.wait_refresh_s if left is None else max(0.0, min(left, self.wait_refresh_s))
            m = self.portal.call(api.wait, args.id, step)
            if m.status.terminal or (left is not None and left <= step):
                break
            handle.update({"text/plain": f"waiting for {m.name}: {m.status.value}, "
                                         f"{time.monotonic() - began:.0f} s"}, raw=True)
        handle.update({"text/plain": ""}, raw=True)
        return commands.waited(m, args.timeout)

    def _show(self, result: Result) -> None:
        if result.stream is not None:
            self._follow(result.stream)
            return
        if result.html:
            display({"text/plain": result.text, "text/html": result.html}, raw=True)
        elif result.text:
            print(result.text, end="")

    def _follow(self, stream: Any) -> None:
        """Print chunks until the mission ends; Ctrl-C / interrupt stops following only."""
        try:
            while True:
                chunk = self.portal.next(stream)
                if chunk is None:
                    break
                print(chunk, end="", flush=True)
        except KeyboardInterrupt:
            print("\n(stopped following; the mission keeps running)")
        finally:
            self.portal.close_iterator(stream)


def _in_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (whose frontend may render widgets), not in a terminal."""
    return getattr(shell, "kernel", None) is not None


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%overmind`` / ``%%overmind`` on ``ipython``."""
    magics = OvermindMagics(shell=ipython)
    ipython.register_magics(magics)
    ipython._overmind_magics = magics


def unload_ipython_extension(ipython: Any) -> None:
    """Stop an embedded engine when the extension is unloaded."""
    magics = getattr(ipython, "_overmind_magics", None)
    if magics is not None:
        magics.close()


PENDING = ("prompt sent: the story agent is grouping it into an objective; its execution "
           "tree replaces this line")


def _pending(args: Any) -> DisplayHandle | None:
    """For ``prompt``, a line shown at once (the tree replaces it), else None."""
    if args.cmd != "prompt" or getattr(args, "json", False):
        return None
    return display({"text/plain": PENDING,
                    "text/html": f'<pre class="overmind-snapshot">{PENDING}</pre>'},
                   raw=True, display_id=True)


def _settle(pending: DisplayHandle | None, exc: BaseException) -> None:
    """The pending line of a prompt that was not submitted says so (the error follows)."""
    if pending is not None:
        text = ("prompt not sent: " + exc.message if isinstance(exc, OvermindError)
                else "prompt not sent")
        pending.update({"text/plain": text, "text/html": f"<pre>{html.escape(text)}</pre>"},
                       raw=True)
