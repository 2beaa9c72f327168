# The two commands of README: `make demo` and `make test`. Both bootstrap .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo demo-supervisor test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

# the main job on a real PyPI project (tabulate), headless, offline after the first fetch
demo: $(STAMP)
	$(BIN)/python -m demo.main

# the process-supervisor side: missions, restart policies, stalls, trees, blueprints
demo-supervisor: $(STAMP)
	$(BIN)/python demo/supervisor_demo.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python bench/supervisor_bench.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
