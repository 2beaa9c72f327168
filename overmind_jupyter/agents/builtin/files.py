"""Where the built-in agent's file tools read and write.

``ClientFiles`` goes through the ACP client's ``fs/read_text_file`` / ``fs/write_text_file``
(the engine confines those to the workspace); ``LocalFiles`` is the fallback when the
client does not offer them, confined locally by ``agents.confine.Workspace``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from ...errors import OvermindError
from ..confine import Workspace


class Files(Protocol):
    """Text file access for the agent's tools; paths are relative to the workspace root."""

    async def read(self, path: str) -> str:
        """The file's text. Raises an ``OvermindError`` (e.g. ``PathDenied``) or ``OSError``."""
        ...

    async def write(self, path: str, content: str) -> None:
        """Replace the file's text (creating parents)."""
        ...


class LocalFiles:
    """Files in ``workspace``, opened without following symlinks out of it."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    async def read(self, path: str) -> str:
        """See ``Files.read``."""
        return self.workspace.read_text(path)

    async def write(self, path: str, content: str) -> None:
        """See ``Files.write``."""
        self.workspace.write_text(path, content)


class ClientFiles:
    """Files served by the ACP client (absolute paths on the wire, per the ACP spec)."""

    def __init__(self, conn: Any, session_id: str, root: Path, workspace: Workspace) -> None:
        self.conn, self.session_id, self.root = conn, session_id, root
        self.workspace = workspace

    def _absolute(self, path: str, write: bool) -> str:
        # validate locally first so refusals read the same in both modes
        return str(self.workspace.resolve(path, write=write))

    async def read(self, path: str) -> str:
        """See ``Files.read``; the client's refusal becomes an ``OvermindError``."""
        from acp import RequestError
        try:
            response = await self.conn.read_text_file(session_id=self.session_id,
                                                      path=self._absolute(path, False))
        except RequestError as exc:
            raise OvermindError(_client_message(exc, f"cannot read {path}")) from None
        return response.content

    async def write(self, path: str, content: str) -> None:
        """See ``Files.write``; the client's refusal becomes an ``OvermindError``."""
        from acp import RequestError
        try:
            await self.conn.write_text_file(session_id=self.session_id,
                                            path=self._absolute(path, True), content=content)
        except RequestError as exc:
            raise OvermindError(_client_message(exc, f"cannot write {path}")) from None


def _client_message(exc: Exception, fallback: str) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return f"{fallback}: {exc}"
