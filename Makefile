# LAPIS — the two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: run test setup system-deps db lint bench mutation clean

setup: system-deps $(STAMP) $(NODE_STAMP)

system-deps:
	@bash scripts/install_system_deps.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

db: setup
	$(BIN)/lapis db start
	$(BIN)/lapis db migrate
	$(BIN)/lapis db seed

run: db
	$(BIN)/lapis serve

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

# mutation testing of the core modules, each with its tests (scripts/mutation.py; slow, so not part of `test`)
mutation: setup
	$(BIN)/python scripts/mutation.py $(MUTATION_ARGS)

lint: setup
	$(BIN)/ruff check .

clean:
	-$(BIN)/lapis db stop
	rm -rf $(VENV) node_modules .data
