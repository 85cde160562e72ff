# Two entry points (see README): `make app` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8501

.PHONY: app test lint bench

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt
	touch $@

## Build the reference geography and the demo snapshots if missing, then open the app.
## MALLOC_ARENA_MAX=2: the server's threads share two malloc arenas (docs/architecture.md,
## « Memory »: 1.52 GB → 1.23 GB resident after every page of both series).
app: $(VENV)/.runtime
	$(PY) -m observatory demo
	MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX:-2} $(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

## Lint, check the layers (import-linter), then run the whole test suite (unit, integration on
## ../shared/data, app, browser).
test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: $(VENV)/.dev
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done
