"""Admin defaults from drop-in files: ``<config path>/jupyter_server_config.d/*.json``.

Jupyter Server reads only ``ServerApp.jpserver_extensions`` from the JSON files of its
``jupyter_server_config.d`` directories (to enable extensions); every other setting there
is ignored. Administrators (a JupyterHub image, a config-management tool) often drop one
file per concern into ``/etc/jupyter/jupyter_server_config.d/``, so the Overmind
extension also takes the ``"Overmind"`` section of those files, e.g.::

    {"Overmind": {"model": "openai:gpt-4.1-mini", "max_cost_usd": 2.0}}

Priority, lowest first: drop-ins of the system paths, of the environment's, of the user's
(files sorted by name within a directory), then the regular config files
(``jupyter_server_config.py/json``, ``jupyter_overmind_config.py/json``), then the command
line. Unreadable or malformed files are skipped with a warning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from traitlets.config import Config

DROP_IN_DIR = "jupyter_server_config.d"
log = logging.getLogger("overmind.config")


def drop_in_config(paths: Iterable[str], section: str = "Overmind") -> Config:
    """The merged ``section`` of every drop-in JSON file under ``paths``.

    Args:
        paths: Jupyter config directories, highest priority first (as
            ``jupyter_core.paths.jupyter_config_path()`` orders them).
        section: the configurable class whose settings are taken.
    """
    merged = Config()
    for directory in reversed(list(paths)):
        for file in sorted((Path(directory) / DROP_IN_DIR).glob("*.json")):
            settings = _section(file, section)
            if settings:
                merged.merge(Config({section: settings}))
    return merged


def _section(file: Path, section: str) -> dict | None:
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        log.warning("skipping config file %s: %s", file, exc)
        return None
    found = data.get(section) if isinstance(data, dict) else None
    return found if isinstance(found, dict) else None
