# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

# Compiled message catalogs are built here, not committed (see `messages`): the
# project's, and the officer pages' own in audit/locale.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po \
                                            audit/locale/*/LC_MESSAGES/django.po))

# The type check imports the test settings: on SQLite and without Redis, so it
# needs no service to be up.
MYPY := CMP_TEST_DB=sqlite REDIS_URL= $(BIN)/mypy --config-file mypy.ini

.PHONY: run test setup build static lint format bench clean messages browser screenshots

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Babel compiles in pure Python: no GNU gettext needed to run or test.
%/LC_MESSAGES/django.mo: %/LC_MESSAGES/django.po $(BIN)/.installed
	$(BIN)/pybabel -q compile --domain django --input-file $< --output-file $@

setup: $(BIN)/.installed $(CATALOGS)

## A production build: dependencies, compiled catalogs, and the static files
## (hashed and compressed into STATIC_ROOT, default var/static) that WhiteNoise serves.
build: setup static

static: setup
	DJANGO_SETTINGS_MODULE=settings.dev DEBUG=false \
	    $(BIN)/python manage.py collectstatic --noinput -v 0

## Re-extract translatable text into locale/*/django.po (needs GNU gettext).
messages: setup
	DJANGO_SETTINGS_MODULE=settings.dev $(BIN)/python manage.py makemessages \
	    --locale ko --no-location \
	    --ignore '.venv*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*' \
	    --ignore 'audit/*'
	cd audit && DJANGO_SETTINGS_MODULE=settings.dev PYTHONPATH=.. \
	    ../$(BIN)/python ../manage.py makemessages -l ko --no-location

## Start web, Celery worker and beat on the embedded default (or DATABASE_URL/REDIS_URL).
run: setup
	PORT=$(PORT) $(BIN)/python -m config.devserver

## Run the whole suite (PostgreSQL and Redis when reachable; required when CI=true).
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(MYPY)
	$(BIN)/python -m pytest

CHROMIUM ?= /usr/bin/chromium
## Debian's Chromium (and Korean fonts) for the browser tests, where apt-get may install them.
browser:
	@if [ ! -x "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq chromium fonts-nanum >/dev/null) || \
	    echo "could not install chromium: browser tests skip (and fail under CI=true)"; \
	fi

## Refresh docs/screenshots/ from the browser tests.
screenshots: setup browser
	CMP_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/e2e -k screenshots

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(MYPY)
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python bench/audit_append.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache test-artifacts
	rm -f locale/*/LC_MESSAGES/*.mo audit/locale/*/LC_MESSAGES/*.mo
