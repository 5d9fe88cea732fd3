"""Contracts read from what Terraform plans (tests/terraform/plan.py), not from the HCL text.

Examples for the migration of tests/terraform/test_contracts.py onto the plan: the values here are
the ones `terraform plan` resolved through variables, defaults, for_each and modules, checked against
the real hashicorp/aws schema.
"""

from __future__ import annotations

import json

import pytest

from glue_audit.config.permissions import FUNCTION_ACTIONS
from glue_audit.ledger.models import LedgerItem
from tests.terraform.plan import ENVIRONMENTS, plan, planned_resources


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_both_environments_plan_every_resource_for_creation(env: str) -> None:
    document = plan(env)
    assert document["errored"] is False and document["applyable"] is True
    changes = [c for c in document["resource_changes"] if c["mode"] == "managed"]
    assert len(changes) > 50
    assert {tuple(c["change"]["actions"]) for c in changes} == {("create",)}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_ledger_table_and_indexes_equal_the_pynamodb_model(env: str) -> None:
    (table,) = planned_resources(env, "aws_dynamodb_table").values()
    schema = LedgerItem._get_schema()
    keys = {k["KeyType"]: k["AttributeName"] for k in schema["key_schema"]}
    assert (table["hash_key"], table["range_key"]) == (keys["HASH"], keys["RANGE"])
    assert {(a["name"], a["type"]) for a in table["attribute"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]
    }
    planned_indexes = {
        gsi["name"]: (gsi["hash_key"], gsi["range_key"], gsi["projection_type"])
        for gsi in table["global_secondary_index"]
    }
    model_indexes = {}
    for index in schema["global_secondary_indexes"]:
        index_keys = {k["KeyType"]: k["AttributeName"] for k in index["key_schema"]}
        model_indexes[index["index_name"]] = (
            index_keys["HASH"],
            index_keys.get("RANGE"),
            index["projection"]["ProjectionType"],
        )
    assert planned_indexes == model_indexes
    assert table["local_secondary_index"] == []


def test_lambda_trust_policy_is_the_json_the_provider_renders() -> None:
    expected = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            }
        ],
    }
    roles = planned_resources("aws", "aws_iam_role")
    for function in FUNCTION_ACTIONS:
        trust = roles[f'module.functions.aws_iam_role.this["{function}"]']["assume_role_policy"]
        assert trust == json.dumps(expected, indent=2), function
