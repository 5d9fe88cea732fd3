"""Existing network mode: what a platform team opts into, and the given subnets' free addresses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from scripts.terraform_offline import tf_plan
from tests.terraform.plan import ROOT

EXAMPLE = "environments/aws/existing-vpc.tfvars.example"


def _copy(tmp_path: Path, extra: str, old: str = "", new: str = "") -> Path:
    source = tmp_path / "repo"
    shutil.copytree(ROOT / "terraform", source / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    (source / "glue_jobs").symlink_to(ROOT / "glue_jobs")
    (source / "layers").symlink_to(ROOT / "layers")
    example = source / "terraform" / EXAMPLE
    text = example.read_text()
    if old:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    example.write_text(text + extra)
    return source


def _types(plan_json: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for change in json.loads(plan_json.read_text())["resource_changes"]:
        if change["mode"] == "managed":
            found.setdefault(change["type"], []).append(change["change"]["after"])
    return found


def test_each_change_to_a_given_vpc_is_opt_in(tmp_path: Path) -> None:
    source = _copy(
        tmp_path,
        "existing_vpc_interface_endpoints = true\n"
        "existing_vpc_flow_log            = true\n"
        "existing_vpc_s3_endpoint         = true\n"
        'route_table_ids                  = ["rtb-0a1b2c3d4e5f60718"]\n',
    )
    (result,) = tf_plan.run(source=source, out=tmp_path / "out", environments=("aws-existing-vpc",))
    types = _types(result.plan_json)
    assert len(types["aws_flow_log"]) == 1
    endpoints = {e["service_name"].rsplit(".", 1)[1]: e for e in types["aws_vpc_endpoint"]}
    assert set(endpoints) == {"s3", "glue", "logs", "monitoring"}
    assert endpoints["s3"]["route_table_ids"] == ["rtb-0a1b2c3d4e5f60718"]
    assert endpoints["s3"]["vpc_id"] == "vpc-0a1b2c3d4e5f60718"


def test_a_given_subnet_without_room_for_the_largest_job_fails_the_plan(tmp_path: Path) -> None:
    # The stand-in answers an empty /24 (251 free addresses): 300 workers + 2 ENIs + 16 reserved do not fit.
    source = _copy(
        tmp_path,
        "",
        'input_job  = { worker_type = "G.1X", number_of_workers = 10 }',
        'input_job  = { worker_type = "G.1X", number_of_workers = 300 }',
    )
    with pytest.raises(tf_plan.TerraformError) as failure:
        tf_plan.run(source=source, out=tmp_path / "out", environments=("aws-existing-vpc",))
    message = " ".join(failure.value.output.split())
    assert "Subnet subnet-0a1b2c3d4e5f60718 has 251 free IP addresses; the largest job takes 302" in message
