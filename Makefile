# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test setup lint format bench messages clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

setup: $(BIN)/.installed

## Start web, Celery worker and beat on the embedded default (or DATABASE_URL/REDIS_URL).
run: setup
	PORT=$(PORT) $(BIN)/python -m cmp.devserver

## Run the whole suite (PostgreSQL and Redis when reachable; required when CI=true).
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python bench/audit_append.py

## Refresh the officer pages' Korean catalog and compile it (needs GNU gettext);
## the compiled .mo is committed, so running the service never needs gettext.
messages: setup
	cd audit && DJANGO_SETTINGS_MODULE=settings.dev PYTHONPATH=.. ../$(BIN)/python ../manage.py makemessages -l ko --no-location
	msgfmt --check -o audit/locale/ko/LC_MESSAGES/django.mo audit/locale/ko/LC_MESSAGES/django.po

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
