# One entry point per job; each refreshes .venv first (only when pyproject.toml changed).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: run test bench bench-smoke lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  ## install, then open the TUI on the bundled demo estate
	$(VENV)/bin/tsbrunbook $(ARGS)

test: $(STAMP)  ## install, then run the whole test suite
	$(PY) -m pytest -q $(ARGS)

bench: $(STAMP)  ## measure the performance budgets, write BENCHMARKS.md
	$(PY) benchmarks/run.py $(ARGS)

bench-smoke: $(STAMP)
	$(PY) benchmarks/run.py --smoke

lint: $(STAMP)
	$(PY) -m pip install --quiet ruff
	$(VENV)/bin/ruff check tsbrunbook tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
