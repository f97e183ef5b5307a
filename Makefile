# Relaydesk's entry point for people: `make help` lists the targets.
#
# Every target that needs Python depends on `install`, which creates .venv with
# `python3 -m venv` when it is missing and reinstalls the project only when pyproject.toml
# is newer than the stamp file kept inside .venv. The front ends work the same way:
# `npm ci` runs only when package-lock.json changed, each Vite build only when its sources
# changed, and the console's API types are regenerated only when the Python code changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
# `make test` is a sequence (packages, venv, services, migrations, lint, tests): never parallel.
.NOTPARALLEL:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.relaydesk-installed

# Debian packages the test suite needs (dovecot-imapd: the email channel's IMAP tests;
# chromium and a font: the browser tests, which never download a browser of their own).
SYSTEM_PACKAGES := dovecot-imapd chromium fonts-dejavu-core
# apt-get needs root; CI runs as root, people usually do not.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PG_HOST := 127.0.0.1
PG_PORT := 5432
PG_USER := postgres
PSQL := psql -h $(PG_HOST) -p $(PG_PORT) -U $(PG_USER) -d postgres -v ON_ERROR_STOP=1 -qX
# One scratch database per checkout, so two checkouts can run `make test` at once.
MIGRATIONS_CHECK_DB := relaydesk_migrations_check_$(shell printf %s "$(CURDIR)" | md5sum | cut -c1-8)
MIGRATIONS_CHECK_URL := postgresql+asyncpg://$(PG_USER)@$(PG_HOST):$(PG_PORT)/$(MIGRATIONS_CHECK_DB)

# The front ends (package.json): the console in app/console/, the widget in widgets/.
NPM ?= npm
NODE_STAMP := node_modules/.relaydesk-installed
CONSOLE_BUILD := app/console/dist/index.html
WIDGET_BUILD := widgets/dist/.vite/manifest.json
OPENAPI_DOCUMENT := build/openapi.json
API_TYPES := app/console/src/api/api.d.ts
CONSOLE_SOURCES := $(shell find app/console/src -type f ! -name api.d.ts) \
	app/console/index.html app/console/vite.config.ts
WIDGET_SOURCES := $(shell find widgets/src -type f) widgets/vite.config.ts
PYTHON_SOURCES := $(shell find app channels routing knowledge_base widgets -name '*.py')

.PHONY: help run test lint format bench bench-email bench-chat bench-relay bench-console screenshots bench-routing migrate services \
	system-packages install \
	migrations-check clean frontend frontend-install frontend-check types

help: ## List the targets
	@echo "Usage: make <target>"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

run: install frontend services ## Build what changed, migrate and serve on http://127.0.0.1:8000 (console at /console)
	$(BIN)/relaydesk dev

test: system-packages install frontend frontend-check services migrations-check ## All set-up, front-end checks, migration checks, ruff, mypy, pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2

lint: install ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install services ## API load benchmark (scratch database relaydesk_bench; see bench/README.md)
	$(BIN)/python bench/api_load.py

bench-email: system-packages install services ## Email ingest benchmark: 5,000 messages via dovecot IMAP (see bench/README.md)
	$(BIN)/python bench/email_ingest.py

bench-relay: install services ## Outbox relay latency: 5,000 events from 8 writers, commit -> Redis publish (see bench/README.md)
	$(BIN)/python bench/relay_latency.py

bench-console: system-packages install services frontend ## Console in Chromium on 100,000 tickets: first load, API while moving, live list, JS size (see bench/README.md)
	$(BIN)/python bench/console.py

screenshots: system-packages install services frontend ## The README's console screenshots on `relaydesk seed-demo` data (docs/screenshots/)
	$(BIN)/python scripts/screenshots.py

bench-chat: install services ## Live chat benchmark: 2,000 visitor + 50 agent sockets, 200 msg/s each way, 10,000 idle (see bench/README.md)
	$(BIN)/python bench/chat_load.py

bench-sla: install services ## SLA on PostgreSQL: 100,000 open tickets recomputed after a calendar change, breach lateness of 10,000 due within 2 minutes (see bench/README.md)
	$(BIN)/python bench/sla.py

bench-routing: install ## Routing core benchmark: 500 agents x 5,000 queued tickets, SLA computations (see bench/README.md)
	$(BIN)/python bench/routing.py

migrate: install services ## Apply migrations to DATABASE_URL (default: local relaydesk database)
	$(BIN)/relaydesk migrate

services: ## Start PostgreSQL and Redis on localhost unless they already run
	@if ! pg_isready -q -h $(PG_HOST) -p $(PG_PORT); then \
		echo "Starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
		for _ in $$(seq 30); do pg_isready -q -h $(PG_HOST) -p $(PG_PORT) && break; sleep 1; done; \
		pg_isready -h $(PG_HOST) -p $(PG_PORT); \
	fi
	@if [ "$$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" != PONG ]; then \
		echo "Starting Redis"; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
		for _ in $$(seq 30); do [ "$$(redis-cli ping 2>/dev/null)" = PONG ] && break; sleep 0.2; done; \
		[ "$$(redis-cli ping)" = PONG ]; \
	fi

system-packages: ## apt-get install the Debian packages the tests need, only if some are missing
	@missing=""; \
	for package in $(SYSTEM_PACKAGES); do \
		dpkg -s "$$package" 2>/dev/null | grep -q '^Status: install ok installed' \
			|| missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

install: $(STAMP) ## Create .venv and install the project with its dev extras

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

frontend-install: $(NODE_STAMP) ## npm ci, only when package-lock.json changed

$(NODE_STAMP): package.json package-lock.json
	@command -v $(NPM) >/dev/null || { echo "The front ends need Node.js 20 and npm"; exit 1; }
	$(NPM) ci --no-audit --no-fund
	touch $@

frontend: $(CONSOLE_BUILD) $(WIDGET_BUILD) ## Build the console and the widget (each only when its sources changed)

$(CONSOLE_BUILD): $(NODE_STAMP) $(CONSOLE_SOURCES)
	$(NPM) run build:console

$(WIDGET_BUILD): $(NODE_STAMP) $(WIDGET_SOURCES)
	$(NPM) run build:widget

types: $(API_TYPES) ## Generate the console's API types (api.d.ts) from the app's OpenAPI document

$(OPENAPI_DOCUMENT): $(STAMP) $(PYTHON_SOURCES)
	$(BIN)/relaydesk openapi --output $@

$(API_TYPES): $(OPENAPI_DOCUMENT) $(NODE_STAMP)
	$(NPM) run types

frontend-check: frontend types ## Type-check the front ends against fresh API types, vitest, bundle budgets
	$(NPM) run typecheck
	$(NPM) run test:unit
	$(NPM) run --silent sizes

migrations-check: install services ## Upgrade, check, downgrade -1, upgrade on a scratch database
	@echo "Checking migrations on $(MIGRATIONS_CHECK_DB)"
	$(PSQL) -c 'DROP DATABASE IF EXISTS $(MIGRATIONS_CHECK_DB) WITH (FORCE)' \
		-c 'CREATE DATABASE $(MIGRATIONS_CHECK_DB)'
	export DATABASE_URL='$(MIGRATIONS_CHECK_URL)'; \
	$(BIN)/alembic upgrade head; \
	$(BIN)/alembic check; \
	$(BIN)/alembic downgrade -1; \
	$(BIN)/alembic upgrade head
	$(PSQL) -c 'DROP DATABASE $(MIGRATIONS_CHECK_DB) WITH (FORCE)'

clean: ## Remove caches and build artefacts (keeps .venv, node_modules, data/ and bench/results/)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info \
		app/console/dist widgets/dist $(API_TYPES)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
