"""Helpers of ``notebooks/quickstart.ipynb`` (and of ``demo/main.py``, which shares them).

``prepare(work)`` makes the notebook self-sufficient: the pinned project as a git
repository in ``<work>/tabulate``, an Overmind server for it (``overmind start``: a
headless Jupyter server with the extension) unless one runs already, the kernel's working
directory moved into the project, and ``OVERMIND_URL`` / ``OVERMIND_TOKEN`` set so that
``%load_ext overmind`` uses that server (in JupyterLab or on Binder they first name the
Lab's own server, whose root is another directory). ``finish(session)`` shuts the server
down if ``prepare`` started it.

The server answers with the scripted model of ``demo/scenario.py`` unless
``OVERMIND_MODEL``, an ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` or a ``GEMINI_API_KEY`` /
``GOOGLE_API_KEY`` is set, in which case that real model does the work (and the label
says so).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from overmind_jupyter import runtime_files
from overmind_jupyter.agents import adapters
from overmind_jupyter.errors import EngineUnavailable
from overmind_jupyter.llm.registry import split_base_url
from overmind_jupyter.llm.retry import public_url

from . import project, scenario

HERE = Path(__file__).resolve().parent
CONFIG_DIR = HERE / "jupyter_config"  # the demo server's jupyter_server_config.py
SCRIPTS_DIR = "scripted-model"  # under the work directory
LABEL_ENV = "OVERMIND_DEMO_MODEL"  # demo/main.py tells the notebook which model answers
CLI_TIMEOUT_S = 120.0
SERVER_VARS = ("OVERMIND_URL", "OVERMIND_TOKEN")  # which server a kernel or the CLI uses
BASE_URL_VARS = {"openai": "OPENAI_BASE_URL", "gemini": "GOOGLE_GEMINI_BASE_URL"}
PROVIDER_APIS = {"openai": "https://api.openai.com/v1",  # where the SDKs go by default
                 "gemini": "https://generativelanguage.googleapis.com"}
SCRIPTED = "scripted model (no API key set: every answer is pre-written in demo/scenario.py)"


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """A prepared project and its server: ``repo`` (the git repository), ``url`` of the
    server, ``model`` (a label: scripted or which real model) and whether ``prepare``
    ``started`` the server (then ``finish`` stops it)."""

    repo: Path
    url: str
    model: str
    started: bool

    def __repr__(self) -> str:
        return (f"{project.TABULATE.name} {project.TABULATE.version} in {self.repo}\n"
                f"Overmind server at {self.url} "
                f"({'started now' if self.started else 'already running'})\n"
                f"model: {self.model}")


def configured_model(env: Mapping[str, str]) -> str | None:
    """The model id ``OVERMIND_MODEL`` or a provider key selects, None when neither is set."""
    if any(env.get(k) for k in ("OVERMIND_MODEL", *adapters.PROVIDER_KEYS)):
        return adapters.default_model(env)
    return None


def describe(model: str, env: Mapping[str, str]) -> str:
    """A label for a configured model id: a user's own script, or a real model and the
    endpoint it is asked at (``openai:MODEL@URL``, else ``OPENAI_BASE_URL`` /
    ``GOOGLE_GEMINI_BASE_URL``, else the provider's own API)."""
    if model.startswith("scripted:"):
        return f"scripted model ({model})"
    provider, _, rest = model.partition(":")
    name, url = split_base_url(rest)
    url = url or env.get(BASE_URL_VARS.get(provider, "")) or PROVIDER_APIS.get(provider)
    return f"{provider}:{name} at {public_url(url)} (a real model)" if url else \
        f"{model} (a real model)"


def model_env(env: Mapping[str, str], scripts: Path) -> tuple[dict[str, str], str]:
    """The server's extra environment and a label naming the model that will answer.

    A configured model (``configured_model``) wins; otherwise the scenario's scripts are
    written to ``scripts`` and the scripted model answers.
    """
    model = configured_model(env)
    if model is not None:
        return {}, describe(model, env)
    scenario.write_scripts(scripts)
    return {"OVERMIND_MODEL": f"scripted:{scripts}"}, SCRIPTED


def server_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of ``overmind start``: this one plus ``extra``, the demo's Jupyter
    config first on ``JUPYTER_CONFIG_PATH`` and this Python's ``bin`` first on ``PATH``
    (agents' ``python -m pytest`` then runs where tabulate's tests can run)."""
    env = {**os.environ, **extra}
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (str(CONFIG_DIR), env.get("JUPYTER_CONFIG_PATH")) if p)
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent),
                                              env.get("PATH")) if p)
    return env


def overmind(repo: Path, *args: str, env: Mapping[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """Run the ``overmind`` CLI in ``repo`` (output captured) on ``repo``'s own server:
    the one its runtime file names, not one ``OVERMIND_URL`` may name."""
    env = {k: v for k, v in (env or os.environ).items() if k not in SERVER_VARS}
    return subprocess.run([sys.executable, "-m", "overmind_jupyter.cli", *args], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)


def start_server(repo: Path, work: Path) -> tuple[dict, str]:
    """Start an Overmind server for ``repo``; return its runtime info and model label.

    Raises:
        EngineUnavailable: ``overmind start`` failed (its output is in the message).
    """
    extra, label = model_env(os.environ, work / SCRIPTS_DIR)
    done = overmind(repo, "start", env=server_env(extra))
    info = runtime_files.find(repo)
    if done.returncode != 0 or info is None:
        raise EngineUnavailable(f"`overmind start` failed in {repo}: "
                                f"{(done.stdout + done.stderr).strip()[-2000:]}")
    return info, label


def prepare(work: str | Path | None = None, folder: str = project.TABULATE.name) -> Session:
    """The project in ``<work>/<folder>`` (default: ``./tabulate``) with a server for it;
    this process's working directory moves into it and ``OVERMIND_URL`` /
    ``OVERMIND_TOKEN`` point at that server (in JupyterLab they named the Lab's own).

    Raises:
        project.DemoError: the project could not be fetched or made a repository.
        EngineUnavailable: the server did not start.
    """
    work = Path(work or os.getcwd()).resolve()
    repo = project.prepare(work / folder)
    info, started = runtime_files.find(repo), False
    if info is None:
        (info, label), started = start_server(repo, work), True
    else:  # started earlier, e.g. by demo/main.py (which says which model it uses)
        model = configured_model(os.environ)
        label = os.environ.get(LABEL_ENV) or (describe(model, os.environ) if model else SCRIPTED)
    os.chdir(repo)
    os.environ["OVERMIND_URL"], os.environ["OVERMIND_TOKEN"] = info["url"], info["token"]
    return Session(repo, info["url"], label, started)


def finish(session: Session) -> str:
    """Shut the server down if ``prepare`` started it; return what happened."""
    if not session.started:
        return f"the Overmind server at {session.url} keeps running (demo/main.py stops it)"
    done = overmind(session.repo, "shutdown")
    return (done.stdout + done.stderr).strip()
