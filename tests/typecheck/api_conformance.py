"""Checked by mypy (``tests/test_layers.py``), never imported by pytest: the engine and the
REST client are structurally ``api.EngineAPI`` with every argument and return type."""

from overmind_jupyter.api import EngineAPI
from overmind_jupyter.client import Client
from overmind_jupyter.engine import Engine


def engine_is_the_contract(engine: Engine) -> EngineAPI:
    return engine


def client_is_the_contract(client: Client) -> EngineAPI:
    return client
