"""House style of the Terraform: module layout, typed and validated variables, described outputs,
pinned versions, tags everywhere, IAM in iam.tf, `terraform fmt` clean."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.terraform.hcl import (
    ENVIRONMENTS,
    MODULES,
    TERRAFORM,
    all_configs,
    environment,
    environment_names,
    module,
    module_names,
)

EXPECTED_MODULES = {"network", "ledger", "functions", "scheduler", "ingest", "glue_jobs", "observability"}

# The resource each module exists for, named `this`.
PRIMARY_RESOURCE = {
    "network": "aws_vpc",
    "ledger": "aws_dynamodb_table",
    "functions": "aws_lambda_function",
    "scheduler": "aws_sfn_state_machine",
    "ingest": "aws_sqs_queue",
    "glue_jobs": "aws_glue_job",
    "observability": "aws_cloudwatch_dashboard",
}

# Variables whose names say they take an enum, a CIDR block, a rate or a fraction.
MUST_VALIDATE = re.compile(r"(cidr|_rate$|fraction|level$|architecture|glue_version|^region$|name_prefix)")

# Resource types the AWS provider cannot tag.
UNTAGGABLE = {
    "aws_cloudwatch_dashboard",
    "aws_cloudwatch_event_target",
    "aws_glue_security_configuration",
    "aws_iam_role_policy",
    "aws_lambda_function_event_invoke_config",
    "aws_lambda_layer_version",
    "aws_lambda_permission",
    "aws_route_table_association",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_sqs_queue_policy",
    "aws_sqs_queue_redrive_allow_policy",
}

ALL_CONFIGS = all_configs()
CONFIG_IDS = [f"{config.directory.parent.name}/{config.directory.name}" for config in ALL_CONFIGS]


def test_there_is_one_module_per_concern() -> None:
    assert set(module_names()) == EXPECTED_MODULES
    assert set(environment_names()) == {"aws", "localstack"}


@pytest.mark.parametrize("name", sorted(EXPECTED_MODULES))
def test_module_has_the_four_files_and_iam_lives_in_iam_tf(name: str) -> None:
    config = module(name)
    files = {path.name for path in (MODULES / name).glob("*.tf")}
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf"} <= files
    iam_resources = [
        (kind, res)
        for file_name, parsed in config.files.items()
        for block in parsed.get("resource", [])
        for kind, named in block.items()
        for res in named
        if kind.startswith("aws_iam_") and file_name != "iam.tf"
    ]
    assert iam_resources == [], f"{name}: IAM roles and policies belong in iam.tf"
    if any(kind.startswith("aws_iam_") for kind, _ in config.resources):
        assert "iam.tf" in files


@pytest.mark.parametrize("name", sorted(EXPECTED_MODULES))
def test_primary_resource_is_named_this(name: str) -> None:
    assert (PRIMARY_RESOURCE[name], "this") in module(name).resources


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=CONFIG_IDS)
def test_versions_are_pinned(config) -> None:  # type: ignore[no-untyped-def]
    terraform_blocks = [block for parsed in config.files.values() for block in parsed.get("terraform", [])]
    assert len(terraform_blocks) == 1
    block = terraform_blocks[0]
    required = block["required_version"]
    assert ">=" in required and "<" in required.replace("<=", "<"), required
    providers = block["required_providers"][0]
    assert providers["aws"]["source"] == "hashicorp/aws"
    version = providers["aws"]["version"]
    assert ">=" in version and "<" in version, version


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=CONFIG_IDS)
def test_variables_are_typed_described_and_validated(config) -> None:  # type: ignore[no-untyped-def]
    problems = []
    if config.directory == ENVIRONMENTS / "aws":
        # Generated pass-through (scripts/terraform_offline/tfdocs.py): terraform/glue_audit types,
        # defaults and validates each one; test_docs.py holds the two in step.
        return
    is_module = config.directory.parent == MODULES
    for name, body in config.variables.items():
        if "type" not in body:
            problems.append(f"{name}: no type")
        if not str(body.get("description", "")).strip():
            problems.append(f"{name}: no description")
        type_ = str(body.get("type", "")).removeprefix("${").removesuffix("}")
        needs_validation = bool(MUST_VALIDATE.search(name)) or (is_module and type_ == "number")
        if needs_validation and not body.get("validation"):
            problems.append(f"{name}: no validation block")
        for rule in body.get("validation", []):
            if not str(rule.get("error_message", "")).strip():
                problems.append(f"{name}: validation without error_message")
    assert problems == []


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=CONFIG_IDS)
def test_outputs_are_described_and_named_thing_attr(config) -> None:  # type: ignore[no-untyped-def]
    problems = [
        name
        for name, body in config.outputs.items()
        if not str(body.get("description", "")).strip() or not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", name)
    ]
    assert problems == []


@pytest.mark.parametrize("name", sorted(EXPECTED_MODULES))
def test_every_taggable_resource_takes_the_tags_variable(name: str) -> None:
    config = module(name)
    assert "tags" in config.variables
    untagged = [
        f"{kind}.{res}"
        for (kind, res), body in config.resources.items()
        if kind not in UNTAGGABLE and "var.tags" not in str(body.get("tags", ""))
    ]
    assert untagged == []


@pytest.mark.parametrize("name", sorted(p.name for p in ENVIRONMENTS.iterdir() if p.is_dir()))
def test_environments_set_provider_default_tags_and_pass_tags_to_modules(name: str) -> None:
    config = environment(name)
    providers = [block for parsed in config.files.values() for block in parsed.get("provider", [])]
    aws = [block["aws"] for block in providers if "aws" in block]
    assert len(aws) == 1 and aws[0].get("default_tags"), "provider aws needs default_tags"
    assert all("tags" in body for body in config.modules.values())


def test_aws_environment_documents_an_s3_backend_and_tfvars_example() -> None:
    versions = (ENVIRONMENTS / "aws" / "versions.tf").read_text()
    assert '# backend "s3"' in versions
    example = (ENVIRONMENTS / "aws" / "terraform.tfvars.example").read_text()
    # Top-level assignments (column 0, possibly commented out); nested attributes are indented.
    assigned = set(re.findall(r"^(?:#\s*)?([a-z_]+)\s*=", example, re.MULTILINE))
    declared = set(environment("aws").variables)
    assert assigned, "terraform.tfvars.example sets no variables"
    assert assigned <= declared, f"not declared in environments/aws: {sorted(assigned - declared)}"
    for key in (
        "settings",
        "schedule_rate",
        "analyzer_schedule_rate",
        "private_subnet_cidrs",
        "extra_jobs",
    ):
        assert key in assigned, f"terraform.tfvars.example should show {key}"


def test_existing_vpc_example_sets_only_declared_variables_and_the_network_inputs() -> None:
    """Terraform only warns about an undeclared variable in a -var-file: a misspelt one would be
    ignored silently by `make tf-plan`."""
    example = (ENVIRONMENTS / "aws" / "existing-vpc.tfvars.example").read_text()
    assigned = set(re.findall(r"^(?:#\s*)?([a-z_]+)\s*=", example, re.MULTILINE))
    declared = set(environment("aws").variables)
    assert assigned <= declared, f"not declared in environments/aws: {sorted(assigned - declared)}"
    assert {"vpc_id", "subnet_ids", "availability_zones", "route_table_ids", "security_group_ids"} <= assigned


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("terraform/environments/aws/terraform.tfvars", True),
        ("terraform/environments/aws/prod.tfvars.json", True),
        ("terraform/environments/aws/plan.tfplan", True),
        ("terraform/environments/aws/aws.plan.json", True),
        ("terraform/environments/aws/terraform.tfvars.example", False),
        ("terraform/environments/aws/existing-vpc.tfvars.example", False),
    ],
)
def test_a_deployments_variables_and_plans_stay_out_of_git(path: str, ignored: bool) -> None:
    """A copied tfvars (account IDs, ARNs) or a saved plan (every planned value) is never committed."""
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path],
        cwd=TERRAFORM.parent,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == (0 if ignored else 1), f"{path}: git check-ignore exit {result.returncode}"


def test_localstack_provider_points_every_used_service_at_localstack() -> None:
    text = (ENVIRONMENTS / "localstack" / "providers.tf").read_text()
    for flag in ("skip_credentials_validation", "skip_metadata_api_check"):
        assert re.search(rf"{flag}\s*=\s*true", text), flag
    # Without the account id the provider builds ARNs like arn:aws:glue:us-east-1::job/... (issue 11).
    assert not re.search(r"skip_requesting_account_id\s*=\s*true", text)
    for service in ("dynamodb", "lambda", "sqs", "events", "sfn", "iam", "sts", "s3", "glue", "logs", "ec2"):
        assert re.search(rf"^\s*{service}\s*=\s*var\.localstack_endpoint", text, re.MULTILINE), service


def test_terraform_fmt_is_clean() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail("terraform is not on PATH; `terraform fmt -check -recursive terraform` cannot run")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"
