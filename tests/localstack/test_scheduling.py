"""The capacity and launcher handlers against LocalStack's DynamoDB and EC2, with Glue (and
Service Quotas) from the embedded moto server: a subnet that fills up, exactly one run per
request, and the capacity snapshot that expires by TTL."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

import functions.capacity.handler as capacity_handler
import functions.launcher.handler as launcher_handler
from glue_audit.config.resources import REQUEST_ID_ARGUMENT
from glue_audit.ledger import models
from glue_audit.ledger.models import RequestItem, RequestStatus, SnapshotItem
from scripts.engine.emulator import FakeLambdaContext
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import JobSpec, build_estate, submit_requests
from scripts.engine.simulation import handlers_configured
from scripts.engine.stack import Stack

pytestmark = pytest.mark.localstack

SUBNET = "10.20.1.0/27"  # 32 addresses, 27 usable on AWS (and on LocalStack's EC2)
ORDERS = JobSpec("orders", "G.1X", 4, "a", max_concurrent_runs=5)  # 4 DPUs, 4 + 2 = 6 IPs per run
RESERVE = 8  # 27 - 8 = 19 IPs for the framework: three runs of 6 fit, a fourth does not


@pytest.fixture
def settings(localstack_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handlers' settings (read at their cold start) for this test's table, no IP lag window
    (the ENIs below are visible at once), a known IP reserve."""
    tuned = replace(
        capacity_handler.settings(),
        ledger_table=localstack_stack.names.ledger_table,
        ip_reserve_per_subnet=RESERVE,
        ip_lag_seconds=0,
    )
    with handlers_configured(tuned):
        yield tuned


def tick() -> dict[str, Any]:
    result: dict[str, Any] = capacity_handler.lambda_handler({}, FakeLambdaContext("glue-audit-capacity"))
    return result


def launch(planned: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = launcher_handler.lambda_handler(
        planned, FakeLambdaContext("glue-audit-launcher")
    )
    return result


def available_ips(stack: Stack, subnet_id: str) -> int:
    [subnet] = stack.client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    return int(subnet["AvailableIpAddressCount"])


def test_a_filling_subnet_defers_the_fourth_run_and_no_request_starts_twice(
    localstack_stack: Stack, settings: Any
) -> None:
    estate = build_estate(localstack_stack, {"a": SUBNET}, [ORDERS])
    subnet_id = estate.subnets["a"]
    assert available_ips(localstack_stack, subnet_id) == 27
    request_ids = submit_requests(localstack_stack, "orders", 4)

    first = tick()
    planned = first["launches"]
    assert len(planned) == 3
    assert first["snapshot"]["deferred"] == {"subnet_ips": 1}
    assert first["snapshot"]["quotas"]["max_concurrent_runs"]["source"] == "config"  # no Glue quotas served
    assert [launch(p)["outcome"] for p in planned] == ["started"] * 3

    glue = localstack_stack.client("glue")
    runs = glue.get_job_runs(JobName="orders")["JobRuns"]
    assert sorted(r["Arguments"][REQUEST_ID_ARGUMENT] for r in runs) == sorted(
        p["request_id"] for p in planned
    )

    with GlueDriver(localstack_stack, dict(estate.job_subnets)) as driver:
        driver.discover(datetime.now(UTC))  # Glue takes one ENI per worker + 2 in LocalStack's subnet
        assert available_ips(localstack_stack, subnet_id) == 27 - 18

        second = tick()
        assert second["launches"] == []
        [waiting] = [r for r in request_ids if r not in {p["request_id"] for p in planned}]
        request = RequestItem.get(*RequestItem.key(waiting))
        assert request.status == RequestStatus.PENDING
        assert request.last_reason == f"subnet {subnet_id} has 9 free IPs (reserve {RESERVE}), needs 6"

        # A resent launch (a Step Functions retry) starts nothing.
        assert launch(planned[0])["outcome"] == "already-launched"
        assert len(glue.get_job_runs(JobName="orders")["JobRuns"]) == 3

        # One run ends and gives its IPs back: the next tick launches the fourth request.
        driver.finish(driver.active()[0], "SUCCEEDED", datetime.now(UTC), publish_event=False)
        assert available_ips(localstack_stack, subnet_id) == 27 - 12
        third = tick()
        assert [p["request_id"] for p in third["launches"]] == [waiting]
        assert launch(third["launches"][0])["outcome"] == "started"
    assert len(glue.get_job_runs(JobName="orders")["JobRuns"]) == 4
    for request_id in request_ids:
        assert RequestItem.get(*RequestItem.key(request_id)).status == RequestStatus.LAUNCHED


def test_the_capacity_snapshot_carries_a_ttl_dynamodb_can_expire(
    localstack_stack: Stack, settings: Any
) -> None:
    dynamodb = localstack_stack.client("dynamodb")
    table = localstack_stack.names.ledger_table
    # As the Terraform ledger module declares it.
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": models.TTL_ATTRIBUTE}
    )
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", models.TTL_ATTRIBUTE)

    before = time.time()
    result = tick()
    snapshot = next(iter(SnapshotItem.query(f"SNAPSHOT#{datetime.now(UTC):%Y-%m-%d}")))
    assert snapshot.data["tick_id"] == result["tick_id"]
    raw = dynamodb.get_item(TableName=table, Key={"pk": {"S": snapshot.pk}, "sk": {"S": snapshot.sk}})["Item"]
    # DynamoDB expires an item only if the attribute is a Number of epoch seconds.
    expires = float(raw[models.TTL_ATTRIBUTE]["N"])
    days = settings.snapshot_ttl_days
    assert before + days * 86400 - 5 <= expires <= time.time() + days * 86400 + 5
