"""The built-in agent's tools: typed functions whose failures go back to the model.

Tools: ``read_file``, ``list_dir``, ``search`` (regex over text files, with limits),
``write_file``, ``edit_file`` (exact search/replace; a missing or ambiguous anchor is an
error), ``run_command`` (tool policy, timeout, output truncated with a note). A tool
returns ``ToolResult``; an exception from a tool becomes an error result, never a crash.

Paths are relative to the workspace. Small models also write absolute paths: one inside
the workspace is used as is (``Workspace`` confines it), one into the host checkout the
worktree was made from (``host_checkout``) is mapped to the same path in the worktree, and
a refusal says which relative path to use instead. A bare file name missing from the root
(``__init__.py``) means the one file of the workspace with that name, when there is one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ...errors import OvermindError
from ...llm.contract import ToolCall, ToolSpec
from ..confine import Workspace
from .commands import CommandRunner
from .files import Files

log = logging.getLogger("overmind.agent")
# a page, not a file: tabulate/__init__.py alone is ~25,000 tokens, three times the context
# of a small local model's slot (8,192 tokens); the note says how to read on
READ_LINES = 200  # lines per read_file call
MAX_READ_CHARS = 16_000  # characters per read_file call
SEARCH_MAX_MATCHES = 50
SEARCH_LINE_CHARS = 200
SEARCH_MAX_FILE_BYTES = 1 << 20
# write_file over an existing file of at least this many lines may not drop most of them
# (Qwen 1.5B replaced the 2,000-line tabulate/__init__.py with 30 characters)
SHRINK_GUARD_LINES = 40


@dataclasses.dataclass(frozen=True, slots=True)
class ToolResult:
    """Outcome of one tool call: ``text`` goes back to the model; ``changed`` lists files."""

    ok: bool
    text: str
    changed: tuple[str, ...] = ()


def _schema(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


_S = {"type": "string"}
SPECS = [
    ToolSpec("read_file", f"Read a text file of the workspace, {READ_LINES} lines at a time "
             "from start_line (1-based; search finds the line of a name).",
             _schema({"path": _S, "start_line": {"type": "integer", "default": 1}}, ["path"])),
    ToolSpec("list_dir", "List a directory of the workspace.",
             _schema({"path": {**_S, "default": "."}}, [])),
    ToolSpec("search", "Search text files for a regular expression (Python syntax).",
             _schema({"pattern": _S, "path": {**_S, "default": "."}}, ["pattern"])),
    ToolSpec("write_file", "Create a new text file, or replace a whole file with its "
             "complete new content (to change part of a file, use edit_file).",
             _schema({"path": _S, "content": _S}, ["path", "content"])),
    ToolSpec("edit_file", "Replace the one exact occurrence of old_text with new_text.",
             _schema({"path": _S, "old_text": _S, "new_text": _S},
                     ["path", "old_text", "new_text"])),
    ToolSpec("run_command", "Run a shell command in the workspace (subject to the tool "
             "policy); returns its exit status and output.",
             _schema({"command": _S, "timeout_s": {"type": "number"}}, ["command"])),
    ToolSpec("update_plan", "Share your plan: the full list of steps with their status "
             "(pending, in_progress or completed). Call it again as steps progress.",
             _schema({"entries": {"type": "array", "items": _schema({
                 "content": _S, "status": {"enum": ["pending", "in_progress", "completed"]}},
                 ["content", "status"])}}, ["entries"])),
    ToolSpec("send_message", "Send a message to another agent (its task name) or to the "
             "host (`host`) through the team's mailbox.",
             _schema({"to": _S, "text": _S}, ["to", "text"])),
    ToolSpec("read_messages", "Read the unread messages sent to you.", _schema({}, [])),
]
KINDS = {"read_file": "read", "list_dir": "read", "search": "search", "write_file": "edit",
         "edit_file": "edit", "run_command": "execute", "update_plan": "think",
         "send_message": "other", "read_messages": "other"}
PLAN_STATUSES = ("pending", "in_progress", "completed")


class Toolbox:
    """Runs tool calls against one workspace.

    Args:
        root: the workspace root (the mission's cwd).
        files: where file reads/writes go (ACP client or local).
        commands: runs ``run_command`` under the tool policy.
        mcp: the MCP servers' tools offered in ``session/new`` (``mcp_tools.McpTools``).
    """

    def __init__(self, root: Path, files: Files, commands: CommandRunner,
                 plan: Callable[[list[dict[str, str]]], Awaitable[None]] | None = None,
                 mail: Any = None, mcp: Any = None) -> None:
        self.root, self.files, self.commands = root, files, commands
        self.plan, self.mail, self.mcp = plan, mail, mcp
        self.workspace = Workspace(root)
        self.host = host_checkout(root)
        self._tools: dict[str, Callable[..., Awaitable[ToolResult]]] = {
            "read_file": self.read_file, "list_dir": self.list_dir, "search": self.search,
            "write_file": self.write_file, "edit_file": self.edit_file,
            "run_command": self.run_command, "update_plan": self.update_plan,
            "send_message": self.send_message, "read_messages": self.read_messages}

    async def specs(self) -> list[ToolSpec]:
        """The tools offered to the model: the built-in ones, then the MCP servers'."""
        return SPECS + (await self.mcp.list() if self.mcp is not None else [])

    async def run(self, call: ToolCall) -> ToolResult:
        """Run ``call``; malformed arguments and tool failures become error results."""
        tool = self._tools.get(call.name)
        if tool is None and self.mcp is not None and self.mcp.has(call.name):
            return await self.mcp.call(call.name, call.arguments)
        if tool is None:
            return ToolResult(False, f"unknown tool {call.name!r}; tools: {', '.join(self._tools)}")
        if call.arguments_error:
            return ToolResult(False, f"malformed arguments for {call.name}: "
                                     f"{call.arguments_error}")
        try:
            arguments = self._mapped(call.arguments, call.name)
            return await tool(**arguments)
        except TypeError as exc:
            return ToolResult(False, f"bad arguments for {call.name}: {exc}")
        except (OvermindError, OSError, ValueError, re.error) as exc:
            hint = self._hint(call.arguments.get("path"))
            return ToolResult(False, f"{call.name} failed: {getattr(exc, 'message', exc)}{hint}")
        except Exception as exc:  # a tool bug must not end the prompt: the model hears it
            log.exception("tool %s crashed", call.name)
            return ToolResult(False, f"{call.name} failed unexpectedly: {exc!r}")

    def _mapped(self, arguments: dict[str, Any], tool: str = "") -> dict[str, Any]:
        """``arguments`` with an absolute ``path`` into the host checkout made relative,
        and for reading and editing a bare file name resolved (``_named``)."""
        path = arguments.get("path")
        if isinstance(path, str) and not os.path.isabs(path):
            named = self._named(path) if tool in ("read_file", "edit_file") else path
            return {**arguments, "path": named}
        if not isinstance(path, str) or self.host is None or not os.path.isabs(path):
            return arguments
        inside = _relative(path, self.host)
        if inside is None or _relative(path, self.root) is not None or \
                inside.split(os.sep)[0] == ".overmind":  # other worktrees stay refused
            return arguments
        return {**arguments, "path": inside or "."}

    def _named(self, path: str) -> str:
        """A bare file name that is not in the root (``__init__.py``) as the one file of
        the workspace with that name (``tabulate/__init__.py``); anything else as given."""
        if "/" in path or (self.root / path).exists():
            return path
        same = list(itertools.islice((p for p in _text_files(self.root) if p.name == path), 2))
        return str(same[0].relative_to(self.root)) if len(same) == 1 else path

    def _hint(self, path: Any) -> str:
        """What to do instead, for a path that was refused or not found."""
        if not isinstance(path, str):
            return ""
        name = os.path.basename(path.rstrip("/"))
        same = list(itertools.islice((p for p in _text_files(self.root) if p.name == name),
                                     3)) if name else []
        tips = ", ".join(repr(str(p.relative_to(self.root))) for p in same)
        found = f"; files with that name here: {tips}" if tips else ""
        return f" (paths are relative to the workspace root{found})"

    async def read_file(self, path: str, start_line: int = 1) -> ToolResult:
        """A page of ``READ_LINES`` lines (at most ``MAX_READ_CHARS`` characters) from
        ``start_line``; a note says where the page ends and how to read on."""
        lines = (await self.files.read(path)).splitlines(keepends=True)
        start = min(max(1, int(start_line)), max(1, len(lines)))
        page = "".join(lines[start - 1:start - 1 + READ_LINES])
        if len(page) > MAX_READ_CHARS:
            page = page[:MAX_READ_CHARS].rsplit("\n", 1)[0] + "\n"
        end = start - 1 + len(page.splitlines())
        if start == 1 and end >= len(lines):
            return ToolResult(True, page)
        return ToolResult(True, f"{page}[lines {start}-{end} of {len(lines)} in {path}; read on "
                                f"with start_line={end + 1}, or search for a name to find its "
                                "line]")

    async def list_dir(self, path: str = ".") -> ToolResult:
        entries = self.workspace.list_dir(path)
        lines = [f"{e['name']}{'/' if e.get('type') == 'dir' else ''}" for e in entries]
        return ToolResult(True, "\n".join(lines) or "(empty directory)")

    async def search(self, pattern: str, path: str = ".") -> ToolResult:
        regex = re.compile(pattern)
        base = self.workspace.resolve(path, write=False)
        hits: list[str] = []
        for file in _text_files(base):
            hits.extend(_grep(file, regex, self.root, SEARCH_MAX_MATCHES - len(hits)))
            if len(hits) >= SEARCH_MAX_MATCHES:
                hits.append(f"[stopped after {SEARCH_MAX_MATCHES} matches; narrow the search]")
                break
        return ToolResult(True, "\n".join(hits) or "no matches")

    async def write_file(self, path: str, content: str) -> ToolResult:
        old: str | None = None
        with contextlib.suppress(OvermindError, OSError):  # a new file, or unreadable
            old = await self.files.read(path)
        if old == content:
            return ToolResult(True, f"{path} already has exactly this content: unchanged")
        before, after = (old or "").count("\n"), content.count("\n")
        if old is not None and before >= SHRINK_GUARD_LINES and after < before / 2:
            return ToolResult(False, _cut_refused(path, old, before, after))
        await self.files.write(path, content)
        return ToolResult(True, f"wrote {path} ({len(content)} characters)", (path,))

    async def edit_file(self, path: str, old_text: str, new_text: str) -> ToolResult:
        text = await self.files.read(path)
        count = text.count(old_text) if old_text else 0
        if count != 1:
            why = "was not found" if count == 0 else f"occurs {count} times"
            return ToolResult(False, f"edit_file: old_text {why} in {path}; give an exact, "
                                     "unique excerpt of the current file (read it first)")
        await self.files.write(path, text.replace(old_text, new_text, 1))
        return ToolResult(True, f"edited {path}", (path,))

    async def run_command(self, command: str, timeout_s: float = 120.0) -> ToolResult:
        outcome = await self.commands.run(command, self.root, timeout_s)
        return ToolResult(outcome.ok, outcome.text)


    async def update_plan(self, entries: list[dict[str, str]]) -> ToolResult:
        if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("content"), str)
                and e.get("status") in PLAN_STATUSES for e in entries):
            return ToolResult(False, "entries must be a list of {content, status} with status "
                                     f"one of {', '.join(PLAN_STATUSES)}")
        if self.plan is not None:
            await self.plan([{"content": e["content"], "status": e["status"]} for e in entries])
        done = sum(e["status"] == "completed" for e in entries)
        return ToolResult(True, f"plan recorded ({done}/{len(entries)} steps completed)")


    async def send_message(self, to: str, text: str) -> ToolResult:
        """Mail ``text`` to ``to`` (see ``mail.AcpMail``)."""
        if self.mail is None:
            return ToolResult(False, "no mailbox in this session")
        return await self.mail.send(to, text)

    async def read_messages(self) -> ToolResult:
        """Unread mail of this agent."""
        if self.mail is None:
            return ToolResult(False, "no mailbox in this session")
        return await self.mail.read()


def host_checkout(root: Path) -> Path | None:
    """The work tree a git worktree at ``root`` was added from, or None.

    A linked worktree's ``.git`` is a file ``gitdir: <checkout>/.git/worktrees/<name>``
    (git-worktree(1)); the checkout is two levels above that ``worktrees`` directory.
    """
    try:
        line = (root / ".git").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not line.startswith("gitdir:"):
        return None
    gitdir = Path(line.removeprefix("gitdir:").strip())
    if gitdir.parent.name != "worktrees" or gitdir.parent.parent.name != ".git":
        return None
    return gitdir.parent.parent.parent


def _relative(path: str, base: Path) -> str | None:
    """``path`` relative to ``base`` (``""`` for base itself), None when outside it."""
    norm, top = os.path.normpath(path), os.path.normpath(str(base))
    if norm == top:
        return ""
    return norm[len(top) + 1:] if norm.startswith(top + os.sep) else None


def _cut_refused(path: str, old: str, before: int, after: int) -> str:
    """Why a write that would drop most of a big file is refused, with the exact
    ``edit_file`` call that adds code at its end instead (small models retry the same
    whole-file write when told only to "use edit_file")."""
    tail = "".join(old.splitlines(keepends=True)[-2:])
    call = json.dumps({"path": path, "old_text": tail,
                       "new_text": tail + ("" if tail.endswith("\n") else "\n") +
                       "\n<your new code>\n"})
    return (f"write_file would cut {path} from {before} lines to {after}: it replaces the "
            "whole file, and it was refused. To add code at the end of the file call "
            f"edit_file with {call} (put your code in place of <your new code>). To change "
            "a part, call edit_file with an exact excerpt (read_file first). Use write_file "
            "only with the complete new file.")


def _text_files(base: Path):
    if base.is_file():
        yield base
        return
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and
                             d not in ("node_modules", "__pycache__"))
        for name in sorted(filenames):
            yield Path(dirpath, name)


def _grep(file: Path, regex: re.Pattern, root: Path, room: int) -> list[str]:
    try:
        if file.is_symlink() or file.stat().st_size > SEARCH_MAX_FILE_BYTES:
            return []
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if regex.search(line):
            out.append(f"{file.relative_to(root)}:{number}: {line[:SEARCH_LINE_CHARS]}")
            if len(out) >= room:
                break
    return out
