"""The stand-in provider's answers (scripts/terraform_offline), without terraform: the policy
documents it renders and the plans it makes must be the ones hashicorp/aws gives."""

from __future__ import annotations

import json
import re

from scripts.terraform_offline import iam_policy_document, planning
from scripts.terraform_offline.provider import SCHEMA_PATH, load_schema
from tests.terraform.plan import ROOT


def test_policy_document_lists_are_reverse_sorted_and_single_values_are_strings() -> None:
    rendered = iam_policy_document.render(
        {
            "statement": [
                {
                    "sid": "",
                    "actions": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
                    "resources": ["arn:aws:dynamodb:eu-west-1:123456789012:table/t"],
                    "principals": [
                        {"type": "AWS", "identifiers": ["arn:aws:iam::1:root", "arn:aws:iam::2:root"]}
                    ],
                    "condition": [
                        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["1", "2"]}
                    ],
                }
            ]
        }
    )
    statement = json.loads(rendered["json"])["Statement"][0]
    assert list(statement) == ["Effect", "Action", "Resource", "Principal", "Condition"]
    assert statement["Action"] == ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:GetItem"]
    assert statement["Resource"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/t"
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::2:root", "arn:aws:iam::1:root"]}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ["2", "1"]}}
    assert rendered["minified_json"] == json.dumps(json.loads(rendered["json"]), separators=(",", ":"))


def test_policy_document_wildcard_principal_sid_override_and_go_escaping() -> None:
    rendered = iam_policy_document.render(
        {
            "policy_id": "p",
            "statement": [
                {
                    "sid": "A",
                    "effect": "Deny",
                    "actions": ["s3:*"],
                    "principals": [{"type": "*", "identifiers": ["*"]}],
                },
                {"sid": "B", "actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/<x>&"]},
            ],
            "override_policy_documents": [
                json.dumps({"Statement": [{"Sid": "B", "Effect": "Deny", "Action": "*"}]})
            ],
        }
    )
    document = json.loads(rendered["json"])
    assert document["Id"] == "p"
    assert document["Statement"][0] == {"Sid": "A", "Effect": "Deny", "Action": "s3:*", "Principal": "*"}
    assert document["Statement"][1] == {"Sid": "B", "Effect": "Deny", "Action": "*"}
    escaped = iam_policy_document.render(
        {"statement": [{"resources": ["a<b>&c"], "actions": ["s3:GetObject"]}]}
    )
    assert "a\\u003cb\\u003e\\u0026c" in escaped["json"]


def test_a_create_plan_leaves_computed_attributes_unknown_inside_nested_blocks() -> None:
    schema = load_schema()
    table = schema["resource_schemas"]["aws_dynamodb_table"]["block"]
    config = {name: None for name in table["attributes"]} | {
        "name": "t",
        "tags": {"Team": "x"},
        "replica": [{"region_name": "eu-west-2", "kms_key_arn": None}],
    }
    provider = planning.ProviderState.from_config(
        {"region": "eu-west-1", "default_tags": [{"tags": {"Project": "p"}}]}
    )
    planned = planning.plan_resource(table, config, provider)
    assert planning.is_unknown(planned["arn"]) and planning.is_unknown(planned["id"])
    assert planned["restore_date_time"] is None  # optional, not computed: stays as configured
    replica = planned["replica"][0]
    assert planning.is_unknown(replica["arn"]) and planning.is_unknown(replica["stream_arn"])
    assert replica["kms_key_arn"] is None
    assert planned["region"] == "eu-west-1"
    assert planned["tags_all"] == {"Project": "p", "Team": "x"}


def test_data_sources_answer_known_placeholders_for_the_configured_region() -> None:
    schema = load_schema()["data_source_schemas"]
    provider = planning.ProviderState.from_config({"region": "cn-north-1"})
    partition = planning.read_data_source("aws_partition", schema["aws_partition"]["block"], {}, provider)
    assert (partition["partition"], partition["dns_suffix"]) == ("aws-cn", "amazonaws.com.cn")
    zones = planning.read_data_source(
        "aws_availability_zones", schema["aws_availability_zones"]["block"], {"state": "available"}, provider
    )
    assert zones["names"] == ["cn-north-1a", "cn-north-1b", "cn-north-1c"]
    assert all(planning.wholly_known(value) for value in zones.values())
    identity = planning.read_data_source(
        "aws_caller_identity", schema["aws_caller_identity"]["block"], {}, provider
    )
    assert identity["account_id"] == "123456789012"


def test_the_snapshot_has_every_type_the_terraform_uses() -> None:
    # A new resource or data source type needs a regenerated snapshot (README in scripts/terraform_offline).
    schema = load_schema()
    used = {"resource": set(), "data": set()}
    for tf in (ROOT / "terraform").rglob("*.tf"):
        for kind, type_name in re.findall(
            r'^(resource|data) "(aws_[a-z0-9_]+)"', tf.read_text(), re.MULTILINE
        ):
            used[kind].add(type_name)
    missing = (used["resource"] - set(schema["resource_schemas"])) | (
        used["data"] - set(schema["data_source_schemas"])
    )
    assert not missing, (
        f"run `.venv/bin/python -m scripts.terraform_offline.generate_schema` for {sorted(missing)}"
    )
    snapshot = json.loads(SCHEMA_PATH.read_text())["generated_from"]
    assert snapshot["provider_version"].startswith("6."), (
        "the environments require hashicorp/aws >= 6.0.0, < 7.0.0"
    )
