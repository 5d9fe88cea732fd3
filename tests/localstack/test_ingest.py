"""The ingest path on LocalStack: Glue events put on EventBridge, routed by a rule with the
Terraform's own event pattern to SQS (redrive to the DLQ), consumed by the real ingest handler
in-process; GetJobRun answered by the embedded moto Glue."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.config.resources import REQUEST_ID_ARGUMENT, RUN_STATUS
from glue_audit.ledger.models import ACTIVE, RequestItem, RequestStatus
from glue_audit.ledger.writes import get_run
from scripts.engine.emulator import FakeLambdaContext
from scripts.engine.stack import (
    Stack,
    create_job,
    drain,
    eventbridge_body,
    glue_event,
    publish,
    queue_depth,
    send_bodies,
)
from tests.localstack.conftest import terraform_max_receive_count

pytestmark = pytest.mark.localstack

# Yesterday: ingest refuses event times more than EVENT_MAX_AGE_DAYS old or ahead of the clock.
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
CONTEXT = FakeLambdaContext("glue-audit-ingest")


def start_run(stack: Stack, job: str, request_id: str | None = None) -> str:
    arguments = {REQUEST_ID_ARGUMENT: request_id} if request_id else {}
    return str(stack.client("glue").start_job_run(JobName=job, Arguments=arguments)["JobRunId"])


def wait_for_depth(stack: Stack, queue_url: str, depth: int, timeout: float = 15.0) -> int:
    """LocalStack's EventBridge delivers to SQS asynchronously (moto's does it within PutEvents):
    poll the queue, bounded, until ``depth`` messages are there."""
    deadline = time.monotonic() + timeout
    seen = queue_depth(stack, queue_url)
    while seen < depth and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = queue_depth(stack, queue_url)
    return seen


def publish_and_wait(stack: Stack, entries: list[dict[str, Any]]) -> None:
    publish(stack, entries)
    assert wait_for_depth(stack, stack.queue_url, len(entries)) == len(entries)


def dlq_bodies(stack: Stack) -> list[str]:
    messages = (
        stack.client("sqs")
        .receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        .get("Messages", [])
    )
    return [m["Body"] for m in messages]


def test_a_terminal_event_reaches_the_ledger_enriched_and_marks_its_request(localstack_stack: Stack) -> None:
    create_job(localstack_stack, "orders-etl", worker_type="G.2X", workers=4)
    request = RequestItem(*RequestItem.key("req-1"), request_id="req-1", job_name="orders-etl", priority=50)
    request.set_status(RequestStatus.CLAIMED)
    request.save()
    run_id = start_run(localstack_stack, "orders-etl", "req-1")

    publish_and_wait(localstack_stack, [glue_event("orders-etl", run_id, "SUCCEEDED", T0)])
    result = drain(localstack_stack, ingest_handler.lambda_handler, CONTEXT)

    assert (result.processed, result.failed) == (1, 0)
    run = get_run("orders-etl", run_id)
    assert run is not None and run.state == "SUCCEEDED" and run.enriched
    assert run.state_at == T0  # the event's own time, as EventBridge delivered it
    assert (run.worker_type, run.number_of_workers, run.dpus) == ("G.2X", 4, 8.0)
    assert (run.request_id, run.origin) == ("req-1", "framework")
    stored = RequestItem.get(*RequestItem.key("req-1"))
    assert (stored.status, stored.run_id, stored.run_state) == (RequestStatus.LAUNCHED, run_id, "SUCCEEDED")
    assert stored.active_pk is None


def test_duplicated_and_late_events_leave_the_newest_state(localstack_stack: Stack) -> None:
    create_job(localstack_stack, "dup")
    run_id = start_run(localstack_stack, "dup")
    publish_and_wait(
        localstack_stack,
        [
            glue_event("dup", run_id, "SUCCEEDED", T0 + timedelta(minutes=9)),
            glue_event("dup", run_id, "SUCCEEDED", T0 + timedelta(minutes=9)),
            # A delay notification sent while the run was going, delivered after it ended.
            glue_event("dup", run_id, "RUNNING", T0 + timedelta(minutes=5), detail_type=RUN_STATUS),
            glue_event("dup", run_id, "SUCCEEDED", T0 + timedelta(minutes=9)),
        ],
    )
    result = drain(localstack_stack, ingest_handler.lambda_handler, CONTEXT)

    assert (result.processed, result.failed) == (4, 0)
    run = get_run("dup", run_id)
    assert run is not None
    assert (run.state, run.state_at) == ("SUCCEEDED", T0 + timedelta(minutes=9))
    assert run.delay_notified_at == T0 + timedelta(minutes=5)
    assert run.active_pk != ACTIVE
    assert run.version == 2  # the run, then the late notification; the duplicates wrote nothing


def test_the_rule_routes_only_glue_job_events(localstack_stack: Stack) -> None:
    create_job(localstack_stack, "j")
    run_id = start_run(localstack_stack, "j")  # a real run: ingest drops events of runs Glue lacks
    publish(
        localstack_stack,
        [
            {**glue_event("j", run_id, "SUCCEEDED", T0), "DetailType": "Glue Crawler State Change"},
            {**glue_event("j", run_id, "SUCCEEDED", T0), "Source": "custom.glue"},
            glue_event("j", run_id, "FAILED", T0),
        ],
    )
    assert wait_for_depth(localstack_stack, localstack_stack.queue_url, 1) == 1
    # Whatever else the rule let through would arrive with it: give it a bounded second more.
    assert wait_for_depth(localstack_stack, localstack_stack.queue_url, 2, timeout=1.0) == 1
    result = drain(localstack_stack, ingest_handler.lambda_handler, CONTEXT)
    assert (result.processed, result.failed) == (1, 0)
    run = get_run("j", run_id)
    assert run is not None and run.state == "FAILED"  # the one Glue job event, not the other two


def test_bad_messages_end_in_the_dlq_after_the_redrive_count_and_the_good_one_is_recorded(
    localstack_stack: Stack,
) -> None:
    create_job(localstack_stack, "good")
    run_id = start_run(localstack_stack, "good")
    bad = ["{this is not json", eventbridge_body("j", None, "SUCCEEDED", T0)]
    send_bodies(localstack_stack, [bad[0], eventbridge_body("good", run_id, "FAILED", T0), bad[1]])

    result = drain(localstack_stack, ingest_handler.lambda_handler, CONTEXT)

    receives = terraform_max_receive_count()
    assert result.failed == 2 * receives  # each bad record is tried maxReceiveCount times
    assert queue_depth(localstack_stack, localstack_stack.queue_url) == 0
    assert sorted(dlq_bodies(localstack_stack)) == sorted(bad)  # kept as sent: nothing is lost
    run = get_run("good", run_id)
    assert run is not None and run.state == "FAILED"
