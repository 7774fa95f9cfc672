# Quick start: `make run` and `make test`. Both create .venv and install the project first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup bench clean schemas

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: setup
	$(BIN)/policyengine evaluate --policy policies/spirion --facts examples/october-2026.yaml \
		--as-of 2026-11-27T12:00:00-05:00 --format table

test: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports --no-logo
	$(BIN)/policyengine validate --strict policies/
	$(BIN)/pytest

# Regenerate schemas/policy.schema.json and the rule-pack schema's for_clause list from the
# clause-kind registry (src/policyengine/clauses/); a test fails when they are stale.
schemas: setup
	$(BIN)/python -m policyengine.clauses.generate

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
