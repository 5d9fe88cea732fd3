"""A bad input fails at plan time with a clear message.

Each module's variables.tf is copied alone into a temporary directory, where `terraform plan`
needs no provider (so it runs offline) and evaluates exactly the module's validation blocks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.hcl import MODULES, ROOT

# The facts each module takes as inputs (the composite module reads the same files).
FACTS = ROOT / "layers" / "common" / "glue_audit" / "facts"


def _fact(name: str) -> Any:
    return json.loads((FACTS / f"{name}.json").read_text())


ARN = "arn:aws:lambda:eu-west-1:123456789012:function:glue-audit-{}"

REQUIRED: dict[str, dict[str, Any]] = {
    "network": {
        "name_prefix": "glue-audit",
        "vpc_cidr": "10.42.0.0/16",
        "private_subnet_cidrs": ["10.42.0.0/24"],
        "largest_job_ips": 12,
        "ip_reserve_per_subnet": 8,
        "s3_bucket_arns": ["arn:aws:s3:::glue-audit-data-123456789012-eu-west-1"],
    },
    "scheduler": {
        "name_prefix": "glue-audit",
        "capacity_function_arn": ARN.format("capacity"),
        "launcher_function_arn": ARN.format("launcher"),
        "analyzer_function_arn": ARN.format("analyzer"),
    },
    "functions": {
        "name_prefix": "glue-audit",
        "dist_dir": "build/dist",
        "ledger_table_name": "glue-audit-ledger",
        "ledger_table_arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/glue-audit-ledger",
        "scheduler_state_machine_arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:glue-audit-scheduler",
        "events_queue_arn": "arn:aws:sqs:eu-west-1:123456789012:glue-audit-glue-events",
        "launchable_job_arns": ["arn:aws:glue:eu-west-1:123456789012:job/glue-audit-input"],
        "run_report_s3_uris": ["s3://glue-audit-data-123456789012-eu-west-1/reports"],
        "metrics_namespace": "GlueAudit",
        "environment_facts": _fact("environment"),
        "function_actions": _fact("function_actions"),
        "submitter_actions": _fact("submitter_actions"),
        "operator_actions": _fact("operator_actions"),
        "request_event_facts": _fact("request_events"),
    },
    "glue_jobs": {
        "name_prefix": "glue-audit",
        "scripts_dir": "glue_jobs",
        "dist_dir": "build/dist",
        "connection_names": ["glue-audit-vpc-eu-west-1a"],
        "network_scope": {"tag": {"glue-audit:network": "glue-audit"}},
        "job_tag_keys": _fact("job_tags"),
        "jobs": {"input": {}, "output": {}},
    },
    "ingest": {
        "name_prefix": "glue-audit",
        "ingest_function_arn": ARN.format("ingest"),
        "function_timeout_seconds": 60,
        "glue_event_pattern": _fact("glue_event_pattern"),
        "glue_api_call_pattern": _fact("glue_api_call_pattern"),
    },
    "ledger": {"name_prefix": "glue-audit"},
    "observability": {
        "name_prefix": "glue-audit",
        "state_machine_arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:glue-audit-scheduler",
        "analyzer_function_name": "glue-audit-analyzer",
        "dlq_name": "glue-audit-glue-events-dlq",
        "jobs": {"names": ["glue-audit-input", "glue-audit-output"]},
        "metric_facts": _fact("metrics"),
        "deferral_reasons": _fact("deferral_reasons"),
    },
}

# (module, variables on top of REQUIRED, expected error text or None when the plan must pass)
CASES: list[tuple[str, dict[str, Any], str | None]] = [
    # The observability module's jobs: one alarm per job (pair) names the job that fired.
    ("observability", {}, None),
    (
        "observability",
        {"jobs": {"names": ["a-in", "a-out"], "upstreams": {"a-out": "a-in"}}},
        None,
    ),
    ("observability", {"jobs": {"names": ["a-in", "a-in"]}}, "jobs.names lists a job twice"),
    ("observability", {"jobs": {"names": ["a-in", " "]}}, "must hold Glue job names"),
    ("observability", {"jobs": {"names": ["a-in"], "upstreams": {"a-out": ""}}}, "must hold Glue job names"),
    ("network", {}, None),
    # The subnet-size and connection_index checks read values from the other module, so they are
    # preconditions (tests/terraform/test_plan_faults.py plans them), not validations here.
    ("network", {"private_subnet_cidrs": ["10.42.0.0/27"], "interface_endpoint_services": []}, None),
    ("network", {"private_subnet_cidrs": ["10.42.0.0/33"]}, "prefix length between /16 and /28"),
    ("network", {"vpc_cidr": "10.0.0.0/8"}, "prefix length between /16 and /28"),
    ("network", {"availability_zones": ["eu-west-1a", "eu-west-1a"]}, "must not repeat a zone"),
    ("network", {"name_prefix": "Glue_Audit"}, "name_prefix must be"),
    # Existing network mode.
    (
        "network",
        {
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            "availability_zones": ["eu-west-1a", "eu-west-1b"],
            "route_table_ids": ["rtb-0123456789abcdef0"],
            "existing_vpc_s3_endpoint": True,
        },
        None,
    ),
    # Route tables alone change nothing: the S3 endpoint on them is opt-in.
    (
        "network",
        {
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": ["subnet-0123456789abcdef0"],
            "availability_zones": ["eu-west-1a"],
            "route_table_ids": ["rtb-0123456789abcdef0"],
        },
        "or existing_vpc_s3_endpoint = true with route_table_ids",
    ),
    (
        "network",
        {
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": ["subnet-0123456789abcdef0"],
            "availability_zones": ["eu-west-1a"],
            "security_group_ids": ["sg-0123456789abcdef0"],
        },
        None,
    ),
    ("network", {"vpc_id": "my-vpc"}, "must be a VPC ID"),
    (
        "network",
        {"vpc_id": "vpc-0123456789abcdef0", "route_table_ids": ["rtb-0123456789abcdef0"]},
        "give subnet_ids (at least one) and availability_zones",
    ),
    (
        "network",
        {
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            "availability_zones": ["eu-west-1a"],
            "route_table_ids": ["rtb-0123456789abcdef0"],
        },
        "each subnet's zone, in the same order",
    ),
    (
        "network",
        {
            "vpc_id": "vpc-0123456789abcdef0",
            "subnet_ids": ["subnet-0123456789abcdef0"],
            "availability_zones": ["eu-west-1a"],
        },
        "give security_group_ids whose rules let the jobs reach S3",
    ),
    ("network", {"subnet_ids": ["subnet-0123456789abcdef0"]}, "set vpc_id too"),
    ("network", {"security_group_ids": ["sg-0123456789abcdef0"]}, "set vpc_id too"),
    ("network", {"subnet_ids": ["subnet-1"]}, "must be distinct subnet IDs"),
    ("network", {"s3_read_uris": ["s3://bucket/prefix/*"]}, "no wildcards"),
    ("scheduler", {"schedule_rate": "rate(1 minute)"}, None),
    ("scheduler", {"schedule_rate": "rate(15 minutes)"}, None),
    ("scheduler", {"schedule_rate": "rate(5 minute)"}, "EventBridge rate expression"),
    ("scheduler", {"schedule_rate": "rate(1 minutes)"}, "EventBridge rate expression"),
    ("scheduler", {"schedule_rate": "cron(0/5 * * * ? *)"}, "EventBridge rate expression"),
    ("scheduler", {"map_max_concurrency": 0}, "map_max_concurrency must be"),
    ("scheduler", {"log_level": "VERBOSE"}, "log_level must be"),
    ("scheduler", {"analyzer_schedule_rate": "rate(15 minutes)"}, None),
    ("scheduler", {"analyzer_schedule_rate": "rate(1 minutes)"}, "EventBridge rate expression"),
    ("scheduler", {"analyzer_schedule_rate": "cron(0/5 * * * ? *)"}, "EventBridge rate expression"),
    (
        "scheduler",
        {"analyzer_function_arn": ARN.format("analyzer") + ":live"},
        "unqualified Lambda function ARN",
    ),
    ("scheduler", {"analyzer_input": {"min_age_seconds": 300, "max_age_seconds": 3600, "limit": 25}}, None),
    ("scheduler", {"analyzer_input": {"limit": 10}}, None),
    ("scheduler", {"analyzer_input": {"limit": 0}}, "limit a whole number >= 1"),
    ("scheduler", {"analyzer_input": {"min_age_seconds": 1.5}}, "whole numbers >= 0"),
    ("scheduler", {"analyzer_input": {"min_age_seconds": 4000}}, "must be >= min_age_seconds"),
    (
        "scheduler",
        {"analyzer_input": {"min_age_seconds": 600, "max_age_seconds": 300}},
        "must be >= min_age_seconds",
    ),
    ("functions", {}, None),
    ("functions", {"settings": {"quota_fraction": 1}}, None),
    ("functions", {"settings": {"quota_fraction": 0}}, "fraction in (0, 1]"),
    ("functions", {"settings": {"quota_fraction": 1.5}}, "fraction in (0, 1]"),
    ("functions", {"architecture": "arm"}, "arm64 or x86_64"),
    ("functions", {"settings": {"ip_reserve_per_subnet": -1}}, "must be whole numbers >= 0"),
    ("functions", {"settings": {"ip_reserve_per_subnet": 2.5}}, "must be whole numbers >= 0"),
    ("functions", {"settings": {"lease_seconds": 0}}, "must be whole numbers >= 1"),
    ("functions", {"settings": {"team_dpu_budgets": {"data-eng": -1}}}, "budgets values are DPUs >= 0"),
    ("functions", {"settings": {"quota_fraction": "most"}}, "not suitable for var.settings"),
    ("functions", {"launchable_job_arns": ["*"]}, "Glue job ARN"),
    (
        "functions",
        {"memory_size": {"capacity": 512, "launcher": 256, "ingest": 256}},
        "needs capacity, launcher, ingest and analyzer",
    ),
    (
        "functions",
        {"timeout_seconds": {"capacity": 120, "launcher": 60, "ingest": 60}},
        "needs capacity, launcher, ingest and analyzer",
    ),
    ("functions", {"reserved_concurrency": {"analyzer": 1}}, None),
    (
        "functions",
        {"timeout_seconds": {"capacity": 120, "launcher": 60, "ingest": 60, "analyzer": 180}},
        "capacity must be below settings.lease_seconds",
    ),
    (
        "functions",
        {
            "timeout_seconds": {"capacity": 100, "launcher": 60, "ingest": 60, "analyzer": 180},
            "settings": {"stale_claim_seconds": 60},
        },
        "launcher must be below settings.stale_claim_seconds",
    ),
    ("functions", {"run_report_s3_uris": []}, "at least one s3://bucket/prefix URI"),
    ("functions", {"run_report_s3_uris": ["s3://bucket/reports/*"]}, "no wildcards"),
    ("functions", {"run_report_s3_uris": ["https://bucket.s3.amazonaws.com/reports"]}, "s3://bucket/prefix"),
    ("glue_jobs", {}, None),
    ("glue_jobs", {"jobs": {"input": {"worker_type": "G.3X"}, "output": {}}}, "Spark worker type"),
    (
        "glue_jobs",
        {"jobs": {"input": {}, "output": {"execution_class": "FLEX", "worker_type": "G.4X"}}},
        "FLEX needs worker type G.1X or G.2X",
    ),
    ("glue_jobs", {"jobs": {"input": {"worker_type": "G.025X"}}}, "G.025X is for Glue streaming jobs only"),
    ("glue_jobs", {"jobs": {"small": {"script": "x.py", "worker_type": "G.025X"}}}, "streaming"),
    ("glue_jobs", {"jobs": {"big": {"script": "x.py", "priority": 101}}}, "priority must be from 0 to 100"),
    # A job other than the seeds needs its script; without seed_jobs, so do input and output.
    ("glue_jobs", {"jobs": {"extra": {}}}, "Every job needs a script"),
    ("glue_jobs", {"seed_jobs": False, "jobs": {"input": {}}}, "Every job needs a script"),
    ("glue_jobs", {"seed_jobs": False, "jobs": {"input": {"script": "x.py"}}}, None),
    ("glue_jobs", {"jobs": {"big": {"script": "x.py", "reads": ["s3://finance-raw/*"]}}}, "no wildcards"),
    (
        "glue_jobs",
        {"jobs": {"input": {"timeout_minutes": 10, "notify_delay_after_minutes": 20}}},
        "notify_delay_after",
    ),
    ("ingest", {"max_receive_count": 0}, "max_receive_count must be"),
    ("ingest", {"batch_size": 10, "maximum_batching_window_seconds": 301}, "from 0 to 300"),
    ("ingest", {"batch_size": 100, "maximum_batching_window_seconds": 0}, "needs maximum_batching_window"),
    ("ingest", {"batch_size": 100, "maximum_batching_window_seconds": 1}, None),
    ("ingest", {"batch_size": 10, "maximum_batching_window_seconds": 0}, None),
    ("ledger", {"point_in_time_recovery_days": 36}, "from 1 to 35"),
]


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, dict[str, Any]], tuple[bool, str]]:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail("terraform is not on PATH; the validation tests need `terraform plan` (offline)")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    workdirs: dict[str, Path] = {}

    def run(name: str, variables: dict[str, Any]) -> tuple[bool, str]:
        if name not in workdirs:
            workdir = tmp_path_factory.mktemp(f"validate-{name}")
            shutil.copy(MODULES / name / "variables.tf", workdir / "variables.tf")
            subprocess.run(
                [terraform, "init", "-backend=false", "-input=false", "-no-color"],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
            workdirs[name] = workdir
        workdir = workdirs[name]
        (workdir / "terraform.tfvars.json").write_text(json.dumps({**REQUIRED[name], **variables}))
        result = subprocess.run(
            [terraform, "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        output = " ".join((result.stdout + result.stderr).split())
        return result.returncode == 0, output

    return run


@pytest.mark.parametrize(
    ("name", "variables", "error"), CASES, ids=[f"{c[0]}-{json.dumps(c[1])}" for c in CASES]
)
def test_variable_validation(
    plan: Callable[[str, dict[str, Any]], tuple[bool, str]],
    name: str,
    variables: dict[str, Any],
    error: str | None,
) -> None:
    ok, output = plan(name, variables)
    if error is None:
        assert ok, output
    else:
        assert not ok, f"plan should fail with {error!r}"
        assert "Invalid value for variable" in output or "not suitable for var." in output
        assert error in output, output
