"""Encrypted by default: the default plans name a customer managed key everywhere it can go."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.terraform.plan import ENVIRONMENTS, planned_resources, policy_documents, unknown_attributes

# The attribute that names the key, per resource type.
KEY_ATTRIBUTE = {
    "aws_cloudwatch_log_group": "kms_key_id",
    "aws_sns_topic": "kms_master_key_id",
    "aws_sqs_queue": "kms_master_key_id",
    "aws_lambda_function": "kms_key_arn",
}


def _names_the_key(env: str, address: str, values: dict[str, Any], attribute: str) -> bool:
    """The planned value is a key ARN (given), or the created key's ARN, known only at apply."""
    value = values.get(attribute)
    return bool(value) or unknown_attributes(env, address).get(attribute) is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_log_group_topic_queue_and_function_names_the_customer_managed_key(env: str) -> None:
    for type_, attribute in KEY_ATTRIBUTE.items():
        resources = planned_resources(env, type_)
        assert resources or type_ == "aws_sns_topic", type_
        for address, values in resources.items():
            assert _names_the_key(env, address, values, attribute), address


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_table_state_machine_and_glue_security_configuration_use_the_key(env: str) -> None:
    ((table_address, table),) = planned_resources(env, "aws_dynamodb_table").items()
    sse = table["server_side_encryption"][0]
    assert sse["enabled"] is True
    assert (
        sse.get("kms_key_arn")
        or unknown_attributes(env, table_address)["server_side_encryption"][0]["kms_key_arn"]
    )
    ((machine_address, machine),) = planned_resources(env, "aws_sfn_state_machine").items()
    (encryption,) = machine["encryption_configuration"]
    assert encryption["type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert (
        encryption.get("kms_key_id")
        or unknown_attributes(env, machine_address)["encryption_configuration"][0]["kms_key_id"]
    )
    (config,) = planned_resources(env, "aws_glue_security_configuration").values()
    (encryption,) = config["encryption_configuration"]
    modes = {
        encryption["s3_encryption"][0]["s3_encryption_mode"],
        encryption["cloudwatch_encryption"][0]["cloudwatch_encryption_mode"],
        encryption["job_bookmarks_encryption"][0]["job_bookmarks_encryption_mode"],
    }
    assert modes == {"SSE-KMS", "CSE-KMS"}


def test_the_default_plan_creates_one_rotated_key_with_a_scoped_policy() -> None:
    (key,) = planned_resources("aws", "aws_kms_key").values()
    assert key["enable_key_rotation"] is True
    (alias,) = planned_resources("aws", "aws_kms_alias").values()
    assert alias["name"] == "alias/glue-audit"
    statements = {s["Sid"]: s for s in policy_documents("aws")["data.aws_iam_policy_document.kms[0]"]}
    assert json.loads(key["policy"])["Statement"] == list(
        policy_documents("aws")["data.aws_iam_policy_document.kms[0]"]
    )
    # The account administers the key but uses it only through the services or as a job's role.
    assert not {"kms:Decrypt", "kms:Encrypt"} & set(statements["AccountAdministersKey"]["Action"])
    assert statements["AccountPrincipalsThroughTheServices"]["Condition"]["StringEquals"]["kms:ViaService"]
    logs = statements["CloudWatchLogsForOwnLogGroups"]["Condition"]["ArnLike"][
        "kms:EncryptionContext:aws:logs:arn"
    ]
    assert all(":log-group:/aws" in arn and "glue-audit" in arn for arn in logs)
    for sid in ("EventBridgeForOwnRule", "CloudWatchAlarmsForOwnAlarms"):
        condition = statements[sid]["Condition"]
        assert condition["StringEquals"]["aws:SourceAccount"] == "123456789012"
        assert "glue-audit-" in condition["ArnLike"]["aws:SourceArn"]
    assert statements["StepFunctionsForOwnStateMachine"]["Condition"]["StringEquals"] == {
        "kms:EncryptionContext:aws:states:stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:glue-audit-scheduler"
    }


def test_a_given_key_is_used_and_none_is_created() -> None:
    assert planned_resources("aws-existing-vpc", "aws_kms_key") == {}
    (table,) = planned_resources("aws-existing-vpc", "aws_dynamodb_table").values()
    assert table["server_side_encryption"][0]["kms_key_arn"].endswith(
        "key/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    )
