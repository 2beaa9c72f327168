"""The story agent: related prompts grouped into objectives, every prompt exactly once."""

from __future__ import annotations

import pytest
from planning_helpers import respond, run, scripted

from overmind_jupyter.orchestrator.story import STORY_MAX_CHARS, Group, PromptIn, group
from overmind_jupyter.orchestrator.structured import PlanningError

pytestmark = pytest.mark.timeout(60)

PROMPTS = [PromptIn("p1", "ada", "Add a dark mode toggle to the settings page"),
           PromptIn("p2", "bob", "Dark mode should remember the choice"),
           PromptIn("p3", "ada", "Fix the typo in the README\nIt says 'teh'.")]


def test_related_prompts_become_one_group_and_the_story_is_updated(tmp_path):
    model = scripted(tmp_path, respond({
        "groups": [{"title": "Dark mode", "prompt_ids": ["p1", "p2"],
                    "summary": "A persistent dark mode toggle in settings."},
                   {"title": "README typo", "prompt_ids": ["p3"], "summary": "Fix 'teh'."}],
        "story": "A web app; the team wants dark mode and a clean README."}))
    result = run(group(model, PROMPTS, "A web app."))
    assert result.groups == [
        Group("Dark mode", ("p1", "p2"), "A persistent dark mode toggle in settings."),
        Group("README typo", ("p3",), "Fix 'teh'.")]
    assert result.story == "A web app; the team wants dark mode and a clean README."
    assert result.notes == () and result.spent.calls == 1
    request = model.calls[0][0][-1].content
    assert "A web app." in request
    assert all(p.id in request and p.text.splitlines()[0] in request for p in PROMPTS)


def test_omitted_duplicated_and_unknown_ids_are_repaired(tmp_path):
    model = scripted(tmp_path, respond({
        "groups": [{"title": "Dark mode", "prompt_ids": ["p1", "p9", "p1"], "summary": "s"},
                   {"title": "Again", "prompt_ids": ["p1"], "summary": "dup"}],
        "story": "s"}))
    result = run(group(model, PROMPTS, ""))
    placed = [pid for g in result.groups for pid in g.prompt_ids]
    assert sorted(placed) == ["p1", "p2", "p3"]  # every prompt exactly once
    assert result.groups[0] == Group("Dark mode", ("p1",), "s")
    assert result.groups[1:] == [
        Group("Dark mode should remember the choice", ("p2",), PROMPTS[1].text),
        Group("Fix the typo in the README", ("p3",), PROMPTS[2].text)]
    assert any("unknown prompt id 'p9'" in note for note in result.notes)
    assert any("p2 was in no group" in note for note in result.notes)


def test_a_long_story_is_cut(tmp_path):
    model = scripted(tmp_path, respond({
        "groups": [{"title": "All", "prompt_ids": ["p1", "p2", "p3"], "summary": "s"}],
        "story": "word " * 1_000}))
    story = run(group(model, PROMPTS, "")).story
    assert len(story) <= STORY_MAX_CHARS and story.endswith("…")


def test_no_prompts_no_model_call(tmp_path):
    model = scripted(tmp_path)
    result = run(group(model, [], "The story."))
    assert (result.groups, result.story, model.calls) == ([], "The story.", [])


def test_a_grouping_without_groups_list_is_retried_then_rejected(tmp_path):
    model = scripted(tmp_path, respond({"story": "s"}), respond({"story": "s"}, expect="groups"))
    with pytest.raises(PlanningError, match="groups"):
        run(group(model, PROMPTS, ""))
