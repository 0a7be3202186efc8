# Two commands do everything: `make run` and `make test`. Both set up what is missing
# (virtual environment, npm packages, frontend build, Chromium) and are quick when it is there.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps

.PHONY: run test setup bench chromium clean

setup: $(STAMPS)/venv $(STAMPS)/npm

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

run: setup
	$(VENV)/bin/flask --app backend run --host 127.0.0.1 --port 8000

test: setup chromium
	$(PY) -m pytest

# Figures, not pass/fail: seconds per PDQ in CPython, Pyodide and the C++ reference.
bench: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m tests.bench_pdq

clean:
	rm -rf $(VENV) node_modules $(STAMPS) frontend/dist instance
