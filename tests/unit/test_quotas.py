"""Quotas come from Service Quotas, then AWS defaults, then configuration (botocore Stubber)."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from glue_audit.aws.quotas import QUOTA_CODES, read_quotas
from glue_audit.config.settings import Settings

SETTINGS = Settings(ledger_table="t", fallback_max_concurrent_runs=7, fallback_max_dpus=99.0)


def quota(code: str, value: float) -> dict[str, object]:
    return {"Quota": {"ServiceCode": "glue", "QuotaCode": code, "Value": value}}


def client() -> tuple[object, Stubber]:
    sq = boto3.client(
        "service-quotas", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return sq, Stubber(sq)


def test_applied_values_win_and_the_defaults_are_not_asked() -> None:
    sq, stub = client()
    for code in QUOTA_CODES.values():
        stub.add_response("get_service_quota", quota(code, 200.0), {"ServiceCode": "glue", "QuotaCode": code})
    with stub:
        quotas = read_quotas(sq, SETTINGS)
    stub.assert_no_pending_responses()
    assert quotas.get("max_concurrent_runs").value == 200.0
    assert {q.source for q in quotas.values.values()} == {"service-quotas"}


def test_missing_applied_values_fall_back_to_aws_defaults_then_configuration() -> None:
    sq, stub = client()
    answered = {"L-5E4153CA": 2000.0}  # only the account's concurrent runs were raised
    for code in QUOTA_CODES.values():
        if code in answered:
            stub.add_response("get_service_quota", quota(code, answered[code]))
        else:
            stub.add_client_error("get_service_quota", "NoSuchResourceException")
    stub.add_response(
        "list_aws_default_service_quotas",
        {"Quotas": [quota("L-08F3B322", 1000.0)["Quota"], quota("L-611FDDE4", 1000.0)["Quota"]]},
        {"ServiceCode": "glue"},
    )
    with stub:
        quotas = read_quotas(sq, SETTINGS)
    assert (quotas.get("max_concurrent_runs").value, quotas.get("max_concurrent_runs").source) == (
        2000.0,
        "service-quotas",
    )
    assert (quotas.get("max_dpus").value, quotas.get("max_dpus").source) == (1000.0, "aws-default")
    assert (quotas.get("max_job_concurrent_runs").source, quotas.get("max_connections").source) == (
        "config",
        "unknown",
    )
    assert quotas.budget("max_concurrent_runs", 0.9) == 1800
    assert quotas.budget_float("max_dpus", 0.9) == 900.0


def test_access_denied_everywhere_still_gives_the_configured_safe_values() -> None:
    sq, stub = client()
    for _ in QUOTA_CODES:
        stub.add_client_error("get_service_quota", "AccessDeniedException")
    stub.add_client_error("list_aws_default_service_quotas", "AccessDeniedException")
    with stub:
        quotas = read_quotas(sq, SETTINGS)
    assert quotas.get("max_concurrent_runs").value == 7
    assert quotas.get("max_dpus").value == 99.0
    assert quotas.budget("max_concurrent_runs", 0.5) == 3  # rounded down: a budget never exceeds its quota
