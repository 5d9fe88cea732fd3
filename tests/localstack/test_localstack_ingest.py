"""Ingest against LocalStack: delay notifications recorded, bad records dead-lettered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.ledger import get_run
from glue_audit.resources import RUN_STATUS
from tests.support.emulator import FakeLambdaContext
from tests.support.stack import Stack, drain, glue_event, publish, queue_depth, send_bodies

pytestmark = pytest.mark.localstack


def test_delay_notification_and_bad_record_on_localstack(localstack_stack: Stack) -> None:
    now = datetime.now(UTC)
    publish(localstack_stack, [glue_event("ls-job", "jr_ls", "RUNNING", now, detail_type=RUN_STATUS)])
    send_bodies(localstack_stack, ["{broken"])
    drain(localstack_stack, ingest_handler.lambda_handler, FakeLambdaContext("ls"))
    run = get_run("ls-job", "jr_ls")
    assert run is not None and run.state == "RUNNING" and run.delay_notified_at is not None
    assert queue_depth(localstack_stack, localstack_stack.dlq_url) == 1
