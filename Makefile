# Custodian: `make run` (the portal with demo data) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Signed downloads have a server pool of their own (README, "Serving the bytes").
DOWNLOAD_PORT ?= $(shell echo $$(($(PORT) + 1)))
STAMP := $(VENV)/.installed
# The translations: each catalogue (locale/<language>/LC_MESSAGES/*.po, in the repository)
# compiled to its .mo, which is never committed (Debian's gettext provides msgfmt).
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

.PHONY: run test lint bench install clean messages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "custodian: cannot create a virtual environment: install python3-venv (apt-get install python3-venv)"; exit 2; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

%.mo: %.po
	@command -v msgfmt >/dev/null || bash .ci/debian-packages --check-or-install
	msgfmt --check-format -o $@ $<

install: $(STAMP) $(CATALOGUES)

# After changing an English text: add it to every catalogue (then translate its msgstr).
messages: $(STAMP)
	for dir in locale/*/; do DEBUG=1 $(PY) manage.py makemessages --no-obsolete --no-location \
	    -l $$(basename $$dir) --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' \
	    --ignore='benchmarks/*' --ignore='docs/*'; done

# The embedded default: SQLite and a filesystem broker under var/, no server needed.
# Production settings otherwise (DEBUG off), with TLS-only cookies and 2FA relaxed for
# plain-HTTP localhost; the sign-in page says that two-factor is off.
run: export SECRET_KEY_FILE := var/secret_key
run: export SITE_URL := http://$(HOST):$(PORT)
run: export SECURE_SSL_REDIRECT := 0
run: export SESSION_COOKIE_SECURE := 0
run: export CSRF_COOKIE_SECURE := 0
run: export SECURE_HSTS_SECONDS := 0
run: export CUSTODIAN_REQUIRE_OTP := 0
run: export CUSTODIAN_DOWNLOAD_URL := http://$(HOST):$(DOWNLOAD_PORT)
run: $(STAMP) $(CATALOGUES)
	@mkdir -p var && test -s var/secret_key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	$(PY) manage.py preflight
	@trap 'kill 0' INT TERM; \
	$(VENV)/bin/celery -A portal worker --beat --loglevel=INFO --concurrency=2 \
	    --schedule=var/celerybeat-schedule & \
	$(VENV)/bin/gunicorn portal.wsgi --bind $(HOST):$(PORT) --workers 2 --worker-class gthread \
	    --threads 8 --access-logfile - & \
	nice -n 10 $(VENV)/bin/gunicorn portal.wsgi --bind $(HOST):$(DOWNLOAD_PORT) --workers 2 \
	    --worker-class gthread --threads 64 --access-logfile - & \
	sleep 2; echo; echo "Custodian is running at http://$(HOST):$(PORT)/, downloads at http://$(HOST):$(DOWNLOAD_PORT)/  (Ctrl-C stops the web servers and the worker)"; \
	echo "Sign in with the demo accounts printed above."; echo; \
	wait

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Tests import the settings in DEBUG mode (no SECRET_KEY needed); pytest-django still runs
# each test with DEBUG off, as production does.
test: export DEBUG := 1
test: $(STAMP) $(CATALOGUES)
	@bash .ci/debian-packages --check-or-install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

bench: export DEBUG := 1
bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf var .pytest_cache .hypothesis $(CATALOGUES)
