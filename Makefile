# live-mem: every target sets up what it needs (a virtualenv in .venv) first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup lint test test-fast run demo bench clean

$(STAMP): pyproject.toml ops/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c ops/constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install live-mem with its dev tools

lint: setup  ## ruff, mypy --strict (tests included), import-linter layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint  ## everything CI runs: the checks above, then the whole test suite
	$(BIN)/python -m pytest

test-fast: setup  ## the test suite without the S3 servers
	$(BIN)/python -m pytest -k "not moto and not seaweedfs and not Moto and not SeaweedFs"

run: setup  ## start the server on the embedded defaults (./data, extractive) and print a token + client configs
	$(BIN)/live-mem serve --quickstart

demo: setup  ## replay the shared dataset (600 notes, 148 agents) over MCP, consolidate, print the bank
	$(BIN)/python -m ops.demo

bench: setup  ## benchmarks (not part of make test): latency, bank reads, LLM tokens per note, memory
	$(BIN)/python -m ops.bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
