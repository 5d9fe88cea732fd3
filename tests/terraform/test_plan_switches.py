"""The switches a platform team turns: the seed jobs, and the layer's architecture check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scripts.terraform_offline import tf_plan
from tests.terraform.plan import ROOT

EXAMPLE = "environments/aws/terraform.tfvars.example"


def _source(tmp_path: Path, extra: str) -> Path:
    source = tmp_path / "repo"
    shutil.copytree(ROOT / "terraform", source / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    (source / "glue_jobs").symlink_to(ROOT / "glue_jobs")
    (source / "layers").symlink_to(ROOT / "layers")
    example = source / "terraform" / EXAMPLE
    example.write_text(example.read_text() + extra)
    return source


def test_without_the_seed_jobs_only_the_teams_own_jobs_are_deployed(tmp_path: Path) -> None:
    source = _source(tmp_path, "seed_jobs = false\n")
    (result,) = tf_plan.run(source=source, out=tmp_path / "out", environments=("aws",))
    changes = json.loads(result.plan_json.read_text())["resource_changes"]
    jobs = sorted(c["change"]["after"]["name"] for c in changes if c["type"] == "aws_glue_job")
    assert jobs == ["glue-audit-finance-events"]
    scripts = sorted(c["change"]["after"]["key"] for c in changes if c["type"] == "aws_s3_object")
    assert "jobs/output_job.py" not in scripts


def _dist(tmp_path: Path, architecture: str) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    for zipped in (ROOT / "build" / "dist").glob("*.zip"):
        (dist / zipped.name).symlink_to(zipped)
    (dist / "layer.json").write_text(json.dumps({"architecture": architecture}))
    return dist


def test_a_layer_built_for_another_architecture_fails_the_plan(tmp_path: Path) -> None:
    dist = _dist(tmp_path, "x86_64")
    source = _source(tmp_path, f'dist_dir = "{dist}"\nlambda_architecture = "arm64"\n')
    with pytest.raises(tf_plan.TerraformError) as failure:
        tf_plan.run(source=source, out=tmp_path / "out", environments=("aws",))
    message = " ".join(failure.value.output.split())
    assert "was built for x86_64 but the functions run on arm64" in message
    assert "scripts/build.py --architecture arm64" in message
