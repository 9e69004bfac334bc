# gridlink — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.13 >/dev/null 2>&1 && echo python3.13 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup lint bandit typecheck pytest sbom bench bench-assessment browser-deps lock clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "gridlink needs Python 3.12+ (found %s)" % sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here);
# the CJK font lets Chromium render Chinese text.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Debian chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null \
		|| { echo "could not install chromium (need root and Debian's package archive)"; exit 1; }; \
	fi

run: setup
	$(BIN)/gridlink migrate --no-input
	$(BIN)/gridlink calendar seed
	$(BIN)/gridlink taxonomy load --publish
	$(BIN)/gridlink seed --if-empty --scale small --seed 1
	$(BIN)/gridlink collectstatic --no-input --verbosity 0
	$(BIN)/gridlink demo_logins --url http://$(HOST):$(PORT)/
	$(BIN)/gridlink serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BANDIT)

# Security lint of the shipped code at medium severity and above ([tool.bandit] in
# pyproject.toml says what is not scanned and why).
BANDIT = $(BIN)/bandit -c pyproject.toml -r . --severity-level medium --quiet
bandit: setup
	$(BANDIT)

# A CycloneDX SBOM of the installed environment (what `make setup` installed).
sbom: setup
	@mkdir -p var
	$(BIN)/cyclonedx-py environment --pyproject pyproject.toml --of JSON --validate \
		-o var/sbom.json $(BIN)/python
	@$(BIN)/python -c 'import json, sys; bom = json.load(open("var/sbom.json")); \
		names = {c["name"].lower() for c in bom.get("components", [])}; \
		"django" in names or sys.exit("var/sbom.json does not list Django"); \
		print(f"var/sbom.json: {len(names)} components, Django among them")'

typecheck: setup
	$(BIN)/mypy gridlink

# The suite runs on every core (pytest-xdist; one worker per core, each with its own test
# database, a file's tests on one worker so its shared fixtures are built once).
# `make pytest PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= auto
pytest: setup browser-deps
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

bench: setup
	$(BIN)/python bench/locate.py
	$(BIN)/python bench/worktime.py
	$(BIN)/python bench/intake_concurrency.py

# Needs PostgreSQL (its own database gridlink_bench on 127.0.0.1; --database-url to change)
# and minutes of loading:
# make bench-assessment BENCH_ARGS="--cases 1000000"
bench-assessment: setup
	$(BIN)/python bench/assessment.py $(BENCH_ARGS)

# Re-resolve the newest versions pyproject.toml allows and record them.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	{ head -n 2 constraints.txt; .lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static
