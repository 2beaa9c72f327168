"""The demo's closing summary: what the team's objectives came to, read from the engine.

``collect(api, repo)`` gathers, over the engine interface (the REST ``Client`` or an
``Engine``), every objective with its tasks and changes plus the merge commits git shows
on the target branch; ``render(facts, timings)`` prints it as a short aligned block::

    objective   1f0c9a2e done: DokuWiki table format, tested and documented
    prompts     alice, bob
    tasks       dokuwiki-format done (2 files) · docs done (2 files)
    changes     2 of 2 merged: 70f6802, 34728f0 on main
    tests       271 passed, 15 skipped (verification gate on the merged result, 3.2 s)
    tokens      44,101 · cost $0 (scripted model: no provider was called)
    wall time   71 s (project 1 s · server 4 s · notebook 62 s)

An objective still waiting on a question gets a ``waiting on`` row naming it and how to
answer it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .project import git

PYTEST_COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected)")


async def collect(api: Any, repo: Path) -> list[dict[str, Any]]:
    """Every objective (``objective`` shape with ``tasks`` and ``changes``), each with
    ``merges``: ``[(short hash, subject)]`` of merge commits on its target since its base."""
    found = []
    for row in await api.objectives():
        objective = await api.objective(row["id"])
        span = f"{objective['base_commit']}..{objective['target']}"
        log = git(repo, "log", "--merges", "--format=%h %s", span).splitlines()
        found.append({**objective, "merges": [tuple(line.split(" ", 1)) for line in log]})
    return found


def pytest_counts(output: str) -> str:
    """pytest's closing counts (``"271 passed, 15 skipped"``) from its output, or ``""``."""
    lines = [line for line in output.splitlines() if PYTEST_COUNTS.search(line)]
    return ", ".join(" ".join(m) for m in PYTEST_COUNTS.findall(lines[-1])) if lines else ""


def _tests(changes: list[dict[str, Any]]) -> str:
    checked = [c["verification"] for c in changes if c.get("verification")]
    if not checked:
        return "no verification ran (no change reached the merge queue)"
    last = checked[-1]
    verdict = pytest_counts(last["output_tail"]) or f"exit status {last['exit_code']}"
    return (f"{verdict} (verification gate on the merged result, {last['duration_s']:.1f} s"
            f"{'' if last['ok'] else ', FAILED'})")


def _cost(objective: Mapping[str, Any]) -> str:
    if objective.get("scripted"):
        return "$0 (scripted model: no provider was called)"
    usd = objective["spent"].get("cost_usd") or 0.0
    # pricing.toml prices only the providers' own APIs: an OpenAI-compatible endpoint
    # (OPENAI_BASE_URL) is unpriced even for a model name it lists
    return f"${usd:.4f}" if usd else \
        "not priced (pricing.toml has no price for this model at this endpoint)"


def objective_lines(o: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, text)`` rows describing one collected objective."""
    changes = o.get("changes", [])
    merged = [c for c in changes if c["state"] == "merged"]
    tasks = " · ".join(f"{t['name']} {t['state']} ({len(t.get('files_changed') or [])} files)"
                       for t in o.get("tasks", []))
    merges = ", ".join(h for h, _ in o["merges"]) or "none"
    rows = [("objective", f"{o['id']} {o['state']}: {o['title']}"),
            ("prompts", ", ".join(o.get("members", []))),
            ("tasks", tasks or "none"),
            ("changes", f"{len(merged)} of {len(changes)} merged; merge commits on "
                        f"{o['target']}: {merges}"),
            ("tests", _tests(merged or changes)),
            ("tokens", f"{o['spent']['tokens']:,} · cost {_cost(o)}")]
    if o.get("error"):
        rows.append(("error", o["error"]))
    rows += [("waiting on", f"question {q['id']} ({q['kind']}): {_first_line(q['text'])} — "
                            f"answer it in JupyterLab or `overmind answer {q['id']} TEXT`")
             for q in o.get("questions", [])]
    return rows


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit - 1] + "…"


def waits_on_a_question(objective: Mapping[str, Any]) -> bool:
    """Whether an objective that has not ended waits on a question a user can answer."""
    return objective["state"] not in ("done", "failed", "cancelled") and \
        bool(objective.get("questions"))


def render(objectives: list[dict[str, Any]], timings: Mapping[str, float]) -> str:
    """The summary block: one group of rows per objective, then wall time (``timings``:
    step name → seconds, in order; their sum is the total)."""
    rows: list[tuple[str, str]] = []
    for o in objectives:
        rows.extend(objective_lines(o))
    if not objectives:
        rows.append(("objective", "none was created (see the notebook's outputs)"))
    steps = " · ".join(f"{name} {s:.0f} s" for name, s in timings.items())
    rows.append(("wall time", f"{sum(timings.values()):.0f} s ({steps})"))
    return "\n".join(f"  {label:<11} {text}" for label, text in rows)
