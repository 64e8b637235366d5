# The README's two commands are `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= What are the symptoms of glaucoma?

.PHONY: setup run ask serve web ingest test test-fast lint lock audit bench clean

setup:
	bash scripts/setup.sh

## Set up, index MedQuAD and the PubMedQA abstracts, build the web app, answer a question,
## then serve Lumen at http://127.0.0.1:8000 (embedded defaults; Ctrl-C stops it).
run: setup ingest web ask serve

ask:
	$(BIN)/lumen ask "$(QUESTION)"

serve:
	@echo "Lumen: open http://127.0.0.1:8000 in a browser (Ctrl-C stops it)"
	$(BIN)/lumen serve

## Build the web app's static export when its sources changed (Node 20 + npm).
web:
	bash scripts/web.sh ensure

ingest:
	$(BIN)/lumen ingest medquad
	$(BIN)/lumen ingest pubmedqa

## Set up, lint, type-check and run the whole test suite.
test: setup lint audit
	$(BIN)/python -m pytest

test-fast:
	$(BIN)/python -m pytest -m "not slow"

lint:
	$(BIN)/ruff check lumen lumen_lab tests bench scripts
	$(BIN)/ruff format --check lumen lumen_lab tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

## Rewrite constraints.txt from the set-up environment (after changing a dependency).
lock:
	$(BIN)/python scripts/lock.py

## pip-audit --strict over the lock.
audit:
	bash scripts/audit.sh

bench:
	$(BIN)/python bench/bench_core.py

clean:
	rm -rf .lumen .pytest_cache .mypy_cache .ruff_cache
