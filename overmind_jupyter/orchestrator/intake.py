"""Intake: approved prompts become objectives (after Overmind multiplayer's story agent).

Prompts arriving within ``story_window_s`` of the first form one batch; the story agent
groups the batch into objectives (related prompts from several cells or members join
one), keeping the project's story between batches. Without a usable story agent each
prompt is its own objective; a provider that refuses the key fails every prompt of the
batch at once (every later call would be refused the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import NotFound, OvermindError, UsageError
from ..llm.contract import ProviderError
from ..model import NO_CHOICES, PromptOptions
from ..store.records import Records
from ..supervisor.clock import Clock
from . import story
from .roles import RoleModels
from .structured import Spent

log = logging.getLogger("overmind.objectives")
Create = Callable[[str, str, list[dict[str, Any]], Spent | None], Awaitable[str]]


class Intake:
    """The story window and the story agent of one orchestrator.

    Args:
        records: where the story is kept. roles: the current ``RoleModels``.
        create: records an objective ``(title, summary, prompts, spent)`` and starts it;
            returns its id (``Orchestrator.create``).
        window_s: how long (s) approved prompts wait for companions.
        clock: the time of the window.
    """

    def __init__(self, records: Records, roles: Callable[[], RoleModels], create: Create,
                 window_s: float, clock: Clock) -> None:
        self.records, self.roles, self.create = records, roles, create
        self.window_s, self.clock = window_s, clock
        self._inbox: list[tuple[dict[str, Any], asyncio.Future[str]]] = []
        self._window: asyncio.Task[None] | None = None  # the story window now open

    def close(self) -> asyncio.Task[None] | None:
        """The open window's task, for the orchestrator to cancel and await (or None)."""
        return self._window

    def enqueue(self, prompt_id: str, member: str, text: str,
                options: PromptOptions = NO_CHOICES) -> asyncio.Future[str]:
        """Take an approved prompt; the future gives the id of the objective it joins.
        ``options``: its submitter's agent, workspace, review and budget choices."""
        if not text.strip():
            raise UsageError("the prompt is empty; say what you want done")
        future = asyncio.get_running_loop().create_future()
        self._inbox.append(({"id": prompt_id, "member": member, "text": text,
                             "options": options}, future))
        if self._window is None:
            self._window = asyncio.get_running_loop().create_task(self._story_window(),
                                                                  name="story-window")
        return future

    async def _story_window(self) -> None:
        """Prompts arriving within ``story_window_s`` of the first form one batch."""
        await self.clock.sleep(self.window_s)
        self._window = None  # a prompt arriving from now on opens the next window
        await self._group()

    async def _group(self) -> None:
        batch, self._inbox = self._inbox, []
        # batch-local ids p1, p2 …: short for the model, deterministic for scripted models
        prompts = [story.PromptIn(f"p{n}", p["member"], p["text"])
                   for n, (p, _) in enumerate(batch, start=1)]
        try:
            result = await story.group(self.roles().engine_model("story"), prompts,
                                       self.story())
        except OvermindError as exc:
            if isinstance(exc, ProviderError) and exc.kind == "auth":
                for _, future in batch:  # every later call would be refused the same way
                    future.set_exception(exc)
                return
            log.warning("story agent failed, one objective per prompt: %s", exc)
            result = None  # no story agent: one objective per prompt
        groups = result.groups if result else [
            story.Group(p.text.splitlines()[0][:80], (p.id,), p.text) for p in prompts]
        if result:
            self._save_story(result.story)
        await self._create_groups(groups, batch, result.spent if result else None)

    async def _create_groups(self, groups: list[story.Group],
                             batch: list[tuple[dict[str, Any], asyncio.Future[str]]],
                             story_spent: Spent | None) -> None:
        """Create one objective per group; settle each prompt's future with its
        objective id (or the error). One story call served the whole batch: the first
        objective created starts with its cost (``story_spent``) already spent."""
        by_id = {f"p{n}": item for n, item in enumerate(batch, start=1)}
        for group in groups:
            members = [by_id[i][0] for i in group.prompt_ids]
            try:
                oid = await self.create(group.title, group.summary, members, story_spent)
            except OvermindError as exc:
                for i in group.prompt_ids:
                    by_id[i][1].set_exception(exc)
                continue
            story_spent = None
            for i in group.prompt_ids:
                if not by_id[i][1].done():
                    by_id[i][1].set_result(oid)

    def story(self) -> str:
        """The project's story so far (what the story agent keeps between batches)."""
        with contextlib.suppress(NotFound):
            return self.records.get("story", "project").data.text
        return ""

    def _save_story(self, text: str) -> None:
        try:
            self.records.update("story", "project", text=text)
        except NotFound:
            self.records.insert("story", "project", "current", {"text": text})
