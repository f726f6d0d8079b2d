# Hindsight: `make run` serves the demo on SQLite, `make test` runs the tests not marked slow,
# `make test-all` runs every test (the slow ones too: subprocesses, the browser, fuzzing, `serve`).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-slow test-all lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/hindsight demo
	@echo "Hindsight: http://$(HOST):$(PORT)/  (sign in as admin@example.com / hindsight-demo)"
	$(BIN)/hindsight serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/lint-imports

# The fast tests in two processes (pytest-xdist: each has its own databases); the slow ones one at a time,
# since several of them time real servers.
TEST_PROCESSES ?= 2

test: lint
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) -m "not slow" $(PYTEST_ARGS)

test-slow: install
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

test-all: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	@command -v pandoc >/dev/null || (apt-get update -qq && apt-get install -y -qq pandoc >/dev/null) || echo "pandoc could not be installed: the DOCX comparison will be skipped"
	$(BIN)/python -m benchmarks $(SCENARIOS)

clean:
	rm -rf $(VENV) instance .pytest_cache
