"""Provision the emulator with the stack as the Terraform declares it, and helpers to drive it.

Names come from ``glue_audit.config.resources``, the table from the PynamoDB models and the event
pattern from the same constant the Terraform ``ingest`` module is checked against.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from localstack_client.config import get_service_ports
from localstack_client.session import Session

from glue_audit.config.resources import (
    API_CALL,
    GLUE_API_CALL_PATTERN,
    GLUE_API_EVENT_SOURCE,
    GLUE_EVENT_PATTERN,
    GLUE_EVENT_SOURCE,
    START_JOB_RUN,
    STATE_CHANGE,
    ResourceNames,
)
from glue_audit.ledger import models

# Matches the ingest module's redrive policy: after this many receives a message goes to the DLQ.
MAX_RECEIVE_COUNT = 3


def session() -> Session:
    """A boto3-like session for AWS clients in tests: the emulator, or LocalStack when given."""
    return Session(aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing")


@dataclass
class Stack:
    names: ResourceNames
    clients: dict[str, Any]
    queue_url: str
    dlq_url: str

    def client(self, service: str) -> Any:
        if service not in self.clients:
            if service in get_service_ports():
                self.clients[service] = session().client(service)
            else:  # localstack_client lacks a few services; boto3 follows AWS_ENDPOINT_URL all the same
                self.clients[service] = boto3.client(service)
        return self.clients[service]


def create_ledger_table(dynamodb: Any, table_name: str) -> None:
    dynamodb.create_table(TableName=table_name, **models.table_schema())
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )


def provision(names: ResourceNames | None = None) -> Stack:
    names = names or ResourceNames()
    sess = session()
    clients = {name: sess.client(name) for name in ("dynamodb", "sqs", "events", "glue", "ec2")}
    create_ledger_table(clients["dynamodb"], names.ledger_table)
    models.configure(names.ledger_table)

    sqs = clients["sqs"]
    dlq_url = sqs.create_queue(QueueName=names.events_dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=names.events_queue,
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
            "VisibilityTimeout": "0",  # tests redeliver failed records at once instead of waiting
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    events = clients["events"]
    events.put_rule(Name=names.glue_events_rule, EventPattern=json.dumps(GLUE_EVENT_PATTERN), State="ENABLED")
    events.put_targets(Rule=names.glue_events_rule, Targets=[{"Id": "ingest-queue", "Arn": queue_arn}])
    events.put_rule(
        Name=names.glue_api_calls_rule, EventPattern=json.dumps(GLUE_API_CALL_PATTERN), State="ENABLED"
    )
    events.put_targets(Rule=names.glue_api_calls_rule, Targets=[{"Id": "ingest-queue", "Arn": queue_arn}])
    return Stack(names=names, clients=clients, queue_url=queue_url, dlq_url=dlq_url)


def glue_event(
    job_name: str,
    run_id: str,
    state: str,
    time: datetime | None = None,
    detail_type: str = STATE_CHANGE,
    message: str = "",
) -> dict[str, Any]:
    """A Glue job event as EventBridge delivers it (the ``PutEvents`` entry form)."""
    time = time or datetime.now(UTC)
    return {
        "Source": GLUE_EVENT_SOURCE,
        "DetailType": detail_type,
        "Time": time,
        "Detail": json.dumps(
            {"jobName": job_name, "severity": "INFO", "state": state, "jobRunId": run_id, "message": message}
        ),
    }


def start_call_event(
    job_name: str, run_id: str, time: datetime | None = None, error_code: str | None = None
) -> dict[str, Any]:
    """A StartJobRun call as CloudTrail delivers it to EventBridge (``PutEvents`` entry form): the
    record's request and response members in lower camel case, ``errorCode`` when it failed."""
    time = time or datetime.now(UTC)
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/etl/someone"},
        "eventTime": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": GLUE_API_EVENT_SOURCE,
        "eventName": START_JOB_RUN,
        "awsRegion": "us-east-1",
        "requestParameters": {"jobName": job_name},
        "responseElements": None if error_code else {"jobRunId": run_id},
        "eventType": "AwsApiCall",
        "managementEvent": True,
    }
    if error_code:
        detail["errorCode"] = error_code
        detail["errorMessage"] = f"{error_code} (recorded by CloudTrail)"
    return {"Source": GLUE_EVENT_SOURCE, "DetailType": API_CALL, "Time": time, "Detail": json.dumps(detail)}


def publish(stack: Stack, entries: list[dict[str, Any]]) -> None:
    """PutEvents in chunks of 10 (the API limit); fails loudly if EventBridge rejects an entry."""
    events = stack.client("events")
    for start in range(0, len(entries), 10):
        response = events.put_events(Entries=entries[start : start + 10])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents rejected entries: {response['Entries']}")


def sqs_lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping gives the function for ``messages``."""
    records = []
    for message in messages:
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items()},
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


@dataclass
class DrainResult:
    batches: int
    processed: int
    failed: int


def drain(
    stack: Stack,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    context: Any,
    max_batches: int = 10_000,
) -> DrainResult:
    """Play the SQS event source mapping: receive batches of 10, call the handler, delete what it
    did not report as failed. Failed records come back (visibility 0) until the redrive policy
    moves them to the DLQ. Bounded by ``max_batches``."""
    sqs = stack.client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    batches = processed = failed = 0
    for _ in range(max_batches):
        messages = sqs.receive_message(
            QueueUrl=stack.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            break
        response = handler(sqs_lambda_event(messages, queue_arn), context)
        failures = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failures]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=stack.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        batches += 1
        processed += len(messages)
        failed += len(failures)
    return DrainResult(batches, processed, failed)


def queue_depth(stack: Stack, queue_url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def eventbridge_body(
    job_name: str | None,
    run_id: str | None,
    state: str,
    time: datetime,
    detail_type: str = STATE_CHANGE,
    source: str = GLUE_EVENT_SOURCE,
) -> str:
    """The JSON body EventBridge puts on the SQS queue for a Glue job event."""
    detail: dict[str, Any] = {"severity": "INFO", "state": state, "message": ""}
    if job_name is not None:
        detail["jobName"] = job_name
    if run_id is not None:
        detail["jobRunId"] = run_id
    return json.dumps(
        {
            "version": "0",
            "id": f"{run_id}-{state}-{time.timestamp()}",
            "detail-type": detail_type,
            "source": source,
            "account": "123456789012",
            "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def send_bodies(stack: Stack, bodies: list[str]) -> None:
    """Put raw message bodies on the ingest queue, in order (as a misbehaving producer could)."""
    sqs = stack.client("sqs")
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        sqs.send_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
        )


def create_job(
    stack: Stack,
    name: str,
    worker_type: str = "G.1X",
    workers: int = 5,
    max_concurrent_runs: int = 1,
    connection: str | None = None,
    tags: dict[str, str] | None = None,
    arguments: dict[str, str] | None = None,
) -> None:
    """A Glue job as the estate has it; ``arguments`` replaces the default arguments (job metrics on)."""
    job: dict[str, Any] = {
        "Name": name,
        "Role": "arn:aws:iam::123456789012:role/glue-job",
        "Command": {"Name": "glueetl", "ScriptLocation": f"s3://scripts/{name}.py", "PythonVersion": "3"},
        "GlueVersion": "4.0",
        "WorkerType": worker_type,
        "NumberOfWorkers": workers,
        "ExecutionProperty": {"MaxConcurrentRuns": max_concurrent_runs},
        "DefaultArguments": {"--enable-metrics": "true"} if arguments is None else arguments,
    }
    if connection:
        job["Connections"] = {"Connections": [connection]}
    if tags:
        job["Tags"] = tags
    stack.client("glue").create_job(**job)
