"""Record what the real local model answers to the requests the roles send, as fixtures.

    .venv/bin/python tests/agents/record_real_outputs.py http://127.0.0.1:PORT/v1

Sends, through the real ``openai`` SDK and ``OpenAIModel``: the planner's request for the
bbcode objective in the old tool mode (a tool ``respond``, no ``response_format``: what
produced ``"agent": "None"``) and in the structured mode the roles use now, and the
built-in agent's first turn on a bbcode task. Writes each turn's raw text and tool calls to
``fixtures/qwen2.5-coder-1.5b-<date>.json`` with the model name and date; the unit tests
of ``test_real_outputs.py`` replay them. Not a test: run by hand when the model changes.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sys
from pathlib import Path

from overmind_jupyter.agents.builtin.agent import SYSTEM_PROMPT, WORKSPACE_NOTE
from overmind_jupyter.agents.builtin.tools import SPECS
from overmind_jupyter.llm.contract import (
    Message,
    ResponseFormat,
    TextDelta,
    ToolCallReady,
    ToolSpec,
)
from overmind_jupyter.llm.registry import resolve_model
from overmind_jupyter.orchestrator import planner
from overmind_jupyter.orchestrator.scope import Scope
from overmind_jupyter.orchestrator.structured import ANSWER_AS_JSON, ANSWER_BY_TOOL

MODEL = "qwen2.5-coder-1.5b"
BBCODE = ("Add a 'bbcode' table format to tabulate, similar to the existing 'jira' format. "
          "Add a test for it in test/test_output.py.")
SCOPE = Scope(("test/test_output.py", "tabulate/__init__.py", "README.md"), "medium", "")


async def turn(model, messages, tools, fmt=None) -> dict:
    text, calls = [], []
    stream = model.stream(messages, tools, fmt) if fmt else model.stream(messages, tools)
    async for item in stream:
        if isinstance(item, TextDelta):
            text.append(item.text)
        elif isinstance(item, ToolCallReady):
            calls.append({"name": item.call.name, "arguments": item.call.arguments,
                          "arguments_error": item.call.arguments_error})
    return {"text": "".join(text), "tool_calls": calls}


async def main(url: str) -> None:
    model = resolve_model(f"openai:{MODEL}@{url}", timeout_s=1800)
    schema = planner._PlanAnswer.model_json_schema()
    request = planner._request(BBCODE, SCOPE, "", 1, None)
    tool = ToolSpec("respond", "Give your answer (_PlanAnswer).", schema)
    old = [Message("system", planner.SYSTEM + "\n" + ANSWER_BY_TOOL.format(tool="respond")),
           Message("user", request)]
    new = [Message("system", planner.SYSTEM + "\n" + ANSWER_AS_JSON), Message("user", request)]
    agent = [Message("system", SYSTEM_PROMPT),
             Message("system", WORKSPACE_NOTE.format(cwd="/srv/repo/.overmind/worktrees/bb")),
             Message("user", "In tabulate/__init__.py, add a 'bbcode' table format next to "
                             "the 'jira' one: rows as [tr][td]cell[/td][/tr].")]
    out = {"model": MODEL, "date": datetime.date.today().isoformat(),
           "planner_tool_mode": await turn(model, old, [tool]),
           "planner_structured": await turn(model, new, [], ResponseFormat("respond", schema)),
           "agent_first_turn": await turn(model, agent, SPECS)}
    path = Path(__file__).parent / "fixtures" / f"{MODEL}-{out['date']}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(path, json.dumps(out, indent=1)[:3000])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
