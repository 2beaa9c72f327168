"""Target commands of the shared grammar (parsers and handlers; see ``commands``)::

    targets [--json]                       where tasks run: state, load, last doctor
    targets add NAME --hub URL --user USER [--capacity N] [--warm N] [--token-env VAR]
                [--no-doctor]
                                           a JupyterHub target (its doctor runs first)
    targets doctor NAME                    check a hub target again, finding by finding
    targets drain|disable|enable|remove NAME

A doctor's answer lists each check as ``ok``, ``FAIL`` or ``skip`` (not checked after a
failure) with what was found or what to set; ``targets add`` and ``targets doctor`` exit
1 when a check failed (an added target stays registered: fix it and run the doctor).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..api import EngineAPI
from ..config import HUB_TOKEN_ENV
from . import render
from .argtypes import positive_int
from .result import Result

COLUMNS = ("NAME", "KIND", "STATE", "LOAD", "WHERE", "DOCTOR")


def add_parsers(sub: Any) -> None:
    """Add ``targets …`` to ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("targets", help="where tasks run: this machine and JupyterHub "
                       "named servers")
    p.add_argument("--json", action="store_true")
    acts = p.add_subparsers(dest="targets_cmd", metavar="ACTION")
    add = acts.add_parser("add", help="register a JupyterHub target and run its doctor")
    add.add_argument("name")
    add.add_argument("--hub", required=True, metavar="URL", help="the hub's URL")
    add.add_argument("--user", required=True, help="the hub user whose named servers run "
                     "tasks")
    add.add_argument("--capacity", type=positive_int, default=2, metavar="N")
    add.add_argument("--token-env", default=HUB_TOKEN_ENV, metavar="VAR",
                     help=f"the variable holding the hub API token (default {HUB_TOKEN_ENV})")
    add.add_argument("--warm", type=int, default=0, metavar="N",
                     help="idle named servers kept ready (tasks start in seconds)")
    add.add_argument("--no-doctor", dest="doctor", action="store_false")
    add.add_argument("--json", action="store_true")
    for name, text in (("doctor", "check a hub target through the Hub API"),
                       ("drain", "take no new task; finish those running"),
                       ("disable", "take no task"), ("enable", "take tasks again"),
                       ("remove", "forget a target that runs nothing")):
        one = acts.add_parser(name, help=text)
        one.add_argument("name")
        one.add_argument("--json", action="store_true")


async def _targets(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    action = args.targets_cmd
    if action is None:
        rows = await api.targets()
        return _json(rows) if args.json else _table(rows)
    if action == "add":
        data = await api.target_add(args.name, args.hub, args.user, args.capacity,
                                    args.token_env, args.doctor, args.warm)
    elif action == "doctor":
        data = await api.target_doctor(args.name)
    else:
        data = await api.target_action(args.name, action)
    status = _failed(data) if action in ("add", "doctor") else 0
    return _json(data, status) if args.json else Result(_one_text(action, data), None, data,
                                                        status)


def _table(rows: list[dict[str, Any]]) -> Result:
    cells = [[r["name"], r["kind"], r["state"], f"{len(r.get('claims', []))}/{r['capacity']}",
              f"{r['user']}@{r['url']}" if r.get("url") else "this machine",
              _doctor_summary(r)] for r in rows]
    return Result(render.table_text(COLUMNS, cells), render.table_html(COLUMNS, cells), rows)


def _doctor_summary(target: dict[str, Any]) -> str:
    checks = target.get("checks") or []
    if target["kind"] != "hub":
        return "-"
    if not checks:
        return "not run"
    failed = [c["name"] for c in checks if not c["ok"] and not c.get("skipped")]
    return "ok" if not failed else "FAIL: " + ", ".join(failed)


def _one_text(action: str, target: dict[str, Any]) -> str:
    head = (f"target {target['name']} ({target['kind']}): {target['state']}, "
            f"{len(target.get('claims', []))}/{target['capacity']} tasks\n")
    if action not in ("add", "doctor") or not target.get("checks"):
        return head
    width = max(len(c["name"]) for c in target["checks"])
    return head + "".join(f"  {_label(c)}  {c['name']:<{width}}  {c['detail']}\n"
                          for c in target["checks"])


def _label(check: dict[str, Any]) -> str:
    return "ok  " if check["ok"] else "skip" if check.get("skipped") else "FAIL"


def _failed(target: dict[str, Any]) -> int:
    return 1 if any(not c["ok"] for c in target.get("checks") or []) else 0


def _json(data: Any, status: int = 0) -> Result:
    return Result(json.dumps(data, indent=2) + "\n", None, data, status)


HANDLERS = {"targets": _targets}
