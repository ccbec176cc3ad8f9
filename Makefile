# The two commands of the README's quickstart: `make demo` and `make test`.
# Everything is installed into .venv from pyproject.toml (with the `spark` extra, so the Spark suites
# run: tests/spark/, marker `spark`; they need Java 17, which .ci/run installs when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "journey-metrics needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/journey-metrics demo

test: $(STAMP)
	$(BIN)/ruff check src tests pipelines bench
	$(BIN)/mypy
	$(BIN)/pytest -m "not slow"

test-slow: $(STAMP)
	$(BIN)/pytest -m slow --durations=30

lint: $(STAMP)
	$(BIN)/ruff check src tests pipelines bench
	$(BIN)/ruff format --check src tests pipelines
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/read_side.py bench/cache/input-1m bench/cache/extra-1m bench/results/read_side/1m.json
	$(BIN)/python bench/funnel_peers.py bench/cache/work-1m/journey.duckdb bench/cache/work-1m/export bench/results/funnel/1m.json
	$(BIN)/python bench/funnel_peers.py bench/cache/work-10m/journey.duckdb bench/cache/work-10m/export bench/results/funnel/10m.json --repeat 3
	$(BIN)/python bench/scale.py --sizes 1m,10m,30m
	$(BIN)/python bench/spark.py --sizes 1m,10m

clean:
	rm -rf $(VENV) out journey.duckdb
