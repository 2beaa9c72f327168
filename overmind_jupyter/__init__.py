"""Overmind for Jupyter: a notebook-native control room for teams of AI coding agents.

Import layers (imports point down only): ui (magics, cli, widgets) → edge (server,
client, commands) → core (engine, supervisor, store) → base (model, events, errors, config).
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict]:
    """Entry point Jupyter Server uses to find the Overmind extension app."""
    from .server.app import Overmind

    return [{"module": "overmind_jupyter.server.app", "app": Overmind}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built labextension lives (``src``, relative to this package) and its name
    (``dest``): what ``jupyter labextension develop --overwrite .`` links for an editable
    install (``make ui`` makes the same link in the project's venv)."""
    return [{"src": "labextension", "dest": "overmind-jupyter"}]


def load_ipython_extension(ipython) -> None:  # pragma: no cover - thin re-export
    """``%load_ext overmind_jupyter``: register the ``%overmind`` magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:  # pragma: no cover - thin re-export
    """``%unload_ext overmind_jupyter``: stop an embedded engine and its missions."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
