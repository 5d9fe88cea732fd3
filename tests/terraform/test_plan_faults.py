"""`make tf-plan` fails with Terraform's own error on the faults a text check cannot see.

Each fault is applied to a copy of terraform/ and planned with the same tooling as `make tf-plan`
(the real terraform binary, offline, on the real hashicorp/aws schema); the environment is LocalStack's,
which uses every module.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from scripts.terraform_offline import tf_plan
from tests.terraform.plan import ROOT


def _plan_with(tmp_path: Path, path: str, old: str, new: str, *more: str) -> tf_plan.TerraformError:
    """Plan a copy of terraform/ where `old` becomes `new` in `path` (and so on for each further
    (path, old, new) triple in `more`); return the error the tooling raises."""
    source = tmp_path / "repo"
    shutil.copytree(ROOT / "terraform", source / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    (source / "glue_jobs").symlink_to(ROOT / "glue_jobs")
    (source / "layers").symlink_to(ROOT / "layers")
    edits = [(path, old, new), *zip(more[0::3], more[1::3], more[2::3], strict=True)]
    for edited, anchor, replacement in edits:
        target = source / "terraform" / edited
        text = target.read_text()
        assert text.count(anchor) == 1, f"the fault's anchor {anchor!r} is not once in {edited}"
        target.write_text(text.replace(anchor, replacement))
    with pytest.raises(tf_plan.TerraformError) as failure:
        tf_plan.run(source=source, out=tmp_path / "out", environments=("localstack",))
    return failure.value


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_a_misspelled_argument_fails_validate(tmp_path: Path) -> None:
    error = _plan_with(tmp_path, "modules/ledger/main.tf", "billing_mode", "biling_mode")
    assert error.step == "validate"
    assert "Error: Unsupported argument" in error.output
    assert 'An argument named "biling_mode" is not expected here.' in _squash(error.output)


def test_a_missing_required_argument_fails_validate(tmp_path: Path) -> None:
    error = _plan_with(
        tmp_path,
        "modules/glue_jobs/main.tf",
        '    script_location = "${local.scripts_uri}/jobs/${each.value.script}"\n',
        "",
    )
    assert error.step == "validate"
    assert "Error: Missing required argument" in error.output
    assert 'The argument "script_location" is required, but no definition was found.' in _squash(error.output)


def test_a_wrong_attribute_reference_fails_validate(tmp_path: Path) -> None:
    error = _plan_with(
        tmp_path,
        "modules/ledger/outputs.tf",
        "= aws_dynamodb_table.this.name\n",
        "= aws_dynamodb_table.this.table_name\n",
    )
    assert error.step == "validate"
    assert "Error: Unsupported attribute" in error.output
    assert 'This object has no argument, nested block, or exported attribute named "table_name".' in _squash(
        error.output
    )


def test_a_cross_module_validation_cycle_fails_validate(tmp_path: Path) -> None:
    # Issue 11's cycle: the two cross-module checks back as variable validations. The network's
    # subnet-size check reads the largest job (from module.glue_jobs); the jobs' connection_index
    # check reads the connections (from module.network). Either alone plans.
    subnets = 'each with a prefix length between /16 and /28."\n  }\n'
    error = _plan_with(
        tmp_path,
        "modules/network/variables.tf",
        subnets,
        subnets + "\n  validation {\n"
        '    condition     = alltrue([for cidr in var.private_subnet_cidrs : pow(2, 32 - tonumber(split("/", cidr)[1])) - 5 >= var.largest_job_ips])\n'
        '    error_message = "Every private subnet must hold the largest job."\n  }\n',
        "modules/glue_jobs/variables.tf",
        "  description = <<-EOT\n    The Glue jobs, by key",
        "  validation {\n"
        "    condition     = alltrue([for job in values(var.jobs) : job.connection_index < length(var.connection_names)])\n"
        '    error_message = "connection_index must pick one of the connections."\n  }\n'
        "  description = <<-EOT\n    The Glue jobs, by key",
    )
    assert error.step == "validate"
    assert re.search(
        r"Error: Cycle: .*module\.network\.var\.private_subnet_cidrs \(validation\)", _squash(error.output)
    )
    assert "module.glue_jobs.var.jobs (validation)" in error.output


def test_a_subnet_too_small_for_the_largest_job_fails_the_plan(tmp_path: Path) -> None:
    error = _plan_with(tmp_path, "environments/localstack/main.tf", '["10.42.0.0/24"]', '["10.42.0.0/28"]')
    assert error.step == "plan"
    assert "Every private subnet must hold the largest job (4 IPs" in _squash(error.output)
    assert "10.42.0.0/28 is too small" in _squash(error.output)


def test_a_connection_index_beyond_the_network_fails_the_plan(tmp_path: Path) -> None:
    error = _plan_with(
        tmp_path,
        "environments/localstack/main.tf",
        "input_job  = { number_of_workers = 2,",
        "input_job  = { number_of_workers = 2, connection_index = 1,",
    )
    assert error.step == "plan"
    assert (
        "Job input: connection_index 1 must pick one of the network's Glue connections (0 to 0)."
        in _squash(error.output)
    )


@pytest.mark.parametrize(
    "schedule",
    ["rate(30 minute)", "cron(0/30 * * * *)", "cron(0 12 L * ? *)", "every 30 minutes"],
)
def test_a_bad_schedule_fails_the_plan_naming_the_attribute(tmp_path: Path, schedule: str) -> None:
    error = _plan_with(
        tmp_path,
        "environments/localstack/main.tf",
        'schedule = "rate(30 minutes)"',
        f'schedule = "{schedule}"',
    )
    assert "schedule (tag glue-audit:schedule) must be an EventBridge expression" in _squash(error.output)
