"""Every IAM policy is readable in the plan, and each Glue job's role reaches only its own data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.terraform.plan import ENVIRONMENTS, plan, planned_resources

POLICY_TYPES = ("aws_iam_role_policy", "aws_iam_policy")


def unknown_policies(document: dict[str, Any]) -> list[str]:
    """Addresses of the IAM policies whose document the plan does not know (read at apply)."""
    return [
        change["address"]
        for change in document["resource_changes"]
        if change["type"] in POLICY_TYPES
        and (
            change["change"]["after"].get("policy") is None or change["change"]["after_unknown"].get("policy")
        )
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_iam_policy_is_unknown_at_plan(env: str) -> None:
    document = plan(env)
    policies = [c for c in document["resource_changes"] if c["type"] in POLICY_TYPES]
    assert len(policies) >= 7  # four functions, the state machine, the schedule, a role per job
    assert unknown_policies(document) == []


def test_the_check_sees_a_policy_known_only_at_apply() -> None:
    """The check above fails on what the old glue_jobs role policy was in the aws plan."""
    change = {
        "address": "module.glue_jobs.aws_iam_role_policy.this",
        "type": "aws_iam_role_policy",
        "change": {"after": {"name": "least-privilege"}, "after_unknown": {"policy": True}},
    }
    assert unknown_policies({"resource_changes": [change]}) == ["module.glue_jobs.aws_iam_role_policy.this"]


def _job_policy(env: str, key: str) -> list[dict[str, Any]]:
    policy = planned_resources(env, "aws_iam_role_policy")[
        f'module.glue_jobs.aws_iam_role_policy.this["{key}"]'
    ]
    statements: list[dict[str, Any]] = json.loads(policy["policy"])["Statement"]
    return statements


def _objects_readable(statements: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for statement in statements:
        granted = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "s3:GetObject" in granted:
            resources = statement["Resource"]
            found.extend(resources if isinstance(resources, list) else [resources])
    return found


def _covers(pattern: str, arn: str) -> bool:
    return arn.startswith(pattern[:-1]) if pattern.endswith("*") else arn == pattern


def test_each_glue_job_has_its_own_role() -> None:
    policies = planned_resources("aws", "aws_iam_role_policy")
    assert {a for a in policies if a.startswith("module.glue_jobs.")} == {
        f'module.glue_jobs.aws_iam_role_policy.this["{key}"]' for key in ("input", "output", "finance-events")
    }
    names = {r["name"] for a, r in planned_resources("aws", "aws_iam_role").items() if "glue_jobs" in a}
    assert names == {f"glue-audit-glue-{key}-eu-west-1" for key in ("input", "output", "finance-events")}


def test_input_jobs_role_cannot_read_another_jobs_sources() -> None:
    """terraform.tfvars.example: finance-events reads s3://finance-raw/events/; the input job reads
    the landing prefix of the data bucket; the output job reads staging/."""
    data = "arn:aws:s3:::glue-audit-data-123456789012-eu-west-1"
    readable = _objects_readable(_job_policy("aws", "input"))
    assert any(_covers(p, f"{data}/landing/2026/part-0.json") for p in readable)
    others = [
        "arn:aws:s3:::finance-raw/events/2026/part-0.json",  # finance-events' source
        f"{data}/output/part-0.parquet",  # the output job's output
        f"{data}/reports/glue-audit-output/jr_1.json",  # another job's run report
        f"{data}/temporary/glue-audit-finance-events/x",  # another job's temporary files
    ]
    assert [arn for arn in others if any(_covers(p, arn) for p in readable)] == []
    # And finance-events may read its source, which the input job may not.
    assert any(_covers(p, others[0]) for p in _objects_readable(_job_policy("aws", "finance-events")))


def test_a_job_writes_run_reports_under_its_own_prefix_only() -> None:
    (reports,) = [s for s in _job_policy("aws", "input") if s.get("Sid") == "OwnRunReports"]
    assert (
        reports["Resource"]
        == "arn:aws:s3:::glue-audit-data-123456789012-eu-west-1/reports/glue-audit-input/*"
    )
    jobs = planned_resources("aws", "aws_glue_job")
    temp = jobs['module.glue_jobs.aws_glue_job.this["input"]']["default_arguments"]["--TempDir"]
    assert temp.endswith("/temporary/glue-audit-input/")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_role_name_carries_the_region(env: str) -> None:
    """IAM names are account-wide: a second region with the same prefix must not collide."""
    (region,) = {r["region"] for r in planned_resources(env, "aws_dynamodb_table").values()}
    names = [role["name"] for role in planned_resources(env, "aws_iam_role").values()]
    assert names and [name for name in names if not name.endswith(f"-{region}")] == []


def _iam_match(pattern: str, arn: str) -> bool:
    """IAM resource matching: * spans any characters, / included."""
    import fnmatch

    return fnmatch.fnmatchcase(arn, pattern.replace("[", "[[]"))


def _allowed(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    def matches(statement: dict[str, Any]) -> bool:
        granted = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        return action in granted and any(_iam_match(r, arn) for r in resources)

    if any(matches(s) for s in statements if s.get("Effect") == "Deny"):
        return False
    return any(matches(s) for s in statements if s.get("Effect", "Allow") == "Allow")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_analyzer_reads_a_report_only_directly_under_a_jobs_prefix(env: str) -> None:
    """A run that sets --glue_audit_report_uri to another job's prefix (s3://data/reports/<A>) would
    make the analyzer read reports/<A>/<B>/<run>.json, which job A's role can write."""
    policy = planned_resources(env, "aws_iam_role_policy")[
        'module.functions.aws_iam_role_policy.this["analyzer"]'
    ]
    statements = json.loads(policy["policy"])["Statement"]
    (reports,) = [s for s in statements if s.get("Sid") == "RunReports"]
    root = (
        reports["Resource"] if isinstance(reports["Resource"], str) else reports["Resource"][0]
    ).removesuffix("*")
    assert _allowed(statements, "s3:GetObject", f"{root}glue-audit-output/jr_0123.json")
    assert not _allowed(statements, "s3:GetObject", f"{root}glue-audit-input/glue-audit-output/jr_0123.json")
    assert not _allowed(
        statements, "s3:GetObject", f"{root}glue-audit-input/jr_x/glue-audit-output/jr_0123.json"
    )
    # And job input's role may write only under its own prefix.
    if env == "aws":
        job = _job_policy(env, "input")
        assert _allowed(job, "s3:PutObject", f"{root}glue-audit-input/jr_0123.json")
        assert not _allowed(job, "s3:PutObject", f"{root}glue-audit-output/jr_0123.json")
