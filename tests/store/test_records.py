"""Orchestration records: validated transitions commit with their event, or not at all."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from overmind_jupyter.errors import InvalidTransition, NotFound
from overmind_jupyter.store import Store, kinds
from overmind_jupyter.store.records import EventSpec, Records

pytestmark = pytest.mark.timeout(30)


def test_transition_and_event_commit_together(store: Store) -> None:
    records = Records(store)
    records.insert("task", "t1", "pending", {"name": "docs"}, parent="o1")
    done = records.transition("task", "t1", "running", mission="m1",
                              event=EventSpec("test-event", {"task": "t1"}, objective="o1"))
    assert done.state == "running" and done.data.dump() == {"name": "docs", "mission": "m1"}
    again = Records(Store(store.path)).get("task", "t1")  # a second connection sees it
    assert (again.state, again.data.mission) == ("running", "m1")
    assert again.data.files_changed == [] and again.data.change is None  # never written
    assert again.to_dict()["mission"] == "m1" and "change" not in again.to_dict()
    [event] = store.read_events()
    assert (event["type"], event["objective"]) == ("test-event", "o1")


def test_forbidden_transition_changes_nothing(store: Store) -> None:
    records = Records(store)
    records.insert("change", "c1", "open", {"branch": "b"})
    records.transition("change", "c1", "approved")
    records.transition("change", "c1", "merged")
    with pytest.raises(InvalidTransition, match="from merged to open"):
        records.transition("change", "c1", "open", branch="x",
                           event=EventSpec("run-error", {}))
    rec = records.get("change", "c1")
    assert (rec.state, rec.data.branch) == ("merged", "b")
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


def test_data_a_kind_does_not_have_is_refused_and_nothing_is_written(store: Store) -> None:
    records = Records(store)
    records.insert("task", "t1", "pending", {"name": "docs"})
    with pytest.raises(ValidationError, match="mision"):  # a misspelled field
        records.transition("task", "t1", "running", mision="m1",
                           event=EventSpec("test-event", {}))
    with pytest.raises(ValidationError, match="round"):  # a mistyped one
        records.update("task", "t1", round="second")
    with pytest.raises(ValueError, match="'planned'"):  # a state the kind has not
        records.insert("task", "t2", "planned", {"name": "x"})
    rec = records.get("task", "t1")
    assert (rec.state, rec.data.dump()) == ("pending", {"name": "docs"})
    assert store.read_events() == [] and records.list("task") == [rec]


def test_every_kind_has_one_style_states_machine_and_data():
    for kind in kinds.KINDS.values():
        states = {s.value for s in kind.states}
        if kind.table is not None:
            assert set(kind.table) == states, kind.name  # a row per state
            assert all(nxt <= states for nxt in kind.table.values()), kind.name
            assert all(not kind.table[s] for s in kind.terminal), kind.name  # final
        assert kind.terminal <= states and issubclass(kind.data, kinds.RecordData)
    assert kinds.OBJECTIVE["planning"] == kinds.OBJECTIVE[kinds.ObjectiveState.PLANNING]


def test_an_agents_model_use_is_summed_from_its_usage_events(store: Store) -> None:
    def usage(mission: str, tokens: tuple[int, int], cost: float | None) -> None:
        store.append_event("agent-usage", {
            "input_tokens": tokens[0], "output_tokens": tokens[1], "cached_tokens": 0,
            "cost_usd": cost, "model": "m", "scope": "turn"}, mission=mission)

    usage("priced", (1_000, 200), 0.01)
    usage("priced", (500, 50), 0.002)
    usage("unpriced", (300, 30), None)
    store.append_event("agent-usage", {"input_tokens": 9, "output_tokens": 9,
                                       "cached_tokens": 0, "model": "m", "scope": "role",
                                       "role": "planner"}, objective="o1")  # no mission
    store.flush()
    used = store.mission_usage(["priced", "unpriced", "silent"])
    last = store.last_seq()
    assert used["priced"]["tokens"] == 1_750 and round(used["priced"]["cost_usd"], 6) == 0.012
    assert used["unpriced"] == {"tokens": 330, "cost_usd": None, "usage_seq": last - 1}
    assert "silent" not in used and store.mission_usage([]) == {}
