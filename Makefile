# Propel. `make run` starts a demo clinic with nothing but Python; `make test` runs the suite on
# PostgreSQL and Redis. Run `make help` for the list.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
# Touched after a successful install: the venv is (re)built when missing or older than the pins.
STAMP := $(VENV)/.requirements-installed
# Same folder as settings.VAR_DIR: the SQLite file, the filesystem broker and the beat schedule.
VAR_DIR := $(or $(PROPEL_VAR_DIR),var)

# `make test` only: these apply when DATABASE_URL / REDIS_URL are unset, and only for the test
# run. `make run` passes through whatever the user set and otherwise uses the embedded defaults.
TEST_DATABASE_URL := postgres://postgres@127.0.0.1:5432/propel
TEST_REDIS_URL := redis://127.0.0.1:6379/0
TEST_ENV = DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}"
PYTEST_ARGS ?=

.PHONY: help venv dirs run test lint format migrations-check screenshots bench

help:
	@echo "make run               demo clinic at http://127.0.0.1:8000/ (web, worker, beat)"
	@echo "make test              the test suite on PostgreSQL and Redis (PYTEST_ARGS=... to narrow)"
	@echo "make lint              ruff check and ruff format --check"
	@echo "make format            ruff format and ruff check --fix"
	@echo "make migrations-check  fail when a model change has no migration"
	@echo "make screenshots       PNGs of the main pages into docs/screenshots/ (needs /usr/bin/chromium)"
	@echo "make bench             benchmarks on PostgreSQL + Redis into docs/benchmarks.md (~10 min)"

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	@echo "Installing requirements.txt into $(VENV)"
	@# -qq: errors only (this machine's pip config warns about every package otherwise).
	@$(PYTHON) -m pip install -qq -r requirements.txt
	@touch $@

dirs:
	@mkdir -p $(VAR_DIR)/broker/queue $(VAR_DIR)/broker/control

run: venv dirs
	$(PYTHON) manage.py migrate --noinput
	@$(PYTHON) manage.py seed_demo || { \
		echo >&2 "make run: loading the demo data failed (manage.py seed_demo), see above"; \
		exit 1; }
	@echo
	@echo "Propel: http://127.0.0.1:8000/   (staff logins above; Ctrl-C stops web, worker and beat)"
	@echo
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PYTHONUNBUFFERED=1 \
		exec $(VENV)/bin/honcho start --procfile Procfile

test: venv
	@$(TEST_ENV) $(PYTHON) scripts/preflight.py
	@echo "+ manage.py makemigrations --check --dry-run"
	@$(TEST_ENV) $(PYTHON) manage.py makemigrations --check --dry-run
	@echo "+ pytest $(PYTEST_ARGS)"
	@$(TEST_ENV) $(PYTHON) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: venv dirs
	$(PYTHON) manage.py makemigrations --check --dry-run

# A fresh demo clinic under var/screenshots (SQLite, never DATABASE_URL), a runserver on :8799,
# chromium through Playwright; the PNGs land in docs/screenshots/.
screenshots: venv
	$(PYTHON) scripts/screenshots.py

# PostgreSQL and Redis (started if down), gunicorn + Celery with production settings, wrk (installed
# from Debian's packages if missing); prints the table and writes docs/benchmarks.md.
bench: venv
	@bash scripts/services-up
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PYTHON) -m bench $(BENCH_ARGS)
