"""The shared facts fail the plan loudly when the Terraform and the JSON disagree.

Each case edits a copy of terraform/ and glue_audit/facts/ and runs the real tooling (make tf-plan's
scripts/terraform_offline) on it; Terraform's own error names the problem.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.terraform_offline import tf_plan
from tests.terraform.plan import ROOT

FACTS = Path("layers/common/glue_audit/facts")


def _plan_with(tmp_path: Path, environment: str, path: str, old: str, new: str) -> tf_plan.TerraformError:
    source = tmp_path / "repo"
    shutil.copytree(ROOT / "terraform", source / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    shutil.copytree(ROOT / FACTS, source / FACTS, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "glue_jobs").symlink_to(ROOT / "glue_jobs")
    target = source / path
    text = target.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    target.write_text(text.replace(old, new))
    with pytest.raises(tf_plan.TerraformError) as failure:
        tf_plan.run(source=source, out=tmp_path / "out", environments=(environment,))
    return failure.value


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_a_setting_without_its_environment_variable_fails_the_plan(tmp_path: Path) -> None:
    error = _plan_with(
        tmp_path,
        "localstack",
        str(FACTS / "environment.json"),
        '"SNAPSHOT_TTL_DAYS": "snapshot_ttl_days",\n    "TICK_DEDUP_SECONDS": "tick_dedup_seconds"',
        '"SNAPSHOT_TTL_DAYS": "snapshot_ttl_days"',
    )
    assert error.step == "plan"
    output = _squash(error.output)
    assert "The settings variable's attributes" in output
    assert "differ from the settings of glue_audit/facts/environment.json" in output


def test_an_environment_variable_naming_no_setting_fails_the_plan(tmp_path: Path) -> None:
    error = _plan_with(
        tmp_path,
        "localstack",
        str(FACTS / "environment.json"),
        '"TICK_DEDUP_SECONDS": "tick_dedup_seconds"',
        '"TICK_DEDUP_SECONDS": "tick_dedup"',
    )
    assert "Error: Invalid index" in error.output
    assert "The given key does not identify an element in this collection value" in _squash(error.output)


def test_an_iam_group_the_terraform_cannot_scope_fails_the_plan(tmp_path: Path) -> None:
    error = _plan_with(
        tmp_path,
        "localstack",
        str(FACTS / "function_actions.json"),
        '"GlueStop": ["glue:BatchStopJobRun"]',
        '"GlueStopping": ["glue:BatchStopJobRun"]',
    )
    assert error.step in {"validate", "plan"}
    assert "The given key does not identify an element in this collection value" in _squash(error.output)
    assert "local.group_resources" in error.output


def test_a_misspelt_setting_in_the_tfvars_fails_the_plan(tmp_path: Path) -> None:
    error = _plan_with(
        tmp_path,
        "aws",
        "terraform/environments/aws/terraform.tfvars.example",
        "quota_fraction        = 0.9",
        "quota_fractoin        = 0.9",
    )
    assert error.step == "plan"
    output = _squash(error.output)
    assert "settings has unknown attributes (quota_fractoin)" in output
    assert "quota_fraction" in output  # the list of the known ones
