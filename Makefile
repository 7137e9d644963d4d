# The two commands: `make run` and `make test`. Everything else is a step they depend on.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := citizen_portal.app:create_app

.PHONY: run test test-clock install assets translations lint clean bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# the KERN stylesheet is cut to the classes the templates and scripts name: a changed template rebuilds it
static/vendor/.built: node_modules/.installed scripts/build-assets.mjs $(wildcard scripts/assets/*.mjs) \
		$(shell find templates -name '*.html' -o -name '*.txt') $(wildcard static/js/*.js)
	npm run --silent build
	touch $@

install: $(VENV)/.installed assets translations

assets: static/vendor/.built

translations: $(VENV)/.installed
	$(FLASK) translate compile

run: install
	$(PY) scripts/run.py

# ruff, then scripts/test_passes.py: the whole suite on SQLite and on PostgreSQL, and the tests that book,
# list or show times under a faked clock at Friday 20:30, Sunday 23:55, DST Monday 07:55 and 31 December
# 23:50 (two passes at a time; PASSES="sqlite dst-monday" runs some)
PASSES ?=
test: install
	$(PY) -m ruff check .
	$(PY) scripts/test_passes.py $(PASSES)

# the SQLite pass with the clock moved to an awkward moment: MOMENT=friday-evening|sunday-night|
# dst-monday|new-years-eve|rotate (scripts/faked_clock.py; make test runs all four on the time tests)
# CLOCK_ARGS: pytest arguments for that pass (default: the whole suite)
MOMENT ?= rotate
CLOCK_ARGS ?=
test-clock: install
	$(PY) scripts/faked_clock.py $(MOMENT) $(if $(CLOCK_ARGS),-- $(CLOCK_ARGS))

lint: $(VENV)/.installed
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) node_modules static/vendor

# Issue 13's table from one run (reads with wrk, writes with Python clients; SQLite and a throwaway
# PostgreSQL): `make bench BENCH_ARGS="--seconds 10 --rounds 5"`.
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || { echo "make bench needs wrk (Debian/Ubuntu: apt-get install wrk)"; exit 1; }
	$(PY) -m bench.suite $(BENCH_ARGS)
