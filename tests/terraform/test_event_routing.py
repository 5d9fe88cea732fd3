"""The ingest rule's event pattern routes Glue job events, and only those, to the queue.

Published through the embedded emulator's EventBridge: once with the stack as the test harness
provisions it (glue_audit.config.resources.GLUE_EVENT_PATTERN), once with the pattern of the rule each
environment's plan holds, which must route exactly the events the ingest code accepts.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from glue_audit.flows.ingest import InvalidGlueEvent, parse_event
from scripts.engine.stack import Stack, publish, start_call_event
from tests.terraform.plan import ENVIRONMENTS, planned_resources

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _entry(
    source: str, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None
) -> dict[str, Any]:
    return {
        "Source": source,
        "DetailType": detail_type,
        "Time": datetime.now(UTC).replace(microsecond=0),
        "Resources": resources or [],
        "Detail": json.dumps(detail),
    }


# As Glue sends them (EventBridge user guide, "Glue events"), in PutEvents entry form.
STATE_CHANGE_SUCCEEDED = _entry(
    "aws.glue",
    "Glue Job State Change",
    {
        "jobName": "glue-audit-output",
        "severity": "INFO",
        "state": "SUCCEEDED",
        "jobRunId": "jr_3c9c24f19d1d2d5f8d2a3c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091",
        "message": "Job run succeeded",
    },
)
RUN_STATUS = _entry(
    "aws.glue",
    "Glue Job Run Status",
    {
        "jobName": "glue-audit-input",
        "severity": "INFO",
        "notificationCondition": {"NotifyDelayAfter": 30.0},
        "state": "RUNNING",
        "jobRunId": "jr_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "message": "Job run exceeded the NotifyDelayAfter threshold of 30 minutes.",
    },
)
S3_OBJECT_CREATED = _entry(
    "aws.s3",
    "Object Created",
    {
        "version": "0",
        "bucket": {"name": "glue-audit-data"},
        "object": {"key": "landing/orders.json", "size": 1227},
        "reason": "PutObject",
    },
    resources=["arn:aws:s3:::glue-audit-data"],
)
CRAWLER_STATE_CHANGE = _entry(
    "aws.glue",
    "Glue Crawler State Change",
    {"crawlerName": "orders", "state": "Succeeded", "message": "Crawler Succeeded", "tablesCreated": "1"},
)

ROUTED = {"Glue Job State Change", "Glue Job Run Status"}


def received_detail_types(stack: Stack, queue_url: str, expected: int, timeout: float = 5.0) -> list[str]:
    """Detail types of the events in ``queue_url``: polls until ``expected`` arrived, then drains
    briefly to catch any that should not have."""
    sqs = stack.client("sqs")
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    empty_polls_after_expected = 0
    while time.monotonic() < deadline and empty_polls_after_expected < 3:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        for message in messages:
            seen.append(json.loads(message["Body"])["detail-type"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and len(seen) >= expected:
            empty_polls_after_expected += 1
        elif not messages:
            time.sleep(0.05)
    return sorted(seen)


EVENTS = [STATE_CHANGE_SUCCEEDED, RUN_STATUS, S3_OBJECT_CREATED, CRAWLER_STATE_CHANGE]


def test_stack_rule_routes_glue_job_events_only(stack: Stack) -> None:
    publish(stack, EVENTS)
    assert received_detail_types(stack, stack.queue_url, expected=2) == sorted(ROUTED)


def _delivered_body(entry: dict[str, Any]) -> str:
    """The event as EventBridge delivers it to the queue, for the PutEvents entry."""
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": ACCOUNT,
            "time": entry["Time"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": entry.get("Resources", []),
            "detail": json.loads(entry["Detail"]),
        }
    )


def _accepted_by_ingest(entry: dict[str, Any]) -> bool:
    try:
        parse_event(_delivered_body(entry), datetime.now(UTC))
    except InvalidGlueEvent:
        return False
    return True


def queue_of_planned_rule(stack: Stack, env: str, address: str) -> str:
    """A new queue behind the emulator's copy of the rule at ``address`` in ``env``'s plan."""
    rule = planned_resources(env, "aws_cloudwatch_event_rule")[address]
    name = f"planned-{uuid.uuid4().hex[:8]}"
    sqs, events = stack.client("sqs"), stack.client("events")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=name, EventPattern=rule["event_pattern"], State="ENABLED")
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return str(queue_url)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_planned_rule_routes_exactly_what_ingest_accepts(stack: Stack, env: str) -> None:
    queue_url = queue_of_planned_rule(stack, env, "module.ingest.aws_cloudwatch_event_rule.this")
    accepted = sorted(entry["DetailType"] for entry in EVENTS if _accepted_by_ingest(entry))
    assert accepted == sorted(ROUTED)
    publish(stack, EVENTS)
    assert received_detail_types(stack, queue_url, expected=len(accepted)) == accepted


# CloudTrail's records of Glue calls (EventBridge detail-type "AWS API Call via CloudTrail"): only a
# successful StartJobRun started a run.
RUN_ID = "jr_" + "4" * 64
STARTED = start_call_event("glue-audit-input", RUN_ID)
REFUSED = start_call_event("glue-audit-input", RUN_ID, error_code="ConcurrentRunsExceededException")
OTHER_CALL = start_call_event("glue-audit-input", RUN_ID)
OTHER_CALL["Detail"] = OTHER_CALL["Detail"].replace('"StartJobRun"', '"GetJobRun"')
API_CALLS = {"started": STARTED, "refused": REFUSED, "other-call": OTHER_CALL}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_planned_starts_rule_routes_successful_start_calls_that_ingest_accepts(
    stack: Stack, env: str
) -> None:
    queue_url = queue_of_planned_rule(stack, env, "module.ingest.aws_cloudwatch_event_rule.starts[0]")
    accepted = [kind for kind, entry in API_CALLS.items() if _accepted_by_ingest(entry)]
    assert accepted == ["started"]
    publish(stack, [*API_CALLS.values(), *EVENTS])
    routed = received_detail_types(stack, queue_url, expected=1)
    assert routed == [STARTED["DetailType"]]
