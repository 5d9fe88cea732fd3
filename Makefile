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

# Every default tier (unit, integration, terraform, glue_jobs) plus the static checks.
test: venv lint fmt-check
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
