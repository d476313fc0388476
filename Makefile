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
PORT ?= 8000

# `make test` and `make test-fast` only: these apply when DATABASE_URL / REDIS_URL are unset, and
# only for the test run. `make run` passes through whatever the user set and otherwise uses the embedded defaults.
TEST_DATABASE_URL := postgres://postgres@127.0.0.1:5432/propel
TEST_REDIS_URL := redis://127.0.0.1:6379/0
# PYTHONDONTWRITEBYTECODE is emptied for the tests: with it set (as on some machines), pytest
# rewrites the asserts of every test module again on every run, which doubles collection time.
TEST_ENV = DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" PYTHONDONTWRITEBYTECODE=
PYTEST_ARGS ?=
# `make test-fast` leaves out the browser, race and fault tests and a few slow ones (markers set in
# tests/conftest.py) and spreads the rest over one process per CPU (pytest-xdist; pytest-django
# gives each worker its own test database, e.g. test_propel_gw0). Those databases are kept between
# runs (--reuse-db; new migrations are still applied): building them is a third of a run.
# `make test-fast PYTEST_ARGS=--create-db` builds them afresh, e.g. after editing a migration.
FAST_MARKERS := not e2e and not race and not fault and not slow
# `make test` runs the whole suite in two passes: everything but the fault tests on one process
# per CPU, then the fault tests alone, one at a time (they stop and restart PostgreSQL and Redis,
# which would break the other workers' tests). Exit status 5 of the second pass ("no tests ran",
# when PYTEST_ARGS names files without fault tests) is not a failure.

.PHONY: help venv dirs run test test-fast lint typecheck format messages migrations-check screenshots bench

help:
	@echo "make run               demo clinic at http://127.0.0.1:$(PORT)/ (PORT=8080 for another port; web, worker, beat; this machine only)"
	@echo "make test              the whole suite on PostgreSQL and Redis, as CI (PYTEST_ARGS=... to narrow)"
	@echo "make test-fast         the suite without browser, race, fault and slow tests, in parallel (<60 s)"
	@echo "make lint              ruff check, ruff format --check, mypy and the import contracts (.importlinter)"
	@echo "make typecheck         mypy alone (settings in pyproject.toml: strict for propel and the pure rules)"
	@echo "make format            ruff format and ruff check --fix"
	@echo "make messages          refresh locale/es/LC_MESSAGES/django.po from the code (then translate the new entries)"
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

# PORT is the one setting for the address: `make run PORT=8080` (scripts/run-demo passes it on to
# the Procfile, the links in emails and texts, and the banner).
run: venv
	@PORT=$(PORT) PYTHON=$(PYTHON) scripts/run-demo

test: venv
	@$(TEST_ENV) $(PYTHON) scripts/preflight.py
	@echo "+ manage.py compile_translations"
	@$(TEST_ENV) $(PYTHON) manage.py compile_translations --verbosity 0
	@echo "+ manage.py makemigrations --check --dry-run"
	@$(TEST_ENV) $(PYTHON) manage.py makemigrations --check --dry-run
	@echo "+ pytest -m \"not fault\" -n auto $(PYTEST_ARGS)"
	@$(TEST_ENV) $(PYTHON) -m pytest -m "not fault" -n auto $(PYTEST_ARGS)
	@echo "+ pytest -m fault $(PYTEST_ARGS)"
	@$(TEST_ENV) $(PYTHON) -m pytest -m fault $(PYTEST_ARGS) || [ $$? -eq 5 ]

test-fast: venv
	@$(TEST_ENV) $(PYTHON) scripts/preflight.py
	@$(TEST_ENV) $(PYTHON) manage.py compile_translations --verbosity 0
	@echo "+ pytest -m \"$(FAST_MARKERS)\" -n auto $(PYTEST_ARGS)"
	@$(TEST_ENV) $(PYTHON) -m pytest -m "$(FAST_MARKERS)" -n auto --reuse-db $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Files and flags in pyproject.toml ([tool.mypy]). The Django plugin imports propel.settings as the
# environment configures it (demo unless PROPEL_MODE=production, which needs its secrets set).
typecheck: venv
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The Spanish catalogue after a string changed in the code (needs GNU gettext's xgettext):
# new entries arrive untranslated, and tests/propel/test_i18n_catalogue.py fails until translated.
messages: venv
	$(PYTHON) manage.py makemessages -l es --no-obsolete

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
