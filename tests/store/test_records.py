"""Orchestration records: validated transitions commit with their event, or not at all."""

from __future__ import annotations

import pytest

from overmind_jupyter import lifecycles
from overmind_jupyter.errors import InvalidTransition, NotFound
from overmind_jupyter.store import Store
from overmind_jupyter.store.records import EventSpec, Records

pytestmark = pytest.mark.timeout(30)


def test_transition_and_event_commit_together(store: Store) -> None:
    records = Records(store)
    records.insert("task", "t1", "pending", {"name": "docs"}, parent="o1")
    done = records.transition("task", "t1", "running", lifecycles.TASK, mission="m1",
                              event=EventSpec("test-event", {"task": "t1"}, objective="o1"))
    assert done.state == "running" and done.data == {"name": "docs", "mission": "m1"}
    again = Records(Store(store.path)).get("task", "t1")  # a second connection sees it
    assert (again.state, again.data["mission"]) == ("running", "m1")
    [event] = store.read_events()
    assert (event["type"], event["objective"]) == ("test-event", "o1")


def test_forbidden_transition_changes_nothing(store: Store) -> None:
    records = Records(store)
    records.insert("change", "c1", "open", {"branch": "b"})
    records.transition("change", "c1", "approved", lifecycles.CHANGE)
    records.transition("change", "c1", "merged", lifecycles.CHANGE)
    with pytest.raises(InvalidTransition, match="from merged to open"):
        records.transition("change", "c1", "open", lifecycles.CHANGE, branch="x",
                           event=EventSpec("run-error", {}))
    rec = records.get("change", "c1")
    assert (rec.state, rec.data["branch"]) == ("merged", "b")
    assert store.read_events() == []


def test_find_by_prefix_or_name_and_list_filters(store: Store) -> None:
    records = Records(store)
    records.insert("task", "ab12", "pending", {"name": "tests"}, parent="o1")
    records.insert("task", "ab34", "done", {"name": "docs"}, parent="o2")
    assert [r.id for r in records.find("task", "ab")] == ["ab12", "ab34"]
    assert [r.id for r in records.find("task", "docs")] == ["ab34"]
    assert [r.id for r in records.list("task", parent="o1")] == ["ab12"]
    assert [r.id for r in records.list("task", states=("done",))] == ["ab34"]
    assert records.find("task", "%") == []
    with pytest.raises(NotFound):
        records.get("task", "zz")
