"""`make demo` with a real model: ``OPENAI_API_KEY`` + ``OPENAI_BASE_URL`` and no
``OVERMIND_MODEL`` (issue 7: "the same command uses the real model ... and says so").

The model is a loopback endpoint speaking OpenAI's Chat Completions wire format
(``ScriptReplayServer``) that answers every request of the pipeline — story, scope,
planner, both built-in agents' tool-calling turns, evaluator — with the scripted
scenario's content, through the real ``openai`` SDK and ``OpenAIModel``. Then: the demo
says which model it used, the objective is done with both changes merged, tabulate's
tests pass, the summary's tokens are those of the wire's usage chunks and the endpoint
saw the bearer key on every request. A second run whose key the endpoint refuses (401)
must fail with a message naming the provider and the variable to fix, leaving nothing
behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_helpers import left_behind, records

from overmind_jupyter.agents.adapters import PROVIDER_KEYS
from overmind_jupyter.testing.openai_server import OpenAIWireServer
from overmind_jupyter.testing.script_replay import ScriptReplayServer

CHECKOUT = Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:  # `demo` is a folder of the checkout, not installed
    sys.path.insert(0, str(CHECKOUT))
from demo import scenario  # noqa: E402

pytestmark = pytest.mark.timeout(300)
KEY = "test-key"
MODEL = "gpt-4.1-mini"  # adapters.default_model's choice for an OpenAI key


def run_demo(work: Path, base_url: str) -> dict:
    """``python -m demo.main --workdir WORK`` with ``OPENAI_API_KEY=test-key`` and
    ``OPENAI_BASE_URL=base_url``; its work dir, repo, env, exit status and output."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OVERMIND_") and k not in PROVIDER_KEYS}
    env.update(JUPYTER_RUNTIME_DIR=str(work / "runtime"), IPYTHONDIR=str(work / "ipython"),
               OPENAI_API_KEY=KEY, OPENAI_BASE_URL=base_url)
    done = subprocess.run([sys.executable, "-m", "demo.main", "--workdir", str(work)],
                          cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=280)
    return {"work": work, "repo": work / "tabulate", "env": env, "code": done.returncode,
            "out": done.stdout + done.stderr}


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptReplayServer]:
    """The loopback endpoint replaying the scenario's scripts (key ``test-key``)."""
    scripts = scenario.write_scripts(tmp_path_factory.mktemp("scripts"))
    with ScriptReplayServer.from_dir(scripts, api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, replay: ScriptReplayServer) -> dict:
    """One demo run against ``replay`` (one per module)."""
    return run_demo(tmp_path_factory.mktemp("demo"), replay.url)


def test_the_demo_says_it_uses_the_openai_model(run: dict, replay: ScriptReplayServer
                                                 ) -> None:
    assert run["code"] == 0, run["out"][-4000:]
    (line,) = [ln for ln in run["out"].splitlines() if "; model: " in ln]
    assert f"openai:{MODEL}" in line and replay.url in line and "real model" in line
    assert "scripted model" not in run["out"]
    assert "left behind: no process, no worktree" in run["out"]
    assert run["out"].rstrip().endswith("demo succeeded")


def test_the_objective_is_done_with_every_change_merged(run: dict) -> None:
    (objective,) = records(run["repo"], "objective")
    assert objective.state == "done"
    assert not objective.data.scripted
    changes = records(run["repo"], "change")
    assert len(changes) == 2 and {c.state for c in changes} == {"merged"}
    assert "2 of 2 merged" in run["out"]
    assert "def test_dokuwiki_headerless" in (run["repo"] / "test/test_output.py").read_text()
    assert scenario.EXAMPLE in (run["repo"] / "README.md").read_text()


def test_tabulates_tests_pass_on_the_merged_result(run: dict) -> None:
    # the verification gate ran the whole suite on main after the last merge …
    assert re.search(r"tests\s+271 passed, \d+ skipped \(verification gate", run["out"])
    # … and the output tests, the agent's two new ones among them, pass on main now
    output_tests = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "-o", "addopts=", "-rA", "test/test_output.py"]
    done = subprocess.run(output_tests, cwd=run["repo"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "PASSED test/test_output.py::test_dokuwiki_headerless" in done.stdout


def test_the_summary_counts_the_tokens_of_the_wire(run: dict, replay: ScriptReplayServer
                                                   ) -> None:
    shown = re.search(r"tokens\s+([\d,]+) · cost (.*)", run["out"])
    assert shown, run["out"][-2000:]
    # every turn served is charged, the story agent's (made before any objective exists)
    # to the first objective of its batch
    assert any(s.script == "story" and s.tokens for s in replay.served)
    assert int(shown.group(1).replace(",", "")) == replay.tokens
    assert shown.group(2).startswith("not priced")  # a loopback endpoint is not OpenAI


def test_the_endpoint_answered_every_role_with_the_bearer_key(
        run: dict, replay: ScriptReplayServer) -> None:
    assert not replay.problems
    assert {r.headers.get("authorization") for r in replay.requests} == {f"Bearer {KEY}"}
    bodies = [r.body for r in replay.requests]
    assert {b["model"] for b in bodies} == {MODEL}
    assert all(b["stream"] and b["stream_options"] == {"include_usage": True} for b in bodies)
    played = {(s.script, s.turn) for s in replay.served}
    expected = {(name, n) for name, turns in replay.scripts.items() if name != "referee"
                for n in range(len(turns))}  # no merge conflict: the referee is not asked
    assert played == expected


def test_a_refused_key_fails_clearly_and_leaves_nothing_behind(
        tmp_path: Path) -> None:
    with OpenAIWireServer(api_key="another-key") as server:
        run = run_demo(tmp_path / "demo", server.url)
    assert server.requests, "the demo never called the endpoint"
    assert run["code"] != 0
    refused = f"endpoint {server.base_url} rejected the API key (401): check OPENAI_API_KEY"
    closing = run["out"][run["out"].rindex("demo failed: "):]
    assert refused in closing, run["out"][-4000:]
    assert KEY not in run["out"]
    assert not left_behind(run["repo"], run["work"], Path(run["env"]["JUPYTER_RUNTIME_DIR"]))
