# Two commands on a fresh machine: `make demo` and `make test`. Each builds its own virtualenv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
export SPARK_LOCAL_IP ?= 127.0.0.1
export POWERTOOLS_TRACE_DISABLED ?= 1

.PHONY: venv test unit lint typecheck fmt-check checkov demo bench build clean test-localstack

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# The whole system on the embedded emulator: report in build/demo/.
demo: venv
	$(PY) -m scripts.demo $(DEMO_ARGS)

# Every default tier (unit, integration, terraform, glue_jobs) plus the static checks.
test: venv lint typecheck fmt-check checkov
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest tests/unit

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

fmt-check:
	terraform fmt -check -recursive terraform

test-localstack: venv
	$(PY) -m pytest -m localstack tests/localstack

clean:
	rm -rf build $(VENV) $(CHECKOV_VENV)

# Lambda zips (layer + one per function) into build/dist, reproducibly.
build: venv
	$(PY) scripts/build.py

# checkov pins an old boto3, so it lives in its own virtualenv; offline with --skip-download.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

# Benchmarks print figures; they are not tests (shared, noisy machines).
bench: venv
	$(PY) -m scripts.bench_policy
	$(PY) -m scripts.bench_capacity
	$(PY) -m scripts.bench_ingest
	$(PY) -m scripts.bench_simulate
