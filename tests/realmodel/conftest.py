"""The real local model for the tests of this folder: Qwen2.5-Coder 1.5B under llama.cpp's
llama-server on 127.0.0.1 with 2 slots (``make local-model`` sets it up; ``make test``
does so first). Every test here is marked ``realmodel`` and runs apart from the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from overmind_jupyter.localmodel.install import installed
from overmind_jupyter.localmodel.serve import LocalServer

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.realmodel)


@pytest.fixture(scope="session")
def local_model() -> Iterator[LocalServer]:
    """The running server (``model_id``: ``openai:qwen2.5-coder-1.5b@http://…/v1``)."""
    ready = installed()
    if ready is None:
        pytest.fail("the local model is not set up: run `make local-model`")
    with LocalServer(ready, slots=2) as server:
        yield server
