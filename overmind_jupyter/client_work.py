"""The REST client's orchestration methods (``WorkClient``, mixed into ``client.Client``):
same names, arguments and return shapes as the engine's ``WorkFacade``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def _q(ref: str) -> str:
    return quote(ref, safe="")


class WorkClient:
    """Prompts, objectives and changes over REST (needs ``self._call``)."""

    async def prompt(self, text: str, agent: str | None = None, wait: bool = False,
                     member: str = "host", shared: bool = False) -> dict[str, Any]:
        """See ``WorkFacade.prompt`` (``wait`` has no request timeout)."""
        return await self._call("POST", "prompts", {"text": text, "agent": agent, "wait": wait,
                                                    "shared": shared},
                                timeout_s=86_400.0 if wait else None)

    async def objectives(self) -> list[dict[str, Any]]:
        """See ``WorkFacade.objectives``."""
        return (await self._call("GET", "objectives"))["objectives"]

    async def objective(self, ref: str) -> dict[str, Any]:
        """See ``WorkFacade.objective``."""
        return await self._call("GET", f"objectives/{_q(ref)}")

    async def wait_objective(self, ref: str, timeout_s: float | None = None) -> dict[str, Any]:
        """See ``WorkFacade.wait_objective``."""
        return await self._call("POST", f"objectives/{_q(ref)}/wait", {"timeout_s": timeout_s},
                                timeout_s=(timeout_s or 86_400.0) + 30)

    async def cancel_objective(self, ref: str) -> dict[str, Any]:
        """See ``WorkFacade.cancel_objective``."""
        return await self._call("POST", f"objectives/{_q(ref)}/cancel", {})

    async def changes(self, objective: str | None = None) -> list[dict[str, Any]]:
        """See ``WorkFacade.changes``."""
        return (await self._call("GET", "changes", query={"objective": objective}))["changes"]

    async def change(self, ref: str) -> dict[str, Any]:
        """See ``WorkFacade.change``."""
        return await self._call("GET", f"changes/{_q(ref)}")

    async def diff(self, ref: str, path: str | None = None) -> str:
        """See ``WorkFacade.diff``."""
        return await self._call("GET", f"changes/{_q(ref)}/diff", query={"path": path},
                                raw=True)

    async def change_files(self, ref: str) -> dict[str, Any]:
        """See ``ReviewFacade.change_files``."""
        return await self._call("GET", f"changes/{_q(ref)}/files")

    async def request_changes(self, ref: str, text: str, member: str = "host"
                              ) -> dict[str, Any]:
        """See ``ReviewFacade.request_changes`` (over REST the reviewer is the host)."""
        return await self._call("POST", f"changes/{_q(ref)}/request-changes", {"text": text})

    async def merge(self, ref: str) -> dict[str, Any]:
        """See ``WorkFacade.merge`` (the verification command may take long)."""
        return await self._call("POST", f"changes/{_q(ref)}/merge", {}, timeout_s=3_600.0)

    async def close_change(self, ref: str) -> dict[str, Any]:
        """See ``WorkFacade.close_change``."""
        return await self._call("POST", f"changes/{_q(ref)}/close", {})

    async def reopen_change(self, ref: str) -> dict[str, Any]:
        """See ``WorkFacade.reopen_change``."""
        return await self._call("POST", f"changes/{_q(ref)}/reopen", {})

    async def send_message(self, to: str, text: str, sender: str = "host") -> dict[str, Any]:
        """See ``WorkFacade.send_message`` (over REST the sender is the host)."""
        return await self._call("POST", "messages", {"to": to, "text": text})

    async def messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        """See ``WorkFacade.messages``."""
        return (await self._call("GET", "messages", query={"to": recipient}))["messages"]
