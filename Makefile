# The README's two commands are `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= What are the symptoms of glaucoma?

.PHONY: setup run ingest test test-fast lint bench clean

setup:
	bash scripts/setup.sh

## Set up, index MedQuAD and the PubMedQA abstracts, and answer a question (embedded defaults).
run: setup ingest
	$(BIN)/lumen ask "$(QUESTION)"

ingest:
	$(BIN)/lumen ingest medquad
	$(BIN)/lumen ingest pubmedqa

## Set up, lint, type-check and run the whole test suite.
test: setup lint
	$(BIN)/python -m pytest

test-fast:
	$(BIN)/python -m pytest -m "not slow"

lint:
	$(BIN)/ruff check lumen tests bench
	$(BIN)/ruff format --check lumen tests bench
	$(BIN)/mypy

bench:
	$(BIN)/python bench/bench_core.py

clean:
	rm -rf .lumen .pytest_cache .mypy_cache .ruff_cache
