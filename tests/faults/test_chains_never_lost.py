"""Chains are never lost: a success whose chain cannot be decided now (the jobs' tags unreadable,
GetResources throttled; a crash between the writes) leaves a durable marker on the run, and a
later tick settles it. The DLQ is for malformed events only.

On c9221ef: a throttled GetTags in ingest failed the record (after 3 receives: DLQ, chain lost);
in a repairing tick the repair was written with nothing submitted and never looked at again."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.aws.declarations import TagReader
from glue_audit.domain.states import RunState
from glue_audit.flows import chains, ingest
from glue_audit.flows.ingest import GlueJobEvent
from glue_audit.ledger import writes as ledger
from glue_audit.tick import orchestrator as capacity
from scripts.engine.emulator import FakeLambdaContext
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import Estate, submit_requests
from scripts.engine.simulation import reset_handlers
from scripts.engine.stack import Stack, eventbridge_body, sqs_lambda_event
from tests.integration.test_chains import NOW, SETTINGS, estate, requests_of, tick
from tests.support import tagging

__all__ = ["estate"]


def throttled_clients(stack: Stack) -> capacity.Clients:
    glue = stack.client("glue")
    return capacity.Clients(
        glue, stack.client("ec2"), stack.client("service-quotas"), TagReader(tagging.throttled())
    )


def finished_input_run(stack: Stack, estate: Estate) -> str:
    glue = stack.client("glue")
    with GlueDriver(stack, estate.job_subnets) as driver:
        glue.start_job_run(JobName="input")
        (run,) = driver.discover(NOW - timedelta(minutes=10))
        driver.finish(run, "SUCCEEDED", NOW - timedelta(minutes=5), publish_event=False)
    return run.run_id


def test_throttled_tags_in_ingest_leave_a_marker_the_next_tick_settles(
    stack: Stack, estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = finished_input_run(stack, estate)
    monkeypatch.setenv("MANAGED_JOBS", SETTINGS.to_env()["MANAGED_JOBS"])
    reset_handlers()
    reader = TagReader(tagging.throttled())
    monkeypatch.setattr(ingest_handler, "tag_reader", lambda: reader)
    body = eventbridge_body("input", run_id, "SUCCEEDED", NOW - timedelta(minutes=5))
    message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "r", "Body": body, "Attributes": {}}
    response = ingest_handler.lambda_handler(
        sqs_lambda_event([message], "arn:aws:sqs:us-east-1:123456789012:q"), FakeLambdaContext("ingest")
    )
    assert response["batchItemFailures"] == []  # not retried, never dead-lettered
    assert requests_of("output") == []
    assert [(r.job_name, r.run_id) for r in ledger.runs_with_chain_pending()] == [("input", run_id)]

    settled = tick(stack, NOW + timedelta(minutes=1))  # tags readable again
    assert settled.stats.chains_settled == 1
    assert [r.upstream_run_id for r in requests_of("output")] == [run_id]
    assert ledger.runs_with_chain_pending() == []
    tick(stack, NOW + timedelta(minutes=2))
    assert len(requests_of("output")) == 1  # once


def test_a_repair_under_throttled_tags_is_chained_by_a_later_tick(stack: Stack, estate: Estate) -> None:
    submit_requests(stack, "input", 1, at=NOW - timedelta(minutes=20))
    with GlueDriver(stack, estate.job_subnets) as driver:
        tick(stack, NOW - timedelta(minutes=20))  # launched through the framework: the ledger holds it active
        runs = driver.discover(NOW - timedelta(minutes=20))
        for run in runs:
            driver.finish(run, "SUCCEEDED", NOW - timedelta(minutes=10), publish_event=False)  # event lost
    repairing = capacity.run_tick(SETTINGS, throttled_clients(stack), NOW, "t-throttled")
    assert repairing.stats.repaired_runs == len(runs) >= 1 and requests_of("output") == []
    later = tick(stack, NOW + timedelta(minutes=1))
    assert later.stats.chained_requests == len(runs)
    assert sorted(r.upstream_run_id for r in requests_of("output")) == sorted(r.run_id for r in runs)


def test_a_crash_between_recording_and_chaining_with_no_redelivery_is_settled_by_a_tick(
    stack: Stack, estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = finished_input_run(stack, estate)
    event = GlueJobEvent(
        "e1", "Glue Job State Change", "input", run_id, RunState.SUCCEEDED, NOW - timedelta(minutes=5)
    )
    reader = TagReader(stack.client("resourcegroupstaggingapi"))

    def crash(*_: Any, **__: Any) -> list[str]:
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(chains, "submit_on_success", crash)
    with pytest.raises(RuntimeError):
        ingest.ingest(event, stack.client("glue"), lambda: reader.declarations(SETTINGS.managed_jobs, NOW))
    monkeypatch.undo()
    # The event is never delivered again (say it was dead-lettered): the marker is enough.
    tick(stack, NOW + timedelta(minutes=1))
    assert [r.upstream_run_id for r in requests_of("output")] == [run_id]
