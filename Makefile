# The two commands: `make run` and `make test`. Everything else is a step they depend on.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := citizen_portal.app:create_app

.PHONY: run test test-clock install assets translations lint clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/.built: node_modules/.installed scripts/build-assets.mjs
	npm run --silent build
	touch $@

install: $(VENV)/.installed assets translations

assets: static/vendor/.built

translations: $(VENV)/.installed
	$(FLASK) translate compile

run: install
	$(PY) scripts/run.py

test: install
	$(PY) -m ruff check .
	PORTAL_TEST_DB=sqlite $(PY) -m pytest
	PORTAL_TEST_DB=postgresql $(PY) -m pytest

# the SQLite pass with the clock moved to an awkward moment: MOMENT=friday-evening|sunday-night|
# dst-monday|new-years-eve|rotate (scripts/faked_clock.py; CI runs "rotate")
# CLOCK_ARGS: pytest arguments for that pass (default: the whole suite)
MOMENT ?= rotate
CLOCK_ARGS ?=
test-clock: install
	$(PY) scripts/faked_clock.py $(MOMENT) $(if $(CLOCK_ARGS),-- $(CLOCK_ARGS))

lint: $(VENV)/.installed
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) node_modules static/vendor
