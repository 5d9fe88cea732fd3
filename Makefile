# Two commands on a fresh machine: `make demo` and `make test`. Each builds its own virtualenv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
LOCALSTACK_VENV := .venv-localstack
export SPARK_LOCAL_IP ?= 127.0.0.1
export POWERTOOLS_TRACE_DISABLED ?= 1

.PHONY: soak venv test unit lint typecheck fmt-check checkov demo sandbox bench build clean test-localstack tf-plan

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

# The same stack kept running in real time until Ctrl-C, for the glue-audit CLI: writes
# build/sandbox/env (source it, then follow the README's CLI tour). make sandbox SANDBOX_ARGS="--speed 30"
sandbox: venv
	$(PY) -m scripts.sandbox $(SANDBOX_ARGS)

# Chaos soak: the stack for 24 simulated hours under random faults, invariants checked against
# Glue's own runs; one summary line. make soak SOAK_ARGS="--hours 2 --seed 3"
soak: venv
	POWERTOOLS_METRICS_NAMESPACE=GlueAudit $(PY) -m scripts.soak $(SOAK_ARGS)

# Every default tier (unit, integration, terraform, glue_jobs) plus the static checks.
test: venv lint typecheck fmt-check tf-plan checkov
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

# The real terraform init, validate and plan of both environments, offline: the provider is a
# stand-in serving the real hashicorp/aws schema (scripts/terraform_offline/README.md).
# Writes build/terraform/aws.plan.json and build/terraform/localstack.plan.json.
tf-plan: build
	$(PY) -m scripts.terraform_offline.tf_plan

# The LocalStack tier. Uses the LocalStack at LOCALSTACK_HOST if set (e.g. `localstack start`);
# otherwise installs a host-mode one in $(LOCALSTACK_VENV) (cached), starts it for the run and
# stops it. Extra pytest arguments: make test-localstack PYTEST_ARGS="-k ingest".
test-localstack: venv build
	$(PY) -m scripts.localstack.run $(PYTEST_ARGS)

clean:
	rm -rf build $(VENV) $(CHECKOV_VENV) $(LOCALSTACK_VENV)

# Lambda zips (layer + one per function) into build/dist, reproducibly.
build: venv
	$(PY) scripts/build.py

# checkov pins an old boto3, so it lives in its own virtualenv; offline with --skip-download.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# The HCL, then what Terraform plans (build/terraform/*.plan.json, from `make tf-plan`).
checkov: $(CHECKOV_VENV)/.installed tf-plan
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov-plan.yaml

# Benchmarks print figures; they are not tests (shared, noisy machines).
bench: venv
	$(PY) -m scripts.bench.policy
	$(PY) -m scripts.bench.capacity
	$(PY) -m scripts.bench.ingest
	$(PY) -m scripts.bench.simulate
	$(PY) -m scripts.bench.chains
