"""Orchestration commands of the shared grammar: ``prompt``, ``objectives``, ``changes``,
``diff``, ``merge``, ``close``, ``reopen``, ``check``, ``cancel``, ``message``, ``messages``,
``needs-you``
(parsers and handlers; see ``commands`` for the grammar's conventions)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ..api import EngineAPI
from ..errors import UsageError
from . import render
from .argtypes import positive_float, positive_int
from .result import Result

OBJECTIVE_COLUMNS = ("ID", "STATE", "TITLE", "MEMBERS", "TOKENS", "MODEL")
CHANGE_COLUMNS = ("ID", "STATE", "TITLE", "FILES", "+/-", "AUTHOR")


def add_parsers(sub: Any) -> None:
    """Add the orchestration subcommands to ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("prompt", help="submit a prompt: it is planned and run by agents")
    p.add_argument("text", nargs="*")
    p.add_argument("--agent", help="which configured agent runs its tasks (`overmind agents`; "
                   "a guest chooses among the host's)")
    p.add_argument("--wait", action="store_true", help="wait until its objective has ended")
    p.add_argument("--shared", action="store_true",
                   help="run its tasks in your own checkout, one at a time (no worktrees)")
    review = p.add_mutually_exclusive_group()
    review.add_argument("--auto-merge", dest="auto_merge", action="store_const", const=True,
                        help="land its changes without review (host only)")
    review.add_argument("--review", dest="auto_merge", action="store_const", const=False,
                        help="hold its changes for review (the default unless configured)")
    p.add_argument("--max-tokens", type=positive_int, metavar="N",
                   help="its objective's token budget (input + output tokens)")
    p.add_argument("--max-cost-usd", type=positive_float, metavar="USD",
                   help="its objective's cost budget in USD")
    p.add_argument("--target", metavar="NAME", help="run its tasks on this target "
                   "(`overmind targets`; default: the least-loaded)")
    p.add_argument("--model", metavar="ID", help="its agents' model, one the server offers "
                   "(`overmind status` lists them; default: the server's model)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("objectives", help="objectives, or one objective with its tasks")
    p.add_argument("id", nargs="?")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("changes", help="changes (local pull requests) of the agents' work")
    p.add_argument("--objective")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("diff", help="the unified diff of a change")
    p.add_argument("id")
    p.add_argument("--path")
    p = sub.add_parser("merge", help="merge a change (or all open changes of an objective)")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("needs-you", help="what waits on you, oldest first: questions to "
                       "answer and changes to decide")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("message", help="mail an agent (its task name) or a member")
    p.add_argument("to")
    p.add_argument("text", nargs="+")
    p = sub.add_parser("messages", help="the mailbox")
    p.add_argument("--to", dest="recipient")
    p.add_argument("--json", action="store_true")
    for name, text in (("close", "close a change (its branch is kept)"),
                       ("reopen", "reopen a closed change"),
                       ("check", "test a change merged onto its target's tip again "
                        "(nothing lands)"),
                       ("cancel", "cancel an objective and its tasks")):
        sub.add_parser(name, help=text).add_argument("id")


async def _prompt(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    text = " ".join(w for w in args.text if w != "--").strip()
    if not text:
        raise UsageError("nothing to do: give the prompt text, e.g. "
                         "`overmind prompt -- add a --verbose flag`")
    data = await api.prompt(text, agent=args.agent, wait=args.wait, shared=args.shared,
                            auto_merge=args.auto_merge, max_tokens=args.max_tokens,
                            max_cost_usd=args.max_cost_usd, target=args.target,
                            model=args.model)
    if args.json:
        return _json(data)
    return Result(_objective_text(data), None, data, objective_exit_status(data))


def objective_exit_status(o: dict[str, Any]) -> int:
    """0 when the objective is still running or ended ``done`` with every change merged
    or waiting for review with its pre-review check passed, and no task failed; 1
    otherwise (failed, cancelled, paused, waiting on a question, a change not merged, a
    held change whose tests failed or that conflicts, or a task failed)."""
    if o["state"] in ("failed", "cancelled", "paused") or o.get("questions"):
        return 1
    checks = [(c.get("check") or {}).get("state") for c in o.get("changes", [])
              if c["state"] in ("open", "approved")]
    bad = any(state in ("failed", "conflicts") for state in checks)
    return 1 if bad or o.get("not_merged") or o.get("failed_tasks") else 0


async def _objectives(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    if args.id:
        data = await api.objective(args.id)
        return _json(data) if args.json else Result(_objective_text(data), None, data)
    found = await api.objectives()
    return _listing(found, args.json, "no objectives yet; submit one with "
                    "`overmind prompt -- TEXT`", OBJECTIVE_COLUMNS, [
                        [o["id"], o["state"], o["title"][:50], ", ".join(o.get("members", [])),
                         str(o["spent"]["tokens"]), _model(o)] for o in found])


async def _changes(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.changes(args.objective)
    return _listing(data, args.json, "no changes yet", CHANGE_COLUMNS,
                    [_change_row(c) for c in data])


async def _diff(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    text = await api.diff(args.id, args.path)
    return Result(text or "(no differences)\n")


async def _merge(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.merge(args.id)
    if args.json:
        return _json(data)
    outcomes = data.get("merged", [data])
    if not outcomes:
        return Result("nothing to merge: no open change\n", None, data)
    lines = [f"{o['change']['id']} {o['outcome']['state']}: {o['outcome']['message']}"
             for o in outcomes]
    failed = any(o["outcome"]["state"] != "merged" for o in outcomes)
    return Result("\n".join(lines) + "\n", None, data, 1 if failed else 0)


async def _close(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.close_change(args.id)
    return Result(f"closed change {data['id']} (branch {data['branch']} kept)\n", None, data)


async def _check(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.check_change(args.id)
    check = data.get("check") or {}
    ok = check.get("state") in ("passed", "untested", "merged-already")
    return Result(f"change {data['id']}: {check.get('message', 'not checked')}\n", None,
                  data, 0 if ok else 1)


async def _reopen(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.reopen_change(args.id)
    return Result(f"reopened change {data['id']}\n", None, data)


async def _cancel(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.cancel_objective(args.id)
    return Result(f"cancelled objective {data['id']}\n", None, data)


async def _message(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.send_message(args.to, " ".join(args.text))
    return Result(f"sent message {data['id']} to {data['recipient']}\n", None, data)


async def _messages(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.messages(args.recipient)
    return _listing(data, args.json, "no messages", ("ID", "FROM", "TO", "TEXT"),
                    [[m["id"], m["sender"], m["recipient"], m["text"][:70]] for m in data])


def _objective_text(o: dict[str, Any]) -> str:
    state = o.get("outcome") if o["state"] == "done" else None
    lines = [f"objective {o['id']} {state or o['state']}: {o['title']}",
             f"model: {_model(o)}; tokens {o['spent']['tokens']}"
             + (f", ${o['spent']['cost_usd']:.4f}" if o["spent"].get("cost_usd") else "")]
    if o.get("error"):
        lines.append(f"error: {o['error']}")
    for t in o.get("tasks", []):
        lines.append(f"  task {t['name']}: {t['state']}"
                     + (f" — {len(t.get('files_changed') or [])} files" if t.get(
                         "files_changed") else ""))
    for c in o.get("changes", []):
        lines.append(f"  change {c['id']} {c['state']}: {c['title']}")
        if c.get("check") and c["state"] in ("open", "approved"):
            lines.append(f"    checked: {c['check']['message']}")
    if o.get("awaiting_review"):
        lines.append("  review: `overmind diff ID`, then `overmind merge ID` or "
                     "`overmind close ID` (or the Changes panel in JupyterLab)")
    for q in o.get("questions", []):
        lines.append(f"  waiting on you: question {q['id']} ({q['kind']}): {q['text'][:200]}"
                     f" — `overmind answer {q['id']} "
                     f"{'|'.join(q['options']) if q['options'] else 'TEXT'}`")
    return "\n".join(lines) + "\n"


def _model(o: dict[str, Any]) -> str:
    return "scripted model" if o.get("scripted") else str(o.get("model", ""))


def _change_row(c: dict[str, Any]) -> list[str]:
    added = sum(s["added"] or 0 for s in c.get("stat", []))
    deleted = sum(s["deleted"] or 0 for s in c.get("stat", []))
    return [c["id"], c["state"], c["title"][:50], str(len(c.get("files", []))),
            f"+{added}/-{deleted}", c.get("author", "")]


def _listing(data: list[Any], as_json: bool, empty: str, columns: tuple[str, ...],
             rows: list[list[str]]) -> Result:
    """A list command's result: JSON, the ``empty`` sentence, or a table of ``rows``."""
    if as_json:
        return _json(data)
    if not data:
        return Result(empty + "\n", None, data)
    return Result(render.table_text(columns, rows), render.table_html(columns, rows), data)


def _json(data: Any) -> Result:
    return Result(json.dumps(data, indent=2) + "\n", None, data)


async def _needs_you(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    items = await api.needs_you()
    if args.json:
        return Result(json.dumps(items, indent=2) + "\n", None, items)
    if not items:
        return Result("nothing waits on you\n", None, items)
    now, columns = time.time(), ("WHAT", "ID", "KIND/STATE", "WAITING", "TITLE")
    rows = [(i["kind"], i["id"], i["detail"], render.age(now - i["since"]), i["title"][:70])
            for i in items]
    hint = ("answer: `overmind answer ID TEXT` · decide: `overmind merge ID` / "
            "`overmind close ID`\n")
    return Result(render.table_text(columns, rows) + hint, render.table_html(columns, rows),
                  items)


HANDLERS = {"prompt": _prompt, "objectives": _objectives, "changes": _changes, "diff": _diff,
            "merge": _merge, "close": _close, "reopen": _reopen, "check": _check, "cancel": _cancel,
            "message": _message, "messages": _messages, "needs-you": _needs_you}

