"""`make tf-plan`: the real terraform init, validate and plan, offline, for both environments.

    python -m scripts.terraform_offline.tf_plan [--source ROOT] [--out build/terraform] [--env aws ...]

For each environment it writes ``<out>/<env>.plan.json`` (``terraform show -json``) and fails with
terraform's own messages on any error. Nothing is written into the user's Terraform configuration:

- the provider is the offline stand-in (provider.py), installed as a filesystem mirror of
  ``registry.terraform.io/hashicorp/aws`` in ``<out>/plugins`` through a CLI configuration file
  ``<out>/terraformrc`` (TF_CLI_CONFIG_FILE) that only this tool uses;
- terraform runs on a copy of ``<source>/terraform`` in ``<out>/stage`` (so ``.terraform``, the lock
  file and the state stay under ``<out>``), with ``glue_jobs/``, ``layers/`` (the shared facts,
  ``glue_audit/facts/*.json``, that the modules read) and ``build/dist`` linked beside it where the
  configuration looks for them (``path.root/../../..``, ``path.module/../../..``);
- ``environments/aws`` plans twice: with ``terraform.tfvars.example``, as the README tells a user to
  start (``aws``: the stack creates its VPC), and with ``existing-vpc.tfvars.example``
  (``aws-existing-vpc``: existing network mode, customer managed keys).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.terraform_offline.provider import load_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = Path(__file__).resolve().parent / "aws_provider_schema.json"
ENVIRONMENTS: dict[str, tuple[str, ...]] = {
    "aws": ("terraform.tfvars.example",),
    "aws-existing-vpc": ("existing-vpc.tfvars.example",),
    "localstack": (),
}
# The root configuration (environments/<directory>) of a plan whose name is not its directory.
DIRECTORIES = {"aws-existing-vpc": "aws"}
STEP_TIMEOUT_SECONDS = 600


class TerraformError(Exception):
    """A terraform command failed; the message carries terraform's own output."""

    def __init__(self, environment: str, step: str, output: str) -> None:
        super().__init__(f"terraform {step} failed for environments/{environment}:\n{output}")
        self.environment = environment
        self.step = step
        self.output = output


@dataclass(frozen=True)
class PlanResult:
    environment: str
    plan_json: Path
    resources: int
    seconds: float


def provider_version() -> str:
    document = json.loads(SCHEMA_PATH.read_text())
    version: str = document["generated_from"]["provider_version"]
    return version


def _platform(terraform: str) -> str:
    result = subprocess.run(
        [terraform, "version", "-json"], capture_output=True, text=True, check=True, timeout=60
    )
    platform: str = json.loads(result.stdout)["platform"]
    return platform


def install_provider(out: Path, terraform: str, python: str) -> Path:
    """Write the filesystem mirror and the CLI configuration; returns the CLI configuration file."""
    load_schema()  # fail here, not inside terraform, when the snapshot is missing or broken
    version = provider_version()
    plugins = out / "plugins"
    shutil.rmtree(plugins, ignore_errors=True)
    target = plugins / "registry.terraform.io" / "hashicorp" / "aws" / version / _platform(terraform)
    target.mkdir(parents=True)
    executable = target / f"terraform-provider-aws_v{version}"
    executable.write_text(
        "#!/bin/sh\n"
        "# The offline stand-in for hashicorp/aws (scripts/terraform_offline/provider.py), written by tf_plan.\n"
        f'PYTHONPATH="{REPO_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{python}" -m scripts.terraform_offline.provider "$@"\n'
    )
    executable.chmod(0o755)
    cli_config = out / "terraformrc"
    cli_config.write_text(
        "# Written by scripts/terraform_offline/tf_plan.py: hashicorp/aws is the offline stand-in.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(plugins))}\n"
        '    include = ["registry.terraform.io/hashicorp/aws"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/hashicorp/aws"]\n'
        "  }\n"
        "}\n"
    )
    return cli_config


def stage(source: Path, out: Path) -> Path:
    """Copy <source>/terraform into <out>/stage, with glue_jobs/, layers/ and build/dist linked beside it."""
    staged = out / "stage"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(
        source / "terraform",
        staged / "terraform",
        ignore=shutil.ignore_patterns(
            ".terraform", ".terraform.lock.hcl", "*.tfstate", "*.tfstate.*", "terraform.tfvars"
        ),
    )
    (staged / "glue_jobs").symlink_to((source / "glue_jobs").resolve())
    (staged / "layers").symlink_to((source / "layers").resolve())
    (staged / "build").mkdir()
    (staged / "build" / "dist").symlink_to((REPO_ROOT / "build" / "dist").resolve())
    return staged


def _run(command: list[str], cwd: Path, env: dict[str, str], environment: str, step: str) -> str:
    try:
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired as exc:
        raise TerraformError(environment, step, f"timed out after {STEP_TIMEOUT_SECONDS} s") from exc
    if result.returncode != 0:
        raise TerraformError(environment, step, (result.stderr + result.stdout).strip())
    return result.stdout


def plan_environment(
    environment: str, staged: Path, out: Path, cli_config: Path, terraform: str
) -> PlanResult:
    started = time.monotonic()
    directory = staged / "terraform" / "environments" / DIRECTORIES.get(environment, environment)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))},
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_DATA_DIR": str(out / "data" / environment),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    }
    plan_file = out / f"{environment}.tfplan"
    var_files = [f"-var-file={name}" for name in ENVIRONMENTS[environment]]
    _run([terraform, "init", "-input=false", "-no-color"], directory, env, environment, "init")
    _run([terraform, "validate", "-no-color"], directory, env, environment, "validate")
    _run(
        [terraform, "plan", "-input=false", "-no-color", "-lock=false", f"-out={plan_file}", *var_files],
        directory,
        env,
        environment,
        "plan",
    )
    shown = _run([terraform, "show", "-json", str(plan_file)], directory, env, environment, "show")
    plan_json = out / f"{environment}.plan.json"
    plan_json.write_text(shown)
    changes = json.loads(shown).get("resource_changes", [])
    resources = sum(1 for change in changes if change.get("mode") == "managed")
    return PlanResult(environment, plan_json, resources, time.monotonic() - started)


def run(
    source: Path = REPO_ROOT,
    out: Path = REPO_ROOT / "build" / "terraform",
    environments: tuple[str, ...] = tuple(ENVIRONMENTS),
    terraform: str = "terraform",
    python: str = sys.executable,
) -> list[PlanResult]:
    """init + validate + plan + show for each environment; raises TerraformError on the first failure."""
    unknown = [name for name in environments if name not in ENVIRONMENTS]
    if unknown:
        raise ValueError(f"unknown environment(s) {unknown}; choose from {sorted(ENVIRONMENTS)}")
    if not (REPO_ROOT / "build" / "dist" / "layer.zip").exists():
        raise FileNotFoundError("build/dist has no zips: run `make build` first (the plan hashes them)")
    out.mkdir(parents=True, exist_ok=True)
    cli_config = install_provider(out.resolve(), terraform, python)
    staged = stage(source, out.resolve())
    return [plan_environment(name, staged, out.resolve(), cli_config, terraform) for name in environments]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="terraform init/validate/plan offline on the real AWS schema"
    )
    parser.add_argument("--source", type=Path, default=REPO_ROOT, help="repository root holding terraform/")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "terraform")
    parser.add_argument(
        "--env", action="append", choices=sorted(ENVIRONMENTS), help="default: every environment"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        results = run(args.source, args.out, tuple(args.env or ENVIRONMENTS))
    except (TerraformError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 1
    for result in results:
        print(
            f"{result.environment}: {result.resources} resources planned in {result.seconds:.1f} s -> {result.plan_json}"
        )
    print(f"hashicorp/aws {provider_version()} (offline stand-in), {time.monotonic() - started:.1f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
