# Hindsight: `make run` serves the demo on SQLite, `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench clean

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

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	@command -v pandoc >/dev/null || (apt-get update -qq && apt-get install -y -qq pandoc >/dev/null) || echo "pandoc could not be installed: the DOCX comparison will be skipped"
	$(BIN)/python -m benchmarks $(SCENARIOS)

clean:
	rm -rf $(VENV) instance .pytest_cache
