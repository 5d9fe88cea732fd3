"""Opt-in tier: the same client code as production against a real LocalStack.

Run it with ``make test-localstack``: that uses the LocalStack at ``LOCALSTACK_HOST`` if set (for
example ``localhost:4566`` after ``localstack start``), or starts a host-mode one for the run
(``scripts/localstack/run.py``). LocalStack's community edition serves no Glue and no Service
Quotas, so those two come from the embedded moto server, through the per-service endpoint
variables (``AWS_ENDPOINT_URL_GLUE``, ``AWS_ENDPOINT_URL_SERVICE_QUOTAS``) that botocore reads for
every client, the product's included; so does the Resource Groups Tagging API, which reads the
Glue jobs' tags (``AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API``). Everything else (DynamoDB, SQS, EventBridge, EC2, Step
Functions) is LocalStack's, through ``AWS_ENDPOINT_URL``.

Every test gets resources with unique names (a user's LocalStack is not reset between runs) and
deletes them afterwards.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import hcl2
import pytest

# The handlers read their settings and configure the models at import (a Lambda cold start).
# Import them before any fixture points the models at a test's table.
import functions.capacity.handler
import functions.ingest.handler
import functions.launcher.handler  # noqa: F401
from glue_audit.aws import clients as aws
from glue_audit.config.resources import ResourceNames
from glue_audit.ledger import models
from scripts.engine.emulator import Emulator
from scripts.engine.simulation import reset_handlers
from scripts.engine.stack import Stack, create_ledger_table
from tests.terraform.plan import planned_resources

ROOT = Path(__file__).resolve().parents[2]
LOCALSTACK_ENVIRONMENT = ROOT / "terraform" / "environments" / "localstack" / "main.tf"
# Services LocalStack does not serve in the community edition: the embedded moto server does.
# The Resource Groups Tagging API answers the tags of the service that holds the resources: the
# Glue jobs' tags (aws.declarations.TagReader) are moto's, so it is moto's too.
FROM_MOTO = ("GLUE", "SERVICE_QUOTAS", "RESOURCE_GROUPS_TAGGING_API")


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps HCL string literals quoted (``'"aws.glue"'``) and keys too."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if not str(k).startswith("__")}
    return value


def terraform_event_pattern() -> dict[str, Any]:
    """The event pattern of the ingest rule in the LocalStack environment's plan (`make tf-plan`):
    what Terraform would create, not a copy of it."""
    rule = planned_resources("localstack", "aws_cloudwatch_event_rule")[
        "module.ingest.aws_cloudwatch_event_rule.this"
    ]
    pattern: dict[str, Any] = json.loads(rule["event_pattern"])
    return pattern


def terraform_max_receive_count() -> int:
    """``ingest_max_receive_count`` the LocalStack environment gives the framework's module."""
    parsed = hcl2.load(LOCALSTACK_ENVIRONMENT.open())
    for block in _unquote(parsed.get("module", [])):
        if "glue_audit" in block:
            return int(block["glue_audit"]["ingest_max_receive_count"])
    raise AssertionError(f"{LOCALSTACK_ENVIRONMENT.relative_to(ROOT)} has no module.glue_audit")


@pytest.fixture(scope="session")
def localstack_endpoint() -> str:
    host = os.environ.get("LOCALSTACK_HOST")
    if not host:
        pytest.fail("the localstack tier needs LOCALSTACK_HOST (run it with `make test-localstack`)")
    return host if "://" in host else f"http://{host}"


@pytest.fixture(scope="session")
def moto_server(localstack_endpoint: str) -> Iterator[Emulator]:
    """The embedded moto server, for Glue, Service Quotas and the Glue jobs' tags; LocalStack for
    everything else."""
    emulator = Emulator().start()  # points AWS_ENDPOINT_URL at itself; restored on stop
    os.environ["AWS_ENDPOINT_URL"] = localstack_endpoint
    for service in FROM_MOTO:
        os.environ[f"AWS_ENDPOINT_URL_{service}"] = emulator.endpoint
    aws.client.cache_clear()
    try:
        yield emulator
    finally:
        for service in FROM_MOTO:
            os.environ.pop(f"AWS_ENDPOINT_URL_{service}", None)
        emulator.stop()
        aws.client.cache_clear()


def client(service: str) -> Any:
    """A client as production builds one: endpoints from the environment (see ``moto_server``)."""
    return boto3.client(service)


def provision_localstack(names: ResourceNames) -> Stack:
    """The ledger, the ingest queue with its DLQ and redrive, and the Glue events rule with the
    Terraform's own event pattern, on LocalStack."""
    clients = {name: client(name) for name in ("dynamodb", "sqs", "events", "ec2", "glue", "service-quotas")}
    create_ledger_table(clients["dynamodb"], names.ledger_table)
    models.configure(names.ledger_table)
    sqs = clients["sqs"]
    dlq_url = sqs.create_queue(QueueName=names.events_dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": terraform_max_receive_count()}
    queue_url = sqs.create_queue(
        QueueName=names.events_queue,
        # Visibility 0: a failed record is redelivered at once instead of after the deployed 360 s.
        Attributes={"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "0"},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = clients["events"]
    events.put_rule(
        Name=names.glue_events_rule, EventPattern=json.dumps(terraform_event_pattern()), State="ENABLED"
    )
    events.put_targets(Rule=names.glue_events_rule, Targets=[{"Id": "ingest-queue", "Arn": queue_arn}])
    return Stack(names=names, clients=clients, queue_url=queue_url, dlq_url=dlq_url)


def vpc_ids(stack: Stack) -> set[str]:
    return {vpc["VpcId"] for vpc in stack.client("ec2").describe_vpcs()["Vpcs"]}


def delete_vpcs(stack: Stack, vpcs: set[str]) -> None:
    """The VPCs a test made, with their subnets and the ENIs the Glue driver left in them."""
    ec2 = stack.client("ec2")
    for vpc in sorted(vpcs):
        in_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
        for eni in ec2.describe_network_interfaces(Filters=in_vpc)["NetworkInterfaces"]:
            ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
        for subnet in ec2.describe_subnets(Filters=in_vpc)["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vpc)


def teardown_localstack(stack: Stack) -> None:
    names = stack.names
    events = stack.client("events")
    events.remove_targets(Rule=names.glue_events_rule, Ids=["ingest-queue"])
    events.delete_rule(Name=names.glue_events_rule)
    for url in (stack.queue_url, stack.dlq_url):
        stack.client("sqs").delete_queue(QueueUrl=url)
    stack.client("dynamodb").delete_table(TableName=names.ledger_table)


@pytest.fixture
def names() -> ResourceNames:
    return ResourceNames(f"ga-{uuid.uuid4().hex[:8]}")  # unique: LocalStack is not reset


@pytest.fixture
def localstack_stack(
    moto_server: Emulator, names: ResourceNames, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    moto_server.reset()  # a fresh Glue for every test
    stack = provision_localstack(names)
    # The functions read LEDGER_TABLE at their first call, as deployed: this test's table.
    monkeypatch.setenv("LEDGER_TABLE", names.ledger_table)
    reset_handlers()
    vpcs_before = vpc_ids(stack)
    try:
        yield stack
    finally:
        delete_vpcs(stack, vpc_ids(stack) - vpcs_before)
        teardown_localstack(stack)
