"""Identity rules of ``server/hub.py`` on jupyterhub's own user objects (no hub needed).

The real-hub module (``test_hub.py``) shows the same rules end to end.
"""

from __future__ import annotations

import pytest
from jupyter_server.auth.identity import User
from jupyterhub.singleuser.extension import JupyterHubUser

from overmind_jupyter.server import hub

pytestmark = pytest.mark.timeout(30)

ALICE_SERVER = {"JUPYTERHUB_USER": "alice"}


def hub_user(name: str, kind: str = "user") -> JupyterHubUser:
    """The current user jupyterhub-singleuser makes of the hub's user model."""
    return JupyterHubUser({"name": name, "kind": kind, "scopes": [], "groups": []})


def test_the_owner_is_the_host_and_others_are_visitors():
    assert hub.visitor_of(hub_user("alice"), ALICE_SERVER) is None
    assert hub.visitor_of(hub_user("bob"), ALICE_SERVER) == hub.Visitor("bob", "user")
    assert hub.visitor_of(hub_user("alice", "service"), ALICE_SERVER) == hub.Visitor(
        "alice", "service")  # a service named like the owner is still not the owner


def test_outside_jupyterhub_nobody_is_a_visitor():
    assert hub.visitor_of(hub_user("bob"), {}) is None
    assert hub.visitor_of(User(username="bob"), ALICE_SERVER) is None  # no hub login
    assert hub.visitor_of(None, ALICE_SERVER) is None


def test_messages_say_whose_server_it_is_and_what_to_use():
    bob = hub.Visitor("bob", "user")
    assert "alice's Overmind" in hub.host_only_message(bob, ALICE_SERVER)
    assert "party/me" in hub.host_only_message(bob, ALICE_SERVER)
    assert "ask alice to host one" in hub.no_party(bob, ALICE_SERVER).message
    assert "overmind host" in hub.no_party(None, ALICE_SERVER).message
    assert hub.no_party(bob, ALICE_SERVER).http_status == 409


def test_invites_use_the_hubs_public_url_when_it_is_known():
    assert hub.public_url({"JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/user/alice/"}) \
        == "https://hub.example.org/user/alice/"
    assert hub.public_url({"JUPYTERHUB_PUBLIC_URL": ""}) is None
