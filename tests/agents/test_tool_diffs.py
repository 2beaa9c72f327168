"""A tool call's file edits (ACP ``diff`` content, as Claude's Edit / Write and Gemini's
edits send them) reach its event as ``diffs``, so the execution tree can show a diff."""

from __future__ import annotations

from acp.schema import (
    ContentToolCallContent,
    FileEditToolCallContent,
    TextContentBlock,
    ToolCallProgress,
    ToolCallStart,
)

from overmind_jupyter.agents.updates import DIFF_CHARS, to_event


def test_diff_content_becomes_the_events_diffs():
    start = ToolCallStart(
        session_update="tool_call", tool_call_id="t1", title="Edit calc.py", kind="edit",
        status="pending", raw_input={"file_path": "calc.py"},
        content=[FileEditToolCallContent(type="diff", path="calc.py", old_text="a\n",
                                         new_text="b\n"),
                 ContentToolCallContent(type="content",
                                        content=TextContentBlock(type="text", text="x"))])
    assert to_event(start) == ("tool-use", {
        "id": "t1", "status": "pending", "title": "Edit calc.py", "kind": "edit",
        "input": {"file_path": "calc.py"},
        "diffs": [{"path": "calc.py", "old_text": "a\n", "new_text": "b\n"}]})


def test_a_new_files_diff_has_no_old_text_and_long_texts_are_clipped():
    done = ToolCallProgress(
        session_update="tool_call_update", tool_call_id="t2", status="completed",
        content=[FileEditToolCallContent(type="diff", path="big.txt", old_text=None,
                                         new_text="x" * (DIFF_CHARS + 5))])
    kind, data = to_event(done)
    assert kind == "tool-result"
    assert data["diffs"] == [{"path": "big.txt", "old_text": None, "new_text": "x" * DIFF_CHARS}]


def test_tool_calls_without_edits_have_no_diffs():
    start = ToolCallStart(session_update="tool_call", tool_call_id="t3", title="ls",
                          kind="execute", status="pending")
    assert "diffs" not in to_event(start)[1]
