"""The ledger on LocalStack's DynamoDB (the DynamoDB Local engine): the table as the models declare
it, conditional writes, the sparse indexes and the monotonic merge."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from glue_audit.domain.states import RunState
from glue_audit.flows import submission as requests
from glue_audit.ledger import models
from glue_audit.ledger.models import ACTIVE, PENDING, LedgerItem, RequestItem, RequestStatus, RunItem
from glue_audit.ledger.writes import Observation, get_run, is_condition_failure, record_observation
from scripts.engine.emulator import Emulator
from scripts.engine.stack import Stack, create_job, create_ledger_table

pytestmark = pytest.mark.localstack

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["localstack", "moto"])
def dynamodb(
    request: pytest.FixtureRequest, localstack_endpoint: str, moto_server: Emulator
) -> Iterator[Any]:
    """A DynamoDB client on LocalStack, then on the embedded moto server: the code relies on what
    both accept."""
    endpoint = localstack_endpoint if request.param == "localstack" else moto_server.endpoint
    yield boto3.client("dynamodb", endpoint_url=endpoint)


def test_the_ledger_table_is_created_from_the_models_schema(dynamodb: Any) -> None:
    """DynamoDB wants each key schema as HASH then RANGE (CreateTable's KeySchema). PynamoDB lists
    the ``history`` index's keys in attribute order (RANGE first): moto took that, DynamoDB Local
    rejects it, so ``models.table_schema`` orders them."""
    table = f"ga-{uuid.uuid4().hex[:8]}-ledger"
    create_ledger_table(dynamodb, table)
    try:
        described = dynamodb.describe_table(TableName=table)["Table"]
        assert described["TableStatus"] == "ACTIVE"
        indexes = {i["IndexName"]: i["KeySchema"] for i in described["GlobalSecondaryIndexes"]}
        assert set(indexes) == {"active", "pending", "history", "by_request", "by_status"}
        for keys in [described["KeySchema"], *indexes.values()]:
            assert [k["KeyType"] for k in keys] == ["HASH", "RANGE"]
        assert [k["AttributeName"] for k in indexes["history"]] == ["job_name", "history_sk"]
    finally:
        dynamodb.delete_table(TableName=table)


def test_localstack_rejects_a_key_schema_with_range_first(localstack_endpoint: str) -> None:
    """Why the order matters: the shape PynamoDB gave is refused by the real DynamoDB engine."""
    dynamodb = boto3.client("dynamodb", endpoint_url=localstack_endpoint)
    with pytest.raises(ClientError, match="Hash Key must be specified first"):
        dynamodb.create_table(
            TableName=f"ga-{uuid.uuid4().hex[:8]}-bad",
            KeySchema=[
                {"AttributeName": "sk", "KeyType": "RANGE"},
                {"AttributeName": "pk", "KeyType": "HASH"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )


def test_a_stale_writer_loses_the_conditional_write_and_nothing_is_overwritten(
    localstack_stack: Stack,
) -> None:
    record_observation(Observation("orders", "jr_1", RunState.RUNNING, T0))
    first, second = get_run("orders", "jr_1"), get_run("orders", "jr_1")
    assert first is not None and second is not None
    first.state_detail = "writer one"
    first.save()
    second.state_detail = "writer two"
    with pytest.raises(PutError) as caught:
        second.save()  # read before writer one's save: its version condition fails
    assert is_condition_failure(caught.value)
    stored = get_run("orders", "jr_1")
    assert stored is not None and stored.state_detail == "writer one" and stored.version == 2


def test_the_active_index_holds_only_active_runs_and_live_claims(localstack_stack: Stack) -> None:
    record_observation(Observation("orders", "jr_running", RunState.RUNNING, T0))
    record_observation(Observation("orders", "jr_starting", RunState.STARTING, T0))
    record_observation(Observation("orders", "jr_done", RunState.SUCCEEDED, T0))
    record_observation(Observation("orders", "jr_late", RunState.RUNNING, T0))
    record_observation(Observation("orders", "jr_late", RunState.FAILED, T0 + timedelta(minutes=3)))
    claim = RequestItem(
        *RequestItem.key("req-claimed"), request_id="req-claimed", job_name="orders", priority=50
    )
    claim.set_status(RequestStatus.CLAIMED)
    claim.save()

    active = {(type(i).__name__, i.sk) for i in LedgerItem.active_index.query(ACTIVE)}
    assert active == {
        ("RunItem", RunItem.key("orders", "jr_running")[1]),
        ("RunItem", RunItem.key("orders", "jr_starting")[1]),
        ("RequestItem", "REQUEST"),
    }
    claim.set_status(RequestStatus.LAUNCHED)
    claim.save()
    assert {i.sk for i in LedgerItem.active_index.query(ACTIVE)} == {
        RunItem.key("orders", "jr_running")[1],
        RunItem.key("orders", "jr_starting")[1],
    }


def test_the_pending_index_orders_by_priority_then_age_and_drops_what_leaves_pending(
    localstack_stack: Stack,
) -> None:
    create_job(localstack_stack, "orders")  # Glue (moto) gives the job's defaults
    defaults = requests.job_defaults(localstack_stack.client("glue"), "orders")

    def submit(priority: int, at: datetime) -> str:
        items = requests.build_requests("orders", [{}], defaults=defaults, priority=priority, now=at)
        requests.write_requests(items)
        return items[0].request_id

    old_low = submit(10, T0)
    new_high = submit(90, T0 + timedelta(minutes=5))
    old_high = submit(90, T0)
    cancelled = submit(50, T0)
    requests.cancel(cancelled)

    pending = [i.request_id for i in LedgerItem.pending_index.query(PENDING)]
    assert pending == [old_high, new_high, old_low]
    assert requests.get_request(cancelled).status == RequestStatus.CANCELLED


def test_duplicate_and_out_of_order_observations_keep_the_newest_state(localstack_stack: Stack) -> None:
    late = [
        Observation("orders", "jr_m", RunState.SUCCEEDED, T0 + timedelta(minutes=9)),
        Observation("orders", "jr_m", RunState.SUCCEEDED, T0 + timedelta(minutes=9)),
        Observation("orders", "jr_m", RunState.RUNNING, T0 + timedelta(minutes=2)),
        Observation("orders", "jr_m", RunState.STARTING, T0),
    ]
    changed = [record_observation(obs).changed for obs in late]
    run = get_run("orders", "jr_m")
    assert run is not None
    assert (run.state, run.state_at) == ("SUCCEEDED", T0 + timedelta(minutes=9))
    assert run.earliest_observed_at == T0  # the older observations still teach when it was first seen
    assert changed == [True, False, True, True]
    assert run.active_pk != ACTIVE


def test_the_models_point_at_the_test_table(localstack_stack: Stack) -> None:
    """Guard for the tier itself: the rows above went to this test's table on LocalStack."""
    record_observation(Observation("orders", "jr_where", RunState.RUNNING, T0))
    item = localstack_stack.client("dynamodb").get_item(
        TableName=localstack_stack.names.ledger_table,
        Key={k: {"S": v} for k, v in zip(("pk", "sk"), RunItem.key("orders", "jr_where"), strict=True)},
    )
    assert item["Item"]["state"]["S"] == "RUNNING"
    assert models.LedgerItem.Meta.table_name == localstack_stack.names.ledger_table
