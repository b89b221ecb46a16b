# One entry point per job; each refreshes .venv first (only when pyproject.toml changed).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS ?=
# Four workers on CI's two cores: many tests wait on subprocesses, terminals, servers and
# deadlines, so two more workers fill that time; worksteal evens out the long Pilot tests.
WORKERS ?= 4

.PHONY: run test test-fast bench bench-smoke lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

run: $(STAMP)  ## install, then open the TUI on the bundled demo estate
	$(VENV)/bin/tsbrunbook $(ARGS)

test: $(STAMP)  ## install, then run the whole test suite (slow tests included)
	$(PY) -m pytest -q -n $(WORKERS) --dist worksteal $(ARGS)

test-fast: $(STAMP)  ## the suite without the end-to-end, benchmark and packaging tests
	$(PY) -m pytest -q -n $(WORKERS) --dist worksteal -m 'not slow' $(ARGS)

bench: $(STAMP)  ## measure the performance budgets, write BENCHMARKS.md
	$(PY) benchmarks/run.py $(ARGS)

bench-smoke: $(STAMP)
	$(PY) benchmarks/run.py --smoke

lint: $(STAMP)  ## ruff (lint and format check), mypy, the layer contract (import-linter)
	$(VENV)/bin/ruff check tsbrunbook tests benchmarks
	$(VENV)/bin/ruff format --check tsbrunbook tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
