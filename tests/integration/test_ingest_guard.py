"""Ingest refuses what Glue cannot send: a future-dated event never pins a row, and an event of a
run Glue does not have is never recorded as a run."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

import functions.ingest.handler as ingest_handler
from glue_audit.aws import glue as glue_access
from glue_audit.config import metric_names
from glue_audit.config.resources import RUN_STATUS
from glue_audit.ledger.models import LedgerItem, RunItem
from glue_audit.ledger.writes import get_run
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.stack import (
    MAX_RECEIVE_COUNT,
    Stack,
    create_job,
    drain,
    eventbridge_body,
    queue_depth,
    send_bodies,
)
from tests.support.emf import emf_metrics

NOW = datetime.now(UTC).replace(microsecond=0)
UNKNOWN_RUN = "jr_" + "ab" * 32


def runs_in_ledger() -> list[RunItem]:
    return [item for item in LedgerItem.scan() if isinstance(item, RunItem)]


def test_a_future_dated_event_goes_to_the_dlq_and_never_pins_the_row(
    stack: Stack, lambda_context: object, caplog: pytest.LogCaptureFixture
) -> None:
    create_job(stack, "billing")
    run_id = stack.client("glue").start_job_run(JobName="billing")["JobRunId"]
    forged = eventbridge_body("billing", run_id, "FAILED", NOW + timedelta(days=30))
    send_bodies(stack, [forged])
    drain(stack, ingest_handler.lambda_handler, lambda_context)
    with GlueDriver(stack) as driver:  # then the run really ends, and Glue says so
        [run] = driver.discover(NOW - timedelta(minutes=20))
        driver.finish(run, "SUCCEEDED", NOW - timedelta(minutes=1))
    drain(stack, ingest_handler.lambda_handler, lambda_context)

    row = get_run("billing", run_id)
    assert row is not None
    assert (row.state, row.state_at) == ("SUCCEEDED", NOW - timedelta(minutes=1))  # the real end wins
    assert queue_depth(stack, stack.dlq_url) == 1
    [line] = [r for r in caplog.records if r.getMessage() == "rejected Glue event"]  # logged once
    assert "days in the future; events may be at most 300 s ahead of now" in line.problem  # type: ignore[attr-defined]


def test_an_event_of_a_job_or_run_glue_does_not_have_is_dropped_not_recorded(
    stack: Stack,
    lambda_context: object,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    create_job(stack, "billing")
    send_bodies(
        stack,
        [
            eventbridge_body("billing", UNKNOWN_RUN, "SUCCEEDED", NOW - timedelta(minutes=3)),
            eventbridge_body("no-such-job", UNKNOWN_RUN, "FAILED", NOW - timedelta(minutes=3)),
            eventbridge_body(
                "billing", UNKNOWN_RUN, "RUNNING", NOW - timedelta(minutes=9), detail_type=RUN_STATUS
            ),
        ],
    )

    result = drain(stack, ingest_handler.lambda_handler, lambda_context)

    assert runs_in_ledger() == []
    assert result.failed == 0 and queue_depth(stack, stack.dlq_url) == 0  # Glue's answer is final: no retries
    dropped = [
        r for r in caplog.records if r.getMessage() == "dropped Glue event of a run Glue does not have"
    ]
    assert len(dropped) == 3
    assert all(f"Glue has no run {UNKNOWN_RUN} of job" in r.problem for r in dropped)  # type: ignore[attr-defined]
    assert sum(emf_metrics(capsys.readouterr().out)[metric_names.UNKNOWN_RUN_EVENTS]) == 3


def test_a_run_the_ledger_holds_is_still_closed_after_glue_forgot_its_job(
    stack: Stack, lambda_context: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_job(stack, "retired")
    glue = stack.client("glue")
    run_id = glue.start_job_run(JobName="retired")["JobRunId"]
    send_bodies(
        stack,
        [eventbridge_body("retired", run_id, "RUNNING", NOW - timedelta(minutes=30), detail_type=RUN_STATUS)],
    )
    drain(stack, ingest_handler.lambda_handler, lambda_context)

    def forgotten(client: object, job: str, run: str) -> glue_access.RunDetails:
        # What Glue answers once the job is deleted (moto keeps the runs of a deleted job).
        raise ClientError(
            {"Error": {"Code": "EntityNotFoundException", "Message": "Job retired not found"}}, "GetJobRun"
        )

    monkeypatch.setattr(glue_access, "get_job_run", forgotten)

    send_bodies(stack, [eventbridge_body("retired", run_id, "STOPPED", NOW - timedelta(minutes=2))])
    result = drain(stack, ingest_handler.lambda_handler, lambda_context)

    row = get_run("retired", run_id)
    assert row is not None and (row.state, row.enriched) == ("STOPPED", False)
    assert result.failed == 0


def test_a_bad_event_is_retried_to_the_dlq_but_reported_once(
    stack: Stack, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    send_bodies(stack, [eventbridge_body("billing\x00", UNKNOWN_RUN, "SUCCEEDED", NOW)])
    result = drain(stack, ingest_handler.lambda_handler, lambda_context)
    assert result.failed == MAX_RECEIVE_COUNT and queue_depth(stack, stack.dlq_url) == 1
    assert sum(emf_metrics(capsys.readouterr().out)[metric_names.REJECTED_EVENTS]) == 1
