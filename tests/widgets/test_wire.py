"""The wire schema round-trips between ``events.py`` and ``labextension/src/events.ts``.

Samples of every event type (and events a real engine emitted) go through the TypeScript
validator (bundled for Node with esbuild) and come back unchanged; malformed ones are
refused with a message.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from wire_samples import SAMPLES, event

from overmind_jupyter.engine import Engine
from overmind_jupyter.events import EVENT_TYPES, PAYLOADS, EventType, InvalidEvent, validate
from overmind_jupyter.model import MissionKind, MissionSpec

pytestmark = pytest.mark.timeout(120)
LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"


@pytest.fixture(scope="module")
def roundtrip_script() -> Path:
    """Bundle test/roundtrip.ts for Node (needs `npm install` in labextension/)."""
    subprocess.run(["node", "scripts/build-widgets.mjs", "--tests"], cwd=LABEXTENSION,
                   check=True, timeout=60)
    return LABEXTENSION / "test-build" / "roundtrip.mjs"


def through_typescript(script: Path, tmp_path: Path, events: list, frames: list) -> dict:
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"events": events, "frames": frames}))
    done = subprocess.run(["node", str(script), str(path)], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def test_every_event_type_round_trips_through_the_typescript_types(roundtrip_script,
                                                                   tmp_path):
    assert set(SAMPLES) == EVENT_TYPES == set(PAYLOADS)  # every type, no stale ones
    events = [event(i + 1, t, d) for i, (t, d) in enumerate(SAMPLES.items())]
    for sample in events:
        validate(sample)  # the Python payload models accept what TypeScript accepts
    frames = [{"type": "events", "events": events[:3]}, {"type": "resync", "after": 7},
              {"type": "error", "message": "bad frame"}, {"type": "pong"}]
    out = through_typescript(roundtrip_script, tmp_path, events, frames)
    assert out["types"] == list(EventType.__args__)  # same types, same order
    for sent, got in zip(events, out["events"], strict=True):
        assert got == {"ok": True, "value": sent}, sent["type"]
    for sent, got in zip(frames, out["frames"], strict=True):
        assert got == {"ok": True, "value": sent}


def test_the_payload_models_refuse_what_typescript_refuses():
    good = event(1, "mission-status", SAMPLES["mission-status"])
    with pytest.raises(InvalidEvent, match="status: Input should be a valid string"):
        validate({**good, "data": {**SAMPLES["mission-status"], "status": 3}})
    with pytest.raises(InvalidEvent, match="options: Field required"):
        validate(event(3, "question-asked", {k: v for k, v in SAMPLES["question-asked"].items()
                                             if k != "options"}))
    with pytest.raises(InvalidEvent, match="unknown event type"):
        validate(event(4, "from-a-newer-server", {"anything": 1}))


def test_malformed_events_and_frames_are_refused_with_a_reason(roundtrip_script, tmp_path):
    good = event(1, "mission-status", SAMPLES["mission-status"])
    bad_events = [
        {k: v for k, v in good.items() if k != "seq"},
        {**good, "seq": -1},
        {**good, "mission": 5},
        event(2, "mission-status", {**SAMPLES["mission-status"], "status": 3}),
        event(3, "question-asked", {k: v for k, v in SAMPLES["question-asked"].items()
                                    if k != "options"}),
        "not an object",
    ]
    newer = event(4, "from-a-newer-server", {"anything": 1})
    out = through_typescript(roundtrip_script, tmp_path, [*bad_events, newer],
                             [{"type": "nope"}, {"type": "events", "events": [bad_events[0]]}])
    reasons = [r.get("error", "") for r in out["events"][:-1]]
    assert all(not r["ok"] for r in out["events"][:-1]), out["events"]
    assert "seq" in reasons[0] and "status should be string" in reasons[3]
    assert "options is missing" in reasons[4]
    assert out["events"][-1] == {"ok": True, "value": newer}  # unknown types pass through
    assert [f["ok"] for f in out["frames"]] == [False, False]


def test_events_a_real_engine_emits_validate(roundtrip_script, tmp_path):
    agent = [sys.executable, "-m", "overmind_jupyter.testing.acp_agent"]

    async def run() -> list[dict]:
        engine = Engine(tmp_path / "root", agents={"fake": agent})
        await engine.start()
        try:
            m = await engine.run(MissionSpec(command=["sh", "-c", "echo hi; exit 3"]))
            await engine.wait(m.id, 30)
            a = await engine.run(MissionSpec(command=["ask", "pytest", "-q", "&&", "x"],
                                             kind=MissionKind.AGENT, agent="fake"))
            while not (questions := await engine.list_questions()):
                await asyncio.sleep(0.05)
            await engine.answer(questions[0].id, "deny")
            await engine.wait(a.id, 30)
        finally:
            await engine.close()
        return await _all_events(tmp_path / "root")

    (tmp_path / "root").mkdir()
    subprocess.run(["git", "init", "-q", str(tmp_path / "root")], check=True)
    events = asyncio.run(run())
    types = {e["type"] for e in events}
    assert {"mission-created", "mission-status", "question-asked", "question-answered",
            "tool-use", "tool-result", "agent-message", "agent-finished"} <= types
    out = through_typescript(roundtrip_script, tmp_path, events, [])
    failed = [(e["type"], r) for e, r in zip(events, out["events"], strict=True) if not r["ok"]]
    assert not failed
    for emitted in events:
        validate(emitted)  # and every payload model, kinds included


async def _all_events(root: Path) -> list[dict]:
    engine = Engine(root)
    await engine.start()
    try:
        return await engine.events(after=0, limit=100_000)
    finally:
        await engine.close()
