# Custodian: `make run` (the portal with demo data) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Signed downloads have a server pool of their own (README, "Serving the bytes").
DOWNLOAD_PORT ?= $(shell echo $$(($(PORT) + 1)))
VAR ?= var
# What `make run` needs; the tools of `make test`, `make lint` and `make bench` (pytest,
# Playwright, schemathesis, mypy...) come on top, so a first `make run` installs about half.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The translations: each catalogue (locale/<language>/LC_MESSAGES/*.po, in the repository)
# compiled to its .mo, which is never committed (Debian's gettext provides msgfmt).
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

.PHONY: run test lint bench install clean messages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "custodian: cannot create a virtual environment: install python3-venv (apt-get install python3-venv)"; exit 2; }
	@# A current pip first: upgrading it and then installing took 156 s where the venv's own
	@# pip 23 alone took 175 s, side by side on this machine.
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(DEV_STAMP)

%.mo: %.po
	@command -v msgfmt >/dev/null || bash .ci/debian-packages --check-or-install
	msgfmt --check-format -o $@ $<

install: $(DEV_STAMP) $(CATALOGUES)

# After changing an English text: add it to every catalogue (then translate its msgstr).
messages: $(DEV_STAMP)
	for dir in locale/*/; do DEBUG=1 $(PY) manage.py makemessages --no-obsolete --no-location \
	    -l $$(basename $$dir) --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' \
	    --ignore='benchmarks/*' --ignore='docs/*'; done

# The embedded default: SQLite and a filesystem broker under $(VAR)/, no server needed.
# Production settings otherwise (DEBUG off), with TLS-only cookies and 2FA relaxed for
# plain-HTTP localhost; the sign-in page says that two-factor is off. Static files are
# collected again only when an installed package or static/ changed, and not compressed (a
# deployment compresses them once; here it was most of a first start's time).
run: export CUSTODIAN_VAR_DIR := $(abspath $(VAR))
run: export SECRET_KEY_FILE := $(VAR)/secret_key
run: export SITE_URL := http://$(HOST):$(PORT)
run: export SECURE_SSL_REDIRECT := 0
run: export SESSION_COOKIE_SECURE := 0
run: export CSRF_COOKIE_SECURE := 0
run: export SECURE_HSTS_SECONDS := 0
run: export CUSTODIAN_REQUIRE_OTP := 0
run: export CUSTODIAN_DOWNLOAD_URL := http://$(HOST):$(DOWNLOAD_PORT)
run: export CUSTODIAN_STATIC_COMPRESS := 0
run: export EMAIL_BACKEND := portal.mail.AppendFileEmailBackend
run: export EMAIL_FILE_PATH := $(VAR)/demo-mail.txt
run: $(STAMP) $(CATALOGUES) $(VAR)/secret_key $(VAR)/static/.collected
	$(PY) manage.py seed_demo --migrate --sign-ins-file $(VAR)/sign-ins.txt
	@bash scripts/run-demo $(VENV) $(VAR) $(HOST) $(PORT) $(DOWNLOAD_PORT)

$(VAR)/secret_key:
	@mkdir -p $(VAR)
	@$(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

$(VAR)/static/.collected: $(STAMP) $(shell find static -type f)
	$(PY) manage.py collectstatic --noinput -v0
	@touch $@

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Tests import the settings in DEBUG mode (no SECRET_KEY needed); pytest-django still runs
# each test with DEBUG off, as production does.
test: export DEBUG := 1
test: $(DEV_STAMP) $(CATALOGUES)
	@bash .ci/debian-packages --check-or-install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

bench: export DEBUG := 1
bench: $(DEV_STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VAR) .pytest_cache .hypothesis $(CATALOGUES)
