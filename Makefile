# Set-up, serving, tests and checks; every target installs what it needs first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := domain application infrastructure api projections

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==24.3.1
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@echo "Create an API key in another terminal with:"
	@echo "  $(BIN)/sokosumi-projects keys create --user you@example.com --workspace demo"
	$(BIN)/sokosumi-projects serve

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES) tests benchmarks
	$(BIN)/ruff format --check $(SOURCES) tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format $(SOURCES) tests benchmarks
	$(BIN)/ruff check --fix $(SOURCES) tests benchmarks

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .ruff_cache .pytest_cache
