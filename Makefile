# Two commands on a fresh machine: `make demo` and `make test`. Each builds its own virtualenv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
LOCALSTACK_VENV := .venv-localstack
export SPARK_LOCAL_IP ?= 127.0.0.1
export POWERTOOLS_TRACE_DISABLED ?= 1

.PHONY: soak venv test unit lint typecheck fmt-check checkov demo sandbox bench build dist clean test-localstack tf-plan chromium

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

# Debian's Chromium for the console's browser tests (tests/browser, Playwright with
# executable_path=/usr/bin/chromium; no browser download). Needs root; `make test` installs it
# first (CI runs as root).
chromium:
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# Chaos soak: the stack for 24 simulated hours under random faults, invariants checked against
# Glue's own runs; one summary line. make soak SOAK_ARGS="--hours 2 --seed 3"
soak: venv
	POWERTOOLS_METRICS_NAMESPACE=GlueAudit $(PY) -m scripts.soak $(SOAK_ARGS)

# Every default tier (unit, integration, terraform, glue_jobs) plus the static checks.
test: venv chromium lint typecheck fmt-check tf-plan checkov
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
	rm -rf build dist $(VENV) $(CHECKOV_VENV) $(LOCALSTACK_VENV)

# Lambda zips (layer + one per function) into build/dist, reproducibly.
build: venv
	$(PY) scripts/build.py

# The glue-audit wheel (the CLI and the simulator) into dist/: `pip install dist/glue_audit-*.whl`
# on a laptop. setuptools' build/lib is cleared first so a module removed from the source cannot
# ride along from an earlier build.
DIST_DIR ?= dist
dist: venv
	rm -rf $(DIST_DIR) build/lib build/bdist.*
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir $(DIST_DIR) .

# checkov pins an old boto3, so it lives in its own virtualenv; offline with --skip-download.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# The HCL, then what Terraform plans (build/terraform/*.plan.json, from `make tf-plan`): every
# finding skipped next to its resource with a reason; then the count with no skips at all.
checkov: $(CHECKOV_VENV)/.installed tf-plan
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml
	$(PY) -m scripts.terraform_offline.checkov_noskip --checkov $(CHECKOV_VENV)/bin/checkov

# Benchmarks print figures; they are not tests (shared, noisy machines).
bench: venv
	$(PY) -m scripts.bench.policy
	$(PY) -m scripts.bench.capacity
	$(PY) -m scripts.bench.ingest
	$(PY) -m scripts.bench.simulate
	$(PY) -m scripts.bench.bound_gap --what-ifs
	$(PY) -m scripts.bench.chains
	$(PY) -m scripts.bench.submit_api
	$(PY) -m scripts.bench.tick
	$(PY) -m scripts.bench.results
