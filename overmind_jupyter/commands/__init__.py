"""The one command grammar of ``%overmind …`` and ``overmind …`` (see DESIGN.md).

``parse(argv)`` turns words into an ``argparse.Namespace`` or raises ``UsageError``
(usage line + valid choices; the CLI exits 2). ``execute(api, args)`` runs a parsed
command against anything with the engine's interface (``Engine`` in-process, ``Client``
over REST) and returns a ``Result`` that the CLI prints as text and the magic shows as
HTML. ``--json`` output shapes are documented in README ("JSON output").
"""

from __future__ import annotations

import argparse
import functools
import json
import os
from pathlib import Path
from typing import Any

from ..api import EngineAPI
from ..errors import NotAvailable, UsageError
from ..model import (
    Mission,
    MissionKind,
    MissionSpec,
    RestartMode,
    RestartPolicy,
    exit_status,
    mission_to_dict,
    status_text,
)
from . import party, render, targets, work
from .argtypes import positive_float
from .result import Result

LATER: dict[str, str] = {}  # command → the issue that brings it (none left)


class _Parser(argparse.ArgumentParser):
    """argparse that raises ``UsageError`` instead of printing and exiting."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None):  # type: ignore[override]
        raise UsageError(message or "")

    def print_help(self, file=None) -> None:  # --help: shown as the "error" text, status 0
        raise HelpRequested(self.format_help())


class HelpRequested(UsageError):
    """``--help`` was asked for; ``message`` is the help text (exit status 0)."""


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, not {text}")
    return value


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key, value


def _add_run(sub: Any) -> None:
    p = sub.add_parser("run", help="start a supervised mission")
    p.add_argument("--name")
    p.add_argument("--cwd")
    p.add_argument("--parent")
    p.add_argument("--type", dest="kind", choices=[k.value for k in MissionKind],
                   default="command")
    p.add_argument("--agent")
    p.add_argument("--restart", choices=[m.value for m in RestartMode], default="never")
    p.add_argument("--max-restarts", type=_count, default=5)
    p.add_argument("--restart-window", type=positive_float, default=60.0, metavar="S")
    p.add_argument("--backoff", type=_count, default=1000, metavar="MS")
    p.add_argument("--activity-timeout", type=positive_float, metavar="S")
    p.add_argument("--grace", type=float, default=5.0, metavar="S")
    p.add_argument("--env", type=_env_pair, action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--worktree", action="store_true", help="run in a git worktree of its own; "
                   "a clean exit that edited files opens a change")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD…")


def build_parser(prog: str = "overmind") -> argparse.ArgumentParser:
    """The parser of the whole grammar (subcommand in ``args.cmd``)."""
    parser = _Parser(prog=prog, description="Supervise missions and AI agents.")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_run(sub)
    p = sub.add_parser("ps", help="list missions")
    p.add_argument("--tree", action="store_true")
    p.add_argument("--all", action="store_true")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("info", help="details of a mission")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("logs", help="output of a mission")
    p.add_argument("id")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("--tail", type=_count)
    for name, text in (("send", "write a line to a session mission"),):
        p = sub.add_parser(name, help=text)
        p.add_argument("id")
        p.add_argument("text", nargs="+")
    for name, text in (("attach", "interactive view of a session mission"),
                       ("stop", "SIGTERM, grace period, SIGKILL"),
                       ("restart", "end a live mission's process and run it again now")):
        sub.add_parser(name, help=text).add_argument("id")
    p = sub.add_parser("kill", help="SIGKILL a mission")
    p.add_argument("--cascade", action="store_true")
    p.add_argument("id")
    p = sub.add_parser("wait", help="wait for a mission; exit status = the mission's")
    p.add_argument("id")
    p.add_argument("--timeout", type=positive_float, metavar="S")
    p = sub.add_parser("apply", help="apply a blueprint TOML file")
    p.add_argument("blueprint")
    p.add_argument("--name")
    p = sub.add_parser("events", help="the latest events, or those after a cursor")
    p.add_argument("--after", type=_count, metavar="SEQ",
                   help="the events after SEQ (default: the latest --limit events)")
    p.add_argument("--limit", type=_count, default=100)
    p.add_argument("--mission", help="one mission's events: its id, id prefix or name")
    p.add_argument("--json", action="store_true")
    for name in ("start", "shutdown"):
        sub.add_parser(name, help=f"{name} the Overmind engine")
    sub.add_parser("status", help="engine status").add_argument("--json", action="store_true")
    sub.add_parser("agents", help="agents and whether they are installed").add_argument(
        "--json", action="store_true")
    sub.add_parser("questions", help="questions waiting for an answer").add_argument(
        "--json", action="store_true")
    p = sub.add_parser("answer", help="answer a question")
    p.add_argument("id")
    p.add_argument("text", nargs="+")
    _add_later(sub)
    return parser


def _add_later(sub: Any) -> None:
    work.add_parsers(sub)
    party.add_parsers(sub)
    targets.add_parsers(sub)


def parse(argv: list[str], prog: str = "overmind") -> argparse.Namespace:
    """Parse ``argv`` (without the program name).

    Raises:
        UsageError: unknown command/flag or bad value, with the usage line.
        HelpRequested: ``--help``/``-h`` (its message is the help text).
    """
    if not argv:
        raise UsageError(_parser(prog).format_usage().strip())
    return _parser(prog).parse_args(argv)


@functools.lru_cache(maxsize=8)
def _parser(prog: str) -> argparse.ArgumentParser:
    """``build_parser`` once per ``prog``: building it costs ~5 ms per magic call, and
    parsing leaves it unchanged."""
    return build_parser(prog)


def spec_from_args(args: argparse.Namespace, cwd: str) -> MissionSpec:
    """The ``MissionSpec`` of a parsed ``run`` command; ``cwd`` resolves relative paths."""
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("nothing to run: give the command after --, e.g. "
                         "`overmind run -- python -m http.server`")
    policy = RestartPolicy(mode=RestartMode(args.restart), max_restarts=args.max_restarts,
                           window_s=args.restart_window, backoff_ms=args.backoff)
    return MissionSpec(command=command, name=args.name,
                       cwd=str(Path(cwd, args.cwd or ".").resolve()), env=dict(args.env),
                       kind=MissionKind(args.kind), parent=args.parent, restart=policy,
                       activity_timeout_s=args.activity_timeout, agent=args.agent,
                       grace_s=args.grace, worktree=args.worktree)


async def execute(api: EngineAPI, args: argparse.Namespace, cwd: str | None = None) -> Result:
    """Run a parsed command against ``api`` (an ``Engine`` or a ``Client``).

    Raises:
        EngineUnavailable: the engine is not running.
        OvermindError: bad references, invalid arguments, unavailable subsystems.
    """
    handler = _HANDLERS.get(args.cmd)
    if handler is None:
        raise NotAvailable(f"`{args.cmd}` needs {LATER.get(args.cmd, 'a later version')}, "
                           "which is not available yet in this version of Overmind")
    api.ensure_running()
    return await handler(api, args, cwd or os.getcwd())


def _missions_result(missions: list[Mission], verb: str) -> Result:
    data = [mission_to_dict(m) for m in missions]
    rows = render.ps_rows(data)
    text = f"{verb}:\n" + render.table_text(render.PS_COLUMNS, rows)
    return Result(text, f"<p>{verb}</p>" + render.table_html(render.PS_COLUMNS, rows), data)


async def _run(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    m = await api.run(spec_from_args(args, cwd))
    failed = m.exit is not None and m.status.terminal and m.status.value == "failed"
    text = (f"{m.name} ({m.id[:8]}) failed to start: {m.exit.reason}\n" if m.exit and failed
            else f"started {m.name} ({m.id[:8]}), pid {m.pid}\n")
    return Result(text, None, mission_to_dict(m), 1 if failed else 0)


async def _ps(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    text = await api.ps_json(all=args.all)  # built by SQLite in one go
    if args.json:
        return Result(text + "\n")
    missions = json.loads(text)
    rows = render.ps_rows(missions, tree=args.tree)
    if not rows:
        hint = "" if args.all else " (use --all to include ended ones)"
        return Result(f"no missions{hint}\n")
    return Result(render.table_text(render.PS_COLUMNS, rows),
                  render.table_html(render.PS_COLUMNS, rows))


async def _info(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.info(args.id)
    if args.json:
        return _json(data)
    pairs = render.info_pairs(data)
    width = max(len(k) for k, _ in pairs)
    text = "".join(f"{k.ljust(width)}  {v}\n" for k, v in pairs)
    return Result(text, render.table_html(("field", "value"), pairs), data)


async def _logs(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    if args.follow:
        return Result(stream=api.follow(args.id, 10 if args.tail is None else args.tail))
    return Result(await api.logs(args.id, args.tail))


async def _send(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    m = await api.send(args.id, " ".join(args.text))
    return Result(f"sent to {m.name}\n")


async def _stop(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    m = await api.stop(args.id)
    return Result(f"{m.name} ({m.id[:8]}) {status_text(m)}: "
                  f"{m.exit.reason if m.exit else 'stopped'}\n", None, mission_to_dict(m))


async def _restart(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    m = await api.restart(args.id)
    if m.status.terminal:
        reason = f": {m.exit.reason}" if m.exit else ""
        return Result(f"{m.name} ({m.id[:8]}) {m.status.value}{reason}\n", None,
                      mission_to_dict(m), 1)
    return Result(f"restarted {m.name} ({m.id[:8]}), pid {m.pid}, restart {m.restarts}\n",
                  None, mission_to_dict(m))


async def _kill(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    return _missions_result(await api.kill(args.id, cascade=args.cascade), "killed")


async def _wait(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    return waited(await api.wait(args.id, args.timeout), args.timeout)


def waited(m: Mission, timeout_s: float | None) -> Result:
    """What ``wait`` shows for ``m``: its end, or that it still runs after ``timeout_s``."""
    if not m.status.terminal:
        return Result(f"{m.name} still {m.status.value} after {timeout_s or 0:g} s\n", None,
                      mission_to_dict(m), exit_status(m))
    reason = m.exit.reason if m.exit else ""
    return Result(f"{m.name} {status_text(m)}{f': {reason}' if reason else ''}\n", None,
                  mission_to_dict(m), exit_status(m))


async def _apply(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    path = Path(cwd, args.blueprint)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read blueprint {path}: {exc.strerror}") from None
    m = await api.apply(text, str(path), str(path.parent), args.name)
    return Result(f"applied {path.name} as {m.name} ({m.id[:8]}); `overmind ps --tree` "
                  "shows its missions\n", None, mission_to_dict(m))


async def _events(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    events = await api.events(after=args.after or 0, limit=args.limit,
                              latest=args.after is None, mission=args.mission)
    if args.json:
        return _json(events)
    rows = [[str(e["seq"]), e["type"], (e["mission"] or "")[:8],
             json.dumps(e["data"])[:80]] for e in events]
    return Result(render.table_text(("SEQ", "TYPE", "MISSION", "DATA"), rows), None, events)


async def _status(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = {**await api.status(), "model": await api.model_status()}
    if args.json:
        return _json(data)
    counts = ", ".join(f"{n} {s}" for s, n in data["missions"].items()) or "no live missions"
    text = (f"Overmind {data['version']} ({data['mode']} mode) for {data['root']}\n"
            f"engine pid {data['pid']}, up {render.age(data['uptime_s'])}; {counts}\n"
            f"model: {model_line(data['model'])}\n")
    choices = data["model"].get("choices") or []
    if len(choices) > 1:  # what `prompt --model ID` may choose
        text += "models a prompt may choose (--model): " + ", ".join(
            c["id"] + ("" if c["configured"] else f" ({c['problem']})") for c in choices) + "\n"
    if data.get("sandbox"):
        text += f"sandbox: {data['sandbox']['summary']}\n"
    return Result(text, None, data)


def model_line(model: dict[str, Any]) -> str:
    """``api.model_status`` in one line: what answers, or what to set on the server."""
    if not model["configured"]:
        return f"none usable ({model['problem']})"
    where = f" at {model['endpoint']}" if model["endpoint"] else ""
    label = " (scripted answers, not a real model)" if model["scripted"] else ""
    return f"{model['model']}{where}{label}"


async def _shutdown(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    ended = await api.shutdown()
    return Result(f"stopped {len(ended)} mission(s); Overmind is shut down\n", None,
                  [mission_to_dict(m) for m in ended])


async def _agents(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.list_agents()
    if args.json:
        return _json(data)
    rows = [[a["name"], "yes" if a["installed"] else "no", a["title"],
             "" if a["installed"] else a["install"]] for a in data]
    columns = ("AGENT", "INSTALLED", "WHAT", "INSTALL WITH")
    return Result(render.table_text(columns, rows), render.table_html(columns, rows), data)


async def _questions(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = [q.to_dict() for q in await api.list_questions()]
    if args.json:
        return _json(data)
    if not data:
        return Result("no open questions\n", None, data)
    rows = [[q["id"], q["kind"], (q["mission"] or "")[:8], q["text"][:70],
             "/".join(q["options"]) or "text"] for q in data]
    columns = ("ID", "KIND", "MISSION", "QUESTION", "ANSWERS")
    return Result(render.table_text(columns, rows), render.table_html(columns, rows), data)


async def _answer(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = (await api.answer(args.id, " ".join(args.text))).to_dict()
    return Result(f"answered {data['id']}: {data['answer']}\n", None, data)


def _json(data: Any) -> Result:
    return Result(json.dumps(data, indent=2) + "\n", None, data)


_HANDLERS = {"run": _run, "ps": _ps, "info": _info, "logs": _logs, "send": _send,
             "stop": _stop, "restart": _restart, "kill": _kill, "wait": _wait, "apply": _apply,
             "events": _events,
             "status": _status, "shutdown": _shutdown, "agents": _agents,
             "questions": _questions, "answer": _answer, **work.HANDLERS,
             **party.HANDLERS, **targets.HANDLERS}
