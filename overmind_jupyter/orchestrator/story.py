"""The story agent: groups related queued prompts into objectives, keeps the project story.

No embeddings: the model is asked (deterministic under the scripted model). Its grouping
is repaired so that every prompt lands in exactly one group: unknown ids are dropped, an
id already placed is dropped from later groups, groups left empty vanish, and a prompt the
model forgot becomes a group of its own (titled after its first line). The story — a short
running summary of the project used as context by the scope extractor and the planner —
is cut to ``STORY_MAX_CHARS``.
"""

from __future__ import annotations

import dataclasses

import pydantic

from ..llm.contract import ChatModel
from .structured import Spent, ask, clip

STORY_MAX_CHARS = 1_500
TITLE_MAX_CHARS = 80
PROMPT_MAX_CHARS = 4_000  # per prompt sent to the model

SYSTEM = """You coordinate a team's requests to AI coding agents.
Group the queued prompts into objectives: prompts asking for the same change or closely
related changes go in one group; unrelated prompts go in separate groups. Each prompt id
goes in exactly one group. For each group give a short title and a one-paragraph summary
of what is wanted. Then rewrite the project story: a short summary (under 1,500
characters) of what the team is building and has asked for so far, including these
prompts."""


@dataclasses.dataclass(frozen=True, slots=True)
class PromptIn:
    """A queued prompt: its record ``id``, the submitting ``member`` and its ``text``."""

    id: str
    member: str
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    """Related prompts that become one objective."""

    title: str
    prompt_ids: tuple[str, ...]
    summary: str


@dataclasses.dataclass(frozen=True, slots=True)
class StoryResult:
    """``groups`` (each prompt in exactly one), the updated ``story`` (≤ 1,500 chars),
    ``notes`` on repairs made to the model's grouping, and what the call ``spent``."""

    groups: list[Group]
    story: str
    notes: tuple[str, ...] = ()
    spent: Spent = dataclasses.field(default_factory=Spent)


class _GroupAnswer(pydantic.BaseModel):
    title: str = pydantic.Field(min_length=1, max_length=200)
    prompt_ids: list[str]
    summary: str = pydantic.Field(max_length=4_000)


class _StoryAnswer(pydantic.BaseModel):
    groups: list[_GroupAnswer]
    story: str


async def group(model: ChatModel, prompts: list[PromptIn], story: str) -> StoryResult:
    """Group ``prompts`` and update ``story`` (no model call when there are no prompts).

    Raises:
        PlanningError: the model gave no valid answer.
        ProviderError: the provider failed.
    """
    if not prompts:
        return StoryResult([], clip(story, STORY_MAX_CHARS))
    answer = await ask(model, SYSTEM, _request(prompts, story), _StoryAnswer)
    groups, notes = _repair(answer.value.groups, prompts)
    return StoryResult(groups, clip(answer.value.story, STORY_MAX_CHARS), tuple(notes),
                       answer.spent)


def _request(prompts: list[PromptIn], story: str) -> str:
    listed = "\n\n".join(f"id: {p.id}\nmember: {p.member}\ntext:\n"
                         f"{clip(p.text, PROMPT_MAX_CHARS)}" for p in prompts)
    return f"Project story so far:\n{story.strip() or '(none yet)'}\n\nQueued prompts:\n{listed}"


def _repair(answered: list[_GroupAnswer], prompts: list[PromptIn]
           ) -> tuple[list[Group], list[str]]:
    """The model's groups made a partition of ``prompts`` (rules in the module docstring).

    Returns:
        ``(groups, notes)``: groups in the model's order, then one per forgotten prompt.
    """
    known = {p.id: p for p in prompts}
    placed: set[str] = set()
    groups: list[Group] = []
    notes: list[str] = []
    for item in answered:
        ids = []
        for pid in item.prompt_ids:
            if pid not in known:
                notes.append(f"dropped unknown prompt id {pid!r} from {item.title!r}")
            elif pid in placed:
                notes.append(f"prompt {pid} was listed twice: kept its first place")
            else:
                placed.add(pid)
                ids.append(pid)
        if ids:
            groups.append(Group(clip(item.title, TITLE_MAX_CHARS), tuple(ids),
                                item.summary.strip()))
    for prompt in prompts:
        if prompt.id not in placed:
            notes.append(f"prompt {prompt.id} was in no group: it became its own objective")
            groups.append(_alone(prompt))
    return groups, notes


def _alone(prompt: PromptIn) -> Group:
    first = prompt.text.strip().splitlines()[0] if prompt.text.strip() else prompt.id
    return Group(clip(first, TITLE_MAX_CHARS), (prompt.id,), clip(prompt.text, 1_000))


__all__ = ["STORY_MAX_CHARS", "SYSTEM", "Group", "PromptIn", "StoryResult", "group"]
