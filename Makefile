# Stackwise: the two commands are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run run-scaled test setup build train serve lint validate unit rasa-test bench lock clean

## make run: set up what is missing, build, train if inputs changed, start everything.
run: setup build train
	$(BIN)/stackwise serve

## make run-scaled: 2 Rasa replicas + 2 action servers behind a local proxy, on the local
## PostgreSQL and Redis (databases created if missing; see docs/deployment.md). STACKWISE_* URLs
## already set in the environment win.
SCALED_PG ?= postgresql+psycopg2://postgres@127.0.0.1:5432
SCALED_REDIS ?= redis://127.0.0.1:6379/0
run-scaled: setup build train
	STACKWISE_DATABASE_URL=$${STACKWISE_DATABASE_URL:-$(SCALED_PG)/stackwise} \
	STACKWISE_APP_DATABASE_URL=$${STACKWISE_APP_DATABASE_URL:-$(SCALED_PG)/stackwise_app} \
	STACKWISE_TRACKER_STORE_URL=$${STACKWISE_TRACKER_STORE_URL:-$(SCALED_PG)/stackwise_tracker} \
	STACKWISE_LOCK_STORE_URL=$${STACKWISE_LOCK_STORE_URL:-$(SCALED_REDIS)} \
	$(BIN)/stackwise serve --scaled

## make test: set up what is missing, then every check and test.
test: setup build train lint validate unit rasa-test

setup:
	@bash scripts/setup.sh

build: setup
	$(BIN)/stackwise build

train: build
	$(BIN)/stackwise train

serve:
	$(BIN)/stackwise serve

lint: setup
	$(BIN)/ruff check bot actions knowledge tests bench
	$(BIN)/ruff format --check bot actions knowledge tests bench

validate: setup
	$(BIN)/rasa data validate --fail-on-warnings --domain bot/domain --data data --config config.yml

unit: setup
	$(BIN)/pytest -q

rasa-test: train
	$(BIN)/rasa test core --stories tests/test_stories.yml --model models/stackwise.tar.gz --fail-on-prediction-errors --out var/results

bench: setup build train
	$(BIN)/python -m bench

lock:
	$(BIN)/pip freeze --exclude-editable | sort -f > constraints.txt

clean:
	rm -rf var models results .pytest_cache .ruff_cache
