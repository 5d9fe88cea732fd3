"""The security settings as Terraform plans them, in both network modes.

``aws`` creates the VPC (terraform.tfvars.example); ``aws-existing-vpc`` runs the jobs in a given
VPC with a customer managed key (existing-vpc.tfvars.example). Read from tests/terraform/plan.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.terraform.plan import (
    ENVIRONMENTS,
    data_sources,
    plan,
    planned_resources,
    policy_documents,
    unknown_attributes,
)

ACCOUNT = "123456789012"


def _conditions(statement: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return {
        test: {key: [value] if isinstance(value, str) else list(value) for key, value in pairs.items()}
        for test, pairs in statement.get("Condition", {}).items()
    }


def _trust(env: str, address: str) -> dict[str, dict[str, list[str]]]:
    (statement,) = policy_documents(env)[address]
    return _conditions(statement)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_service_roles_trust_only_this_accounts_own_resources(env: str) -> None:
    region = _region(env)
    machine = _trust(env, "module.scheduler.data.aws_iam_policy_document.state_machine_assume")
    assert machine["StringEquals"] == {"aws:SourceAccount": [ACCOUNT]}
    assert machine["ArnLike"] == {
        "aws:SourceArn": [f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:glue-audit-scheduler"]
    }
    schedule = _trust(env, "module.scheduler.data.aws_iam_policy_document.schedule_assume")
    assert schedule["StringEquals"] == {"aws:SourceAccount": [ACCOUNT]}
    assert schedule["ArnEquals"] == {
        "aws:SourceArn": [f"arn:aws:events:{region}:{ACCOUNT}:rule/glue-audit-schedule"]
    }
    glue_roles = [
        a
        for a in policy_documents(env)
        if a.startswith("module.glue_jobs.data.aws_iam_policy_document.assume[")
    ]
    assert len(glue_roles) == len(planned_resources(env, "aws_glue_job"))  # a role per job
    for address in ("module.functions.data.aws_iam_policy_document.assume", *glue_roles):
        assert _trust(env, address)["StringEquals"] == {"aws:SourceAccount": [ACCOUNT]}, address
    flow_logs = "module.network.data.aws_iam_policy_document.flow_logs_assume[0]"
    if flow_logs in policy_documents(env):
        conditions = _trust(env, flow_logs)
        assert conditions["StringEquals"] == {"aws:SourceAccount": [ACCOUNT]}
        assert conditions["ArnLike"] == {"aws:SourceArn": [f"arn:aws:ec2:{region}:{ACCOUNT}:vpc-flow-log/*"]}
    permission = planned_resources(env, "aws_lambda_permission")[
        "module.scheduler.aws_lambda_permission.analyzer"
    ]
    assert permission["source_account"] == ACCOUNT


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_state_machine_logs_errors_without_execution_data(env: str) -> None:
    machine = planned_resources(env, "aws_sfn_state_machine")["module.scheduler.aws_sfn_state_machine.this"]
    (logging,) = machine["logging_configuration"]
    assert (logging["level"], logging["include_execution_data"]) == ("ERROR", False)


def _endpoint_policy(env: str) -> list[dict[str, Any]]:
    return policy_documents(env)["module.network.data.aws_iam_policy_document.s3_endpoint"]


@pytest.mark.parametrize("env", ["aws"])
def test_s3_endpoint_admits_only_the_stacks_buckets_and_the_declared_read_locations(env: str) -> None:
    region = _region(env)
    buckets = [f"arn:aws:s3:::glue-audit-{kind}-{ACCOUNT}-{region}" for kind in ("data", "scripts")]
    statements = {statement["Sid"]: statement for statement in _endpoint_policy(env)}
    assert sorted(statements["StackBuckets"]["Resource"]) == sorted([*buckets, *(f"{b}/*" for b in buckets)])
    assert "s3:PutObject" in statements["StackBuckets"]["Action"]
    if env == "aws":  # the finance-events job's reads
        read = statements["DeclaredReadLocations"]
        assert sorted(read["Resource"]) == [
            "arn:aws:s3:::finance-raw",
            "arn:aws:s3:::finance-raw/events/*",
            "arn:aws:s3:::finance-raw/mappings/input_job.json*",
        ]
        assert not {"s3:PutObject", "s3:DeleteObject"} & set(read["Action"])
    else:
        assert set(statements) == {"StackBuckets"}
    (endpoint,) = [
        e for e in planned_resources(env, "aws_vpc_endpoint").values() if e["vpc_endpoint_type"] == "Gateway"
    ]
    assert json.loads(endpoint["policy"])["Statement"] == _endpoint_policy(env)


def test_glue_jobs_create_and_delete_enis_only_in_the_stacks_vpc() -> None:
    """In existing network mode the VPC ARN is known at plan time, so the role's policy is too."""
    statements = {
        s["Sid"]: s
        for s in policy_documents("aws-existing-vpc")[
            'module.glue_jobs.data.aws_iam_policy_document.this["input"]'
        ]
    }
    vpc = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:vpc/vpc-0a1b2c3d4e5f60718"
    for sid in ("CreateJobEnis", "DeleteJobEnis"):  # TagJobEnis also limits the tag key
        assert statements[sid]["Condition"] == {"ArnEquals": {"ec2:Vpc": vpc}}, sid
    subnets = {
        f"arn:aws:ec2:eu-west-1:{ACCOUNT}:subnet/{s}"
        for s in ("subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718")
    }
    assert subnets <= set(statements["CreateJobEnisInOwnSubnets"]["Resource"])
    assert "Condition" not in statements["CreateJobEnisInOwnSubnets"]  # named by ARN, no tag needed


def test_existing_network_mode_creates_no_vpc_and_runs_the_jobs_in_the_given_subnets() -> None:
    env = "aws-existing-vpc"
    types = {change["type"] for change in plan(env)["resource_changes"] if change["mode"] == "managed"}
    assert not {"aws_vpc", "aws_subnet", "aws_route_table", "aws_default_security_group"} & types
    connections = planned_resources(env, "aws_glue_connection")
    placed = {
        (
            c["physical_connection_requirements"][0]["availability_zone"],
            c["physical_connection_requirements"][0]["subnet_id"],
        )
        for c in connections.values()
    }
    assert placed == {("eu-west-1a", "subnet-0a1b2c3d4e5f60718"), ("eu-west-1b", "subnet-0b1c2d3e4f5a60718")}
    # The VPC is left as it is: no flow log, no endpoint, no route-table change unless asked.
    assert not {"aws_flow_log", "aws_vpc_endpoint", "aws_route", "aws_route_table_association"} & types
    # The given subnets are read at plan (their free addresses are checked against the largest job).
    given = data_sources(env, "aws_subnet")
    assert sorted(v["id"] for v in given.values()) == ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"]
    # security_group_ids given: no group is created, the connections and endpoints use those.
    assert planned_resources(env, "aws_security_group") == {}
    assert {
        tuple(c["physical_connection_requirements"][0]["security_group_id_list"])
        for c in connections.values()
    } == {("sg-0a1b2c3d4e5f60718",)}


@pytest.mark.parametrize(
    ("env", "services"),
    [
        ("aws", {"glue", "logs", "monitoring", "kms"}),
        ("aws-existing-vpc", set()),  # the given VPC is left as it is (test_plan_network.py)
        ("localstack", {"kms"}),
    ],
)
def test_a_customer_managed_key_adds_a_kms_endpoint_to_a_created_vpc(env: str, services: set[str]) -> None:
    endpoints = [
        e
        for e in planned_resources(env, "aws_vpc_endpoint").values()
        if e["vpc_endpoint_type"] == "Interface"
    ]
    assert {e["service_name"].rsplit(".", 1)[1] for e in endpoints} == services


def test_the_alarm_topic_takes_its_key_from_the_root() -> None:
    (topic,) = planned_resources("aws-existing-vpc", "aws_sns_topic").values()
    assert (
        topic["kms_master_key_id"]
        == "arn:aws:kms:eu-west-1:123456789012:key/1a2b3c4d-5e6f-7081-9203-b4c5d6e7f809"
    )
    # The default plan: the key the stack creates (its ARN is known at apply).
    (address,) = planned_resources("aws", "aws_sns_topic")
    assert unknown_attributes("aws", address)["kms_master_key_id"] is True


@pytest.mark.parametrize(
    ("env", "argument_files"),
    [
        # terraform.tfvars.example sets argument_file_s3_uris = ["s3://finance-raw/payer-lists/"].
        ("aws", ["arn:aws:s3:::finance-raw/payer-lists/*"]),
        ("aws-existing-vpc", []),  # unset: no S3 read at all
    ],
)
def test_submitter_policy_output_grants_the_cli_actions_on_the_ledger_the_jobs_and_the_argument_files(
    env: str, argument_files: list[str]
) -> None:
    from glue_audit.config.permissions import SUBMITTER_GRANTS

    output = plan(env)["planned_values"]["outputs"]["submitter_policy_json"]["value"]
    statements = {s["Sid"]: s for s in json.loads(output)["Statement"]}
    granted = {sid: sorted(actions) for sid, actions in SUBMITTER_GRANTS.items()}
    if not argument_files:
        del granted["ArgumentFiles"]
    assert {sid: sorted(_strings(s["Action"])) for sid, s in statements.items()} == granted
    region = _region(env)
    assert sorted(statements["Ledger"]["Resource"]) == [
        f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/glue-audit-ledger",
        f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/glue-audit-ledger/index/*",
    ]
    jobs = sorted(
        f"arn:aws:glue:{region}:{ACCOUNT}:job/{job['name']}"
        for job in planned_resources(env, "aws_glue_job").values()
    )
    assert len(jobs) == (3 if env == "aws" else 2)  # input, output and the example's extra job
    assert sorted(statements["GlueJobsRead"]["Resource"]) == jobs
    if argument_files:
        assert sorted(_strings(statements["ArgumentFiles"]["Resource"])) == argument_files
    actions = {action for s in statements.values() for action in _strings(s["Action"])}
    assert ("s3:GetObject" in actions) is bool(argument_files)


def _strings(value: str | list[str]) -> list[str]:
    """IAM JSON writes a single action or resource as a string, several as a list."""
    return [value] if isinstance(value, str) else list(value)


def _region(env: str) -> str:
    (region,) = {values["region"] for values in data_sources(env, "aws_region").values()}
    return str(region)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_safe_defaults_are_planned(env: str) -> None:
    """DynamoDB PITR, SSE and deletion protection (off only for LocalStack); SQS encrypted with a
    DLQ; S3 private, encrypted and versioned; functions and the state machine traced."""
    (table,) = planned_resources(env, "aws_dynamodb_table").values()
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["server_side_encryption"][0]["enabled"] is True
    assert table["deletion_protection_enabled"] is (env != "localstack")
    for address, queue in planned_resources(env, "aws_sqs_queue").items():
        encrypted_by_created_key = unknown_attributes(env, address).get("kms_master_key_id") is True
        assert queue.get("kms_master_key_id") or encrypted_by_created_key, address
    for address, block in planned_resources(env, "aws_s3_bucket_public_access_block").items():
        flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
        assert all(block[flag] is True for flag in flags), address
    for address, sse in planned_resources(env, "aws_s3_bucket_server_side_encryption_configuration").items():
        assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms", (
            address
        )
    versioning = planned_resources(env, "aws_s3_bucket_versioning")
    assert len(versioning) == 2
    assert {v["versioning_configuration"][0]["status"] for v in versioning.values()} == {"Enabled"}
    assert {b["force_destroy"] for b in planned_resources(env, "aws_s3_bucket").values()} == {
        env == "localstack"
    }
    assert {
        f["tracing_config"][0]["mode"] for f in planned_resources(env, "aws_lambda_function").values()
    } == {"Active"}
    (machine,) = planned_resources(env, "aws_sfn_state_machine").values()
    assert machine["tracing_configuration"][0]["enabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nothing_is_public(env: str) -> None:
    types = {change["type"] for change in plan(env)["resource_changes"] if change["mode"] == "managed"}
    assert not {"aws_internet_gateway", "aws_nat_gateway", "aws_eip"} & types
    assert all(s["map_public_ip_on_launch"] is False for s in planned_resources(env, "aws_subnet").values())
    for address, group in planned_resources(env, "aws_security_group").items():
        for rule in [*group["ingress"], *group["egress"]]:
            assert not rule["cidr_blocks"] and not rule["ipv6_cidr_blocks"], address


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_policy_names_its_resources_unless_aws_offers_no_resource_level_permission(env: str) -> None:
    from tests.terraform.test_plan_code_contracts import NO_RESOURCE_LEVEL_ACTIONS

    offenders = []
    for address, statements in policy_documents(env).items():
        if address == "data.aws_iam_policy_document.kms[0]":
            continue  # a key policy: its Resource "*" is the key itself
        for statement in statements:
            if statement.get("Effect", "Allow") != "Allow" or "Resource" not in statement:
                continue  # trust policies name a principal, not resources
            granted = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            resources = (
                [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
            )
            if any(action == "*" or action.endswith(":*") for action in granted):
                offenders.append(f"{address} {statement.get('Sid')}: wildcard action")
            if "*" in resources and set(granted) - NO_RESOURCE_LEVEL_ACTIONS:
                offenders.append(
                    f"{address} {statement.get('Sid')}: {sorted(set(granted) - NO_RESOURCE_LEVEL_ACTIONS)} on *"
                )
    assert offenders == []
