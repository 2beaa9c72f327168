"""Fixtures of the LLM tests: loopback wire servers and a recording sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llm_helpers import KEY, RecordingSleep

from overmind_jupyter.testing.gemini_server import GeminiWireServer
from overmind_jupyter.testing.openai_server import OpenAIWireServer


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def openai_server() -> Iterator[OpenAIWireServer]:
    with OpenAIWireServer(api_key=KEY) as server:
        yield server


@pytest.fixture
def gemini_server() -> Iterator[GeminiWireServer]:
    with GeminiWireServer(api_key=KEY) as server:
        yield server
