# Set-up, serving, tests and checks; every target installs what it needs first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
SOURCES := domain application infrastructure api projections

.PHONY: run test soak lint format bench bench-quick clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==24.3.1
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@echo "Create an API key in another terminal with:"
	@echo "  $(BIN)/sokosumi-projects keys create --user you@example.com --workspace demo"
	$(BIN)/sokosumi-projects serve

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,bench]'
	touch $(BENCH_STAMP)

test: $(STAMP)
	$(BIN)/pytest -q

# The long variants of the exploring, soak, fuzzing, fault and security tests:
# minutes of random command sequences, load, schemathesis and injected faults.
# `make test` runs a short variant of each.
soak: $(STAMP)
	SOKOSUMI_LONG_TESTS=1 $(BIN)/pytest -q \
		tests/properties tests/load tests/fuzz tests/faults tests/security

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES) tests benchmarks
	$(BIN)/ruff format --check $(SOURCES) tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format $(SOURCES) tests benchmarks
	$(BIN)/ruff check --fix $(SOURCES) tests benchmarks

# The service against a plain-SQL baseline; BENCH_QUICK=1 for a short smoke run.
# wrk, the load generator, is a Debian package; apt-get installs it when missing.
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } >/dev/null \
		|| { echo "make bench needs wrk (a Debian package), and apt-get could not install it" >&2; exit 1; }
	$(BIN)/python -m benchmarks.suite

bench-quick:
	BENCH_QUICK=1 $(MAKE) bench

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .ruff_cache .pytest_cache
