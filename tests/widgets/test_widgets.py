"""Widgets from the ``%overmind`` magics (IPython's test shell, an embedded engine): what
they show without a widget manager (snapshots), and the comm bridge a view uses when no
Jupyter server is reachable."""

from __future__ import annotations

import re
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from jupyter_process import wait_until

from overmind_jupyter.magics import OvermindMagics
from overmind_jupyter.widgets import LogView, MissionTable, QuestionsInbox

pytestmark = pytest.mark.timeout(90)
VIEW = "application/vnd.jupyter.widget-view+json"


def shown(magics: OvermindMagics, line: str, cell: str | None = None) -> list[dict[str, Any]]:
    """The display data of ``%overmind line`` (``%%overmind line`` with ``cell``), one
    dict per displayed output."""
    with capture_output() as captured:
        if cell is None:
            magics.shell.run_line_magic("overmind", line)
        else:
            magics.shell.run_cell_magic("overmind", line, cell)
    return [o.data for o in captured.outputs]


def widget_of(data: dict[str, Any]) -> Any:
    from ipywidgets.widgets.widget import _instances  # live widgets by model id
    return _instances[data[VIEW]["model_id"]]


def test_ps_logs_and_questions_show_widgets_with_snapshots(magics):
    magics.shell.run_line_magic("overmind", "run --name nap -- sleep 60")
    magics.shell.run_line_magic(
        "overmind", "run --name talker -- printf '\\033[31m<red>\\033[0m & done\\n'")
    [ps] = shown(magics, "ps --all")
    table = widget_of(ps)
    assert isinstance(table, MissionTable) and table.all and table.mode == "embedded"
    assert "nap" in ps["text/plain"] and "running" in ps["text/plain"]
    assert "<table" in ps["text/html"] and "nap" in ps["text/html"]

    magics.portal.call(magics.engine.wait, "talker", 10)
    [logs] = shown(magics, "logs talker -f")  # returns at once, the view follows
    view = widget_of(logs)
    assert isinstance(view, LogView) and view.mission == magics.engine.resolve("talker").id
    assert logs["text/plain"] == "<red> & done\n"  # escapes stripped
    assert logs["text/html"] == '<pre class="overmind-snapshot">&lt;red&gt; &amp; done\n</pre>'

    [inbox] = shown(magics, "questions")
    assert isinstance(widget_of(inbox), QuestionsInbox)
    assert inbox["text/plain"] == "no open questions\n"


def test_a_displayed_output_is_rewritten_once_its_data_changed(magics):
    magics.snapshot_refresh_s = 0.05  # before the first widget: the refresh's period
    magics.shell.run_line_magic("overmind", "run --name nap -- sleep 60")
    with capture_output() as captured:
        magics.shell.run_line_magic("overmind", "ps --all")
        magics.shell.run_line_magic("overmind", "questions")  # nothing changes it
        magics.shell.run_line_magic("overmind", "stop nap")
        stopped = wait_until(lambda: next((o for o in captured.outputs if o.update and re.search(
            r"nap\s+command\s+stopped", o.data["text/plain"])), None), what="ps rewritten")
    ps, inbox = (o for o in captured.outputs if VIEW in o.data and not o.update)
    assert re.search(r"nap\s+command\s+running", ps.data["text/plain"])  # as first shown
    assert stopped.data[VIEW] == ps.data[VIEW]  # the live view stays
    updated = {o.transient["display_id"] for o in captured.outputs if o.update}
    assert updated == {ps.transient["display_id"]}
    assert inbox.transient["display_id"] not in updated  # nothing changed it: as shown


def test_commands_without_a_widget_keep_their_text(magics, capsys):
    magics.shell.run_line_magic("overmind", "run --name nap -- sleep 60")
    capsys.readouterr()
    assert shown(magics, "ps --json") == []  # printed as JSON text instead
    magics.shell.run_line_magic("config", "OvermindMagics.widgets = 'off'")
    [ps] = shown(magics, "ps")
    assert VIEW not in ps and "nap" in ps["text/plain"]
    with pytest.raises(UsageError, match="no mission named nosuch"):
        magics.shell.run_line_magic("config", "OvermindMagics.widgets = 'on'")
        magics.shell.run_line_magic("overmind", "logs nosuch -f")


class Frontend:
    """Plays the view's side of the comm: sends custom messages, records the replies."""

    def __init__(self, widget: Any) -> None:
        self.widget, self.received = widget, []
        widget.send = lambda content, buffers=None: self.received.append(content)

    def say(self, content: dict[str, Any]) -> None:
        self.widget._handle_custom_msg(content, [])

    def reply(self, call_id: int) -> dict[str, Any]:
        return wait_until(lambda: next((m for m in self.received if m.get("type") == "reply"
                                        and m.get("id") == call_id), None), 20, "a reply")

    def events(self) -> list[dict[str, Any]]:
        return [e for m in list(self.received) if m.get("type") == "events"
                for e in m["events"]]


def test_the_comm_bridge_serves_calls_events_and_logs(magics):
    magics.shell.run_line_magic("overmind", "run --name nap -- sleep 60")
    [ps] = shown(magics, "ps")
    front = Frontend(widget_of(ps))
    front.say({"type": "call", "id": 1, "method": "ps", "args": [False]})
    assert [m["name"] for m in front.reply(1)["result"]] == ["nap"]
    front.say({"type": "call", "id": 2, "method": "nosuch", "args": []})
    assert front.reply(2) == {"type": "reply", "id": 2, "ok": False,
                              "error": "unknown method 'nosuch'"}
    front.say({"type": "call", "id": 3, "method": "answer", "args": ["zz", "yes"]})
    assert "no open question matches 'zz'" in front.reply(3)["error"]

    front.say({"type": "subscribe", "after": 0})  # replay, then live
    wait_until(lambda: any(e["type"] == "mission-created" for e in front.events()),
               what="replayed events")
    front.say({"type": "call", "id": 4, "method": "stop", "args": ["nap"]})
    assert front.reply(4)["result"]["status"] == "killed"
    wait_until(lambda: any(e["type"] == "mission-status" and e["data"]["status"] == "killed"
                           for e in front.events()), what="the live stop event")
    seqs = [e["seq"] for e in front.events()]
    assert seqs == sorted(set(seqs))  # in order, no duplicates

    magics.shell.run_line_magic("overmind", "run --name tick -- sh -c 'echo one; echo two'")
    front.say({"type": "follow", "id": 9, "ref": "tick", "tail": 100})
    end = wait_until(lambda: next((m for m in front.received if m.get("type") == "log-end"),
                                  None), what="the end of the log")
    text = "".join(m["text"] for m in front.received if m.get("type") == "log")
    assert text == "one\ntwo\n" and end == {"type": "log-end", "id": 9, "error": None}
    front.widget.close()  # cancels the event subscription
    assert not front.widget.bridge.tasks


def test_the_comm_bridge_serves_the_rest_routes_views_call(magics):
    [ps] = shown(magics, "ps")
    front = Frontend(widget_of(ps))
    front.say({"type": "call", "id": 1, "method": "request", "args": ["GET", "objectives", None]})
    assert front.reply(1) == {"type": "reply", "id": 1, "ok": True, "result": {"objectives": []}}
    front.say({"type": "call", "id": 2, "method": "request",
               "args": ["GET", "changes?objective=o9", None]})
    assert "o9" in front.reply(2)["error"]  # the query reached the engine
    front.say({"type": "call", "id": 3, "method": "request",
               "args": ["POST", "changes/nosuch/merge", {}]})
    assert "nosuch" in front.reply(3)["error"]
    front.say({"type": "call", "id": 4, "method": "request", "args": ["GET", "nowhere", None]})
    assert "no Overmind route GET 'nowhere'" in front.reply(4)["error"]
    front.say({"type": "call", "id": 5, "method": "request",
               "args": ["POST", "changes/c1/close", [1]]})
    assert front.reply(5)["error"] == "the request body must be a JSON object"
