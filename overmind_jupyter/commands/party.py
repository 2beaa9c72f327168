"""Party commands of the shared grammar (parsers and handlers; see ``commands``)::

    host [--name NAME] [--auto-approve NAME …] [--auto-approve-prompts] [--auto-merge]
         [--json]
    join INVITE --name NAME [--json]
    party [--json]                        the hosted party and the joined ones
    party invite [--ttl S] [--role reviewer|collaborator|viewer] [--json]
    party revoke REF                      an invite (id, prefix or code)
    party approve REF [--role ROLE]       a member (id, prefix or name) or a prompt (prm-…)
    party deny REF | party kick REF       a member (or, for deny, a prompt)
    party role REF ROLE                   reviewer | collaborator | viewer
    party share REF | party move REF POSITION     a prompt (POSITION 0 = first)
    party prompt TEXT… [--as NAME]        a prompt to the hosted or a joined party
    party review merge|close|request-changes CHANGE [TEXT…] [--as NAME]
                                          a reviewer's decision on a change it follows
    party leave [--as NAME] | party close
"""

from __future__ import annotations

import argparse
import json
import time
from html import escape as html_escape
from typing import Any

from ..api import EngineAPI
from ..errors import UsageError
from . import render
from .result import Result

ROLES = ("reviewer", "collaborator", "viewer")  # a reviewer also merges, closes, asks changes
MEMBER_COLUMNS = ("ID", "NAME", "ROLE", "STATE")
PROMPT_COLUMNS = ("ID", "FROM", "STATUS", "TEXT")
INVITE_COLUMNS = ("ID", "CODE", "ROLE", "STATE", "EXPIRES")


def add_parsers(sub: Any) -> None:
    """Add ``host``, ``join`` and ``party …`` to ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("host", help="host a party on this server and print an invite")
    p.add_argument("--name", help="your name in the party (default: your login)")
    p.add_argument("--auto-approve", nargs="+", default=[], metavar="NAME",
                   help="guests admitted without asking")
    p.add_argument("--auto-approve-prompts", action="store_true")
    p.add_argument("--auto-merge", action="store_true",
                   help="the party's changes land without review (default: a reviewer "
                   "merges each)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("join", help="join a party with an invite")
    p.add_argument("invite")
    p.add_argument("--name", required=True)
    p.add_argument("--json", action="store_true")
    party = sub.add_parser("party", help="the party: members, invites, prompt queue")
    party.add_argument("--json", action="store_true")
    _add_party_actions(party.add_subparsers(dest="party_cmd", metavar="ACTION"))


def _add_party_actions(acts: Any) -> None:
    p = acts.add_parser("invite", help="a new invite")
    p.add_argument("--ttl", type=float, default=86_400.0, metavar="S")  # checked by the engine
    p.add_argument("--role", choices=ROLES, default="collaborator")
    p.add_argument("--json", action="store_true")
    for name, text in (("revoke", "revoke an invite"), ("deny", "deny a member or prompt"),
                       ("kick", "remove a member (its credential stops working)"),
                       ("share", "show a prompt's text to every member")):
        acts.add_parser(name, help=text).add_argument("ref")
    p = acts.add_parser("approve", help="admit a member or approve a prompt")
    p.add_argument("ref")
    p.add_argument("--role", choices=ROLES)
    p = acts.add_parser("role", help="change a member's role")
    p.add_argument("ref")
    p.add_argument("role", choices=ROLES)
    p = acts.add_parser("move", help="move a queued prompt (0 = first)")
    p.add_argument("ref")
    p.add_argument("position", type=int)
    p = acts.add_parser("prompt", help="submit a prompt to the party")
    p.add_argument("text", nargs="+")
    p.add_argument("--as", dest="member", metavar="NAME")
    p.add_argument("--agent", metavar="NAME", help="which of the host's agents runs it")
    p = acts.add_parser("review", help="as a reviewer of a joined party: merge, close or "
                        "request changes of a change of an objective you follow")
    p.add_argument("action", choices=("merge", "close", "request-changes"))
    p.add_argument("change")
    p.add_argument("text", nargs="*", help="request-changes: what should change")
    p.add_argument("--as", dest="member", metavar="NAME")
    acts.add_parser("leave", help="leave a joined party").add_argument(
        "--as", dest="member", metavar="NAME")
    acts.add_parser("close", help="close the hosted party")


async def _host(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.host(args.name, args.auto_approve, args.auto_approve_prompts,
                          args.auto_merge)
    if args.json:
        return _json(data)
    text = (f"party {data['party']['id']} open, hosted by {data['host']['name']}\n"
            + _invite_text(data))
    return Result(text, None, data)


def _invite_text(data: dict[str, Any]) -> str:
    valid = render.age(round(data["expires_at"] - data["created_at"]))
    return (f"invite {data['name']} ({data['role']}, valid {valid}; shown only now):\n"
            f"  {data['invite']}\n"
            f"guests join with: overmind join '{data['invite']}' --name NAME\n")


async def _join(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    data = await api.join(args.invite, args.name)
    if args.json:
        return _json(data)
    member = data["member"]
    waiting = " (waiting for the host's approval)" if member["state"] == "pending" else ""
    return Result(f"joined {data['party']['name']} as {member['name']} "
                  f"({member['role']}){waiting}\n", None, data)


async def _party(api: EngineAPI, args: argparse.Namespace, cwd: str) -> Result:
    action = args.party_cmd
    if action is None:
        return _status(await api.party_status(), args.json)
    if action == "invite":
        data = await api.invite(args.ttl, args.role)
        return _json(data) if args.json else Result(_invite_text(data), None, data)
    data = await _ACTIONS[action](api, args)
    return Result(_done_text(action, data), None, data)


def _done_text(action: str, data: dict[str, Any]) -> str:
    """One line saying what an action did: ``left ada's party (as bob)``, ``prompt
    prm-… from bob: approved``, else ``<action>: <name or id> is <state>``."""
    if action == "leave":
        party = (data.get("party") or {}).get("name") or data.get("host")
        member = (data.get("member") or {}).get("name")
        return f"left {party}" + (f" (as {member})" if member else "") + "\n"
    if action == "prompt":
        return f"prompt {data.get('id')} from {data.get('name')}: {data.get('state')}\n"
    if action == "review":
        change = data.get("change", data)  # merge and request-changes wrap the change
        outcome = (data.get("outcome") or {}).get("message", "")
        return f"change {change.get('id')}: {change.get('state')}" + \
            (f" — {outcome}" if outcome else "") + "\n"
    return f"{action}: {data.get('name') or data.get('id')} is {data.get('state')}\n"


_ACTIONS = {
    "revoke": lambda api, a: api.revoke_invite(a.ref),
    "approve": lambda api, a: (api.prompt_action(a.ref, "approve") if _is_prompt(a.ref)
                               else api.member_action(a.ref, "approve", a.role)),
    "deny": lambda api, a: (api.prompt_action(a.ref, "deny") if _is_prompt(a.ref)
                            else api.member_action(a.ref, "deny")),
    "kick": lambda api, a: api.member_action(a.ref, "kick"),
    "role": lambda api, a: api.member_action(a.ref, "role", a.role),
    "share": lambda api, a: api.prompt_action(a.ref, "share"),
    "move": lambda api, a: api.prompt_action(a.ref, "move", a.position),
    "prompt": lambda api, a: api.party_prompt(" ".join(a.text), a.member, a.agent),
    "review": lambda api, a: api.party_review(a.action, a.change,
                                              " ".join(a.text) or None, a.member),
    "leave": lambda api, a: api.leave(a.member),
    "close": lambda api, a: api.close_party(),
}


def _is_prompt(ref: str) -> bool:
    """Prompt ids start with ``prm-``; every other reference names a member."""
    return ref.startswith("prm-")


def _status(data: dict[str, Any], as_json: bool) -> Result:
    if as_json:
        return _json(data)
    hosting, joined = data["hosting"], data["joined"]
    if hosting is None and not joined:
        raise UsageError("no party here: `overmind host` opens one, `overmind join INVITE "
                         "--name NAME` joins one")
    text, html = "", ""
    if hosting is not None:
        text, html = _hosting_text(hosting)
    for link in joined:
        me = link.get("member") or {}
        state = "ended: " + link["ended"] if link["ended"] else me.get("state", "?")
        text += f"joined {link['host']} as {link['name']} ({me.get('role', '?')}, {state})\n"
    return Result(text, html or None, data)


def _hosting_text(h: dict[str, Any]) -> tuple[str, str]:
    tables = (
        ("members", MEMBER_COLUMNS, [[m["id"], m["name"], m["role"], m["state"]]
                                     for m in h["members"]]),
        ("queue", PROMPT_COLUMNS, [[p["id"], p["name"], p["state"], p["text"][:60]]
                                   for p in h["queue"]]),
        ("invites", INVITE_COLUMNS, [[i["id"], i["name"], i["role"], i["state"],
                                      render.age(max(0.0, i["expires_at"] - time.time()))]
                                     for i in h["invites"] if i["state"] == "active"]))
    head = f"party {h['party']['id']}: {h['party']['name']}\n"
    text = head + "".join(f"\n{title}:\n" + (render.table_text(cols, rows) if rows
                                             else "  (none)\n")
                          for title, cols, rows in tables)
    html = f"<p>{html_escape(head)}</p>" + "".join(f"<p>{title}</p>" + render.table_html(cols, rows)
                   for title, cols, rows in tables if rows)
    return text, html


def _json(data: Any) -> Result:
    return Result(json.dumps(data, indent=2) + "\n", None, data)


HANDLERS = {"host": _host, "join": _join, "party": _party}
