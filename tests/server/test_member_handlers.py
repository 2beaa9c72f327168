"""Member routes outside JupyterHub: the single Jupyter user is the party's host member.

(Hub visitors on these routes: ``tests/hub/test_hub.py``, against a real JupyterHub.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(60)


async def member_call(jp_fetch, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A member route called as the Jupyter user (cookie/token login)."""
    kwargs = {"body": json.dumps(body if body is not None else {})} if method == "POST" else {}
    resp = await jp_fetch("overmind", "api", *path.split("/"), method=method,
                          raise_error=False, **kwargs)
    return resp.code, json.loads(resp.body)


async def test_with_no_party_the_owner_is_told_to_host_one(jp_fetch):
    code, body = await member_call(jp_fetch, "GET", "party/me")
    assert (code, body["reason"]) == (409, "no-party")
    assert "host one" in body["message"]
    code, body = await member_call(jp_fetch, "POST", "party/me/prompts", {"text": "hi"})
    assert (code, body["reason"]) == (409, "no-party")


async def test_the_jupyter_user_is_the_host_member_and_the_status_route_stays_open(
        jp_fetch, engine):
    engine.party_url = "http://127.0.0.1:1/"  # invites need an address; none is used here
    await jp_fetch("overmind", "api", "party", method="POST", body=json.dumps({"name": "ann"}))
    code, view = await member_call(jp_fetch, "GET", "party/me")
    assert code == 200
    assert {k: view["me"][k] for k in ("name", "role", "state")} == {
        "name": "ann", "role": "host", "state": "approved"}
    assert (await jp_fetch("overmind", "api", "status")).code == 200  # not a party member
    code, body = await member_call(jp_fetch, "POST", "party/me/prompts", {"text": ""})
    assert (code, body["reason"]) == (400, "invalid")
