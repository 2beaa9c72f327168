"""The referee: merge tier 2, a model proposes a resolution per conflicted file.

The merge queue calls a ``Referee`` with any object that has the attributes of
``ConflictedFile`` (duck-typed, so it can keep its own class) and gets a ``Resolution`` or
None. None means "a human decides": the provider failed, the model gave no valid answer
after a retry, or the file is too large (``MAX_INPUT_CHARS``) to send. An answer is valid
when ``confidence`` is within 0..1 (out of range is rejected, and the model retried with
the error) and the resolved text carries no conflict markers. The merge queue still
validates the result (verification command) before it lands.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

import pydantic

from ..llm.contract import ChatModel, ProviderError
from .structured import PlanningError, Spent, ask

log = logging.getLogger("overmind.referee")
MAX_INPUT_CHARS = 200_000  # base + ours + theirs + merged text sent to the model
# "=======" alone is also a setext heading in Markdown, so only the outer markers count
_MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)

SYSTEM = """You resolve git merge conflicts in one file.
You get the common ancestor (base), our version, their version and the file with conflict
markers. Write the complete resolved file: keep the intent of both sides, no conflict
markers. Give your confidence from 0 to 1 that the resolution is correct (below 0.5 when
the sides contradict each other and a human should choose) and a short explanation."""


class ConflictLike(Protocol):
    """What the referee reads of a conflicted file (all strings; ``path`` repo-relative)."""

    path: str
    base: str
    ours: str
    theirs: str
    merged_with_markers: str


@dataclasses.dataclass(frozen=True, slots=True)
class ConflictedFile:
    """One conflicted file: the three versions and git's merge with conflict markers."""

    path: str
    base: str
    ours: str
    theirs: str
    merged_with_markers: str


@dataclasses.dataclass(frozen=True, slots=True)
class Resolution:
    """A proposed resolution: the whole file ``text``, ``confidence`` in 0..1 and an
    ``explanation`` for the reviewer."""

    text: str
    confidence: float
    explanation: str


Referee = Callable[[ConflictLike], Awaitable[Resolution | None]]


class _ResolutionAnswer(pydantic.BaseModel):
    resolution: str
    confidence: float = pydantic.Field(ge=0.0, le=1.0)
    explanation: str = pydantic.Field(default="", max_length=4_000)

    @pydantic.field_validator("resolution")
    @classmethod
    def _no_markers(cls, text: str) -> str:
        if _MARKER.search(text):
            raise ValueError("the resolved file still contains conflict markers")
        return text


def referee_for(model: ChatModel, *,
                on_spent: Callable[[Spent], None] | None = None) -> Referee:
    """A ``Referee`` backed by ``model``.

    Args:
        on_spent: told the tokens and cost of every consultation (to charge budgets),
            also of those that return None.
    """

    async def referee(conflict: ConflictLike) -> Resolution | None:
        request = _request(conflict)
        if request is None:
            log.info("referee: %s is too large to send to a model", conflict.path)
            return None
        try:
            answer = await ask(model, SYSTEM, request, _ResolutionAnswer)
        except (ProviderError, PlanningError) as exc:
            log.warning("referee: no resolution for %s: %s", conflict.path, exc.message)
            if on_spent is not None and isinstance(exc, PlanningError):
                on_spent(exc.spent)
            return None
        if on_spent is not None:
            on_spent(answer.spent)
        value = answer.value
        return Resolution(value.resolution, value.confidence, value.explanation.strip())

    return referee


def _request(conflict: ConflictLike) -> str | None:
    parts = {"base (common ancestor)": conflict.base, "ours": conflict.ours,
             "theirs": conflict.theirs, "merged with conflict markers":
             conflict.merged_with_markers}
    if sum(len(text) for text in parts.values()) > MAX_INPUT_CHARS:
        return None
    sections = "\n\n".join(f"=== {name} ===\n{text}" for name, text in parts.items())
    return f"File: {conflict.path}\n\n{sections}"


__all__ = ["SYSTEM", "ConflictLike", "ConflictedFile", "Referee", "Resolution", "referee_for"]
