"""Glue events through EventBridge and SQS into the ingest handler, then the ledger rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

import functions.ingest.handler as ingest_handler
from glue_audit.aws import glue as glue_access
from glue_audit.config import metric_names
from glue_audit.config.resources import REQUEST_ID_ARGUMENT, RUN_STATUS
from glue_audit.ledger.models import RequestItem, RequestStatus
from glue_audit.ledger.writes import get_run
from scripts.engine.simulation import reset_handlers
from scripts.engine.stack import (
    MAX_RECEIVE_COUNT,
    Stack,
    create_job,
    drain,
    eventbridge_body,
    glue_event,
    publish,
    queue_depth,
    send_bodies,
)
from tests.support.emf import emf_metrics

# Event times must be near now (glue_audit.domain.validation): yesterday, on a whole second as EventBridge writes it.
T0 = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
RUN_ID = "jr_" + "0" * 64  # the shape of a Glue run id


def start_run(stack: Stack, job: str, request_id: str | None = None) -> str:
    arguments = {REQUEST_ID_ARGUMENT: request_id} if request_id else {}
    return str(stack.client("glue").start_job_run(JobName=job, Arguments=arguments)["JobRunId"])


def claimed_request(request_id: str, job: str) -> RequestItem:
    request = RequestItem(*RequestItem.key(request_id), request_id=request_id, job_name=job, priority=50)
    request.set_status(RequestStatus.CLAIMED)
    request.save()
    return request


def test_terminal_event_is_recorded_and_enriched_from_get_job_run(
    stack: Stack, lambda_context: object
) -> None:
    create_job(stack, "orders-etl", worker_type="G.2X", workers=4)
    claimed_request("req-1", "orders-etl")
    run_id = start_run(stack, "orders-etl", "req-1")

    publish(stack, [glue_event("orders-etl", run_id, "SUCCEEDED", T0)])
    result = drain(stack, ingest_handler.lambda_handler, lambda_context)

    assert (result.processed, result.failed) == (1, 0)
    run = get_run("orders-etl", run_id)
    assert run is not None and run.state == "SUCCEEDED" and run.enriched
    glue_run = stack.client("glue").get_job_run(JobName="orders-etl", RunId=run_id)["JobRun"]
    assert run.execution_time == glue_run["ExecutionTime"]
    assert (run.worker_type, run.number_of_workers, run.dpus) == ("G.2X", 4, 8.0)
    # moto reports no DPUSeconds (like Glue for non-auto-scaling runs): computed, and marked so.
    assert run.dpu_seconds == glue_run["ExecutionTime"] * 8.0
    assert run.dpu_seconds_source == "computed"
    assert run.started_on is not None and run.completed_on is not None
    assert run.active_pk == "ANALYSIS"  # no longer counted as active capacity
    request = RequestItem.get(*RequestItem.key("req-1"))
    assert (request.status, request.run_id, request.run_state) == (
        RequestStatus.LAUNCHED,
        run_id,
        "SUCCEEDED",
    )
    assert request.active_pk is None  # the claim no longer counts as active capacity


def test_a_run_started_outside_the_framework_is_adopted(stack: Stack, lambda_context: object) -> None:
    create_job(stack, "adhoc")
    run_id = start_run(stack, "adhoc")
    publish(stack, [glue_event("adhoc", run_id, "FAILED", T0)])
    drain(stack, ingest_handler.lambda_handler, lambda_context)

    run = get_run("adhoc", run_id)
    assert run is not None
    assert (run.origin, run.state, run.request_id, run.enriched) == ("external", "FAILED", None, True)


def test_duplicates_and_late_events_leave_the_row_as_the_newest_state(
    stack: Stack, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    create_job(stack, "dup")
    run_id = start_run(stack, "dup")
    publish(
        stack,
        [
            glue_event("dup", run_id, "SUCCEEDED", T0 + timedelta(minutes=9)),
            glue_event("dup", run_id, "SUCCEEDED", T0 + timedelta(minutes=9)),
            # A delay notification sent while the run was still going, delivered late.
            glue_event("dup", run_id, "RUNNING", T0 + timedelta(minutes=5), detail_type=RUN_STATUS),
            glue_event("dup", run_id, "SUCCEEDED", T0 + timedelta(minutes=9)),
        ],
    )
    drain(stack, ingest_handler.lambda_handler, lambda_context)

    run = get_run("dup", run_id)
    assert run is not None
    assert run.state == "SUCCEEDED" and run.active_pk != "ACTIVE"
    assert run.state_at == T0 + timedelta(minutes=9)
    assert run.delay_notified_at == T0 + timedelta(minutes=5)
    assert run.version == 2  # one write for the run, one for the late delay notification; duplicates none
    # The dashboard counts what changed the ledger, not what arrived.
    assert sum(emf_metrics(capsys.readouterr().out)[metric_names.EVENTS_RECORDED]) == 2


BAD_BODIES = {
    "not JSON": ("{this is not json", "message body is not JSON"),
    "JSON but not an object": ("[1, 2, 3]", "expected an EventBridge event object"),
    "another source": (eventbridge_body("j", RUN_ID, "SUCCEEDED", T0, source="aws.s3"), "source is 'aws.s3'"),
    "another detail-type": (
        eventbridge_body("j", RUN_ID, "SUCCEEDED", T0, detail_type="Glue Crawler State Change"),
        "detail-type 'Glue Crawler State Change'",
    ),
    "missing jobName": (eventbridge_body(None, RUN_ID, "SUCCEEDED", T0), "detail.jobName is missing"),
    "missing jobRunId": (eventbridge_body("j", None, "SUCCEEDED", T0), "detail.jobRunId is missing"),
    "unknown state": (
        eventbridge_body("j", RUN_ID, "EXPLODED", T0),
        "'EXPLODED' is not a Glue job run state",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_record_is_rejected_by_name_and_ends_in_the_dlq_while_the_batch_goes_on(
    case: str,
    stack: Stack,
    lambda_context: object,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body, problem = BAD_BODIES[case]
    create_job(stack, "good")
    run_id = start_run(stack, "good")
    send_bodies(stack, [body, eventbridge_body("good", run_id, "SUCCEEDED", T0)])

    result = drain(stack, ingest_handler.lambda_handler, lambda_context)

    run = get_run("good", run_id)
    assert run is not None and run.state == "SUCCEEDED"  # the good record of the batch went through
    assert result.failed == MAX_RECEIVE_COUNT  # the bad one was retried, never silently dropped ...
    assert queue_depth(stack, stack.dlq_url) == 1  # ... and now waits in the DLQ
    assert queue_depth(stack, stack.queue_url) == 0
    dlq_message = stack.client("sqs").receive_message(QueueUrl=stack.dlq_url)["Messages"][0]
    assert dlq_message["Body"] == body
    rejections = [record for record in caplog.records if record.getMessage() == "rejected Glue event"]
    assert len(rejections) == 1  # one structured line, on the first delivery, not one per retry
    assert problem in rejections[0].problem  # type: ignore[attr-defined]
    emitted = emf_metrics(capsys.readouterr().out)
    assert sum(emitted[metric_names.REJECTED_EVENTS]) == 1
    assert sum(emitted[metric_names.EVENTS_RECORDED]) == 1


def test_a_throttled_glue_call_is_retried_by_sqs_and_nothing_is_lost(
    stack: Stack, lambda_context: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_job(stack, "busy")
    run_id = start_run(stack, "busy")
    real = glue_access.get_job_run
    calls = {"n": 0}

    def throttled_once(client: object, job: str, run: str) -> glue_access.RunDetails:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetJobRun"
            )
        return real(client, job, run)

    monkeypatch.setattr(glue_access, "get_job_run", throttled_once)
    publish(stack, [glue_event("busy", run_id, "TIMEOUT", T0)])

    result = drain(stack, ingest_handler.lambda_handler, lambda_context)

    assert result.failed == 1 and calls["n"] == 2
    run = get_run("busy", run_id)
    assert run is not None and run.state == "TIMEOUT" and run.enriched
    assert queue_depth(stack, stack.dlq_url) == 0


def test_finished_runs_start_one_event_driven_tick_per_window(
    stack: Stack, lambda_context: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn = stack.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="tick-target",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("SCHEDULER_STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("TICK_DEDUP_SECONDS", "3600")
    reset_handlers()  # a cold start reads them
    create_job(stack, "burst", max_concurrent_runs=20)
    runs = [start_run(stack, "burst") for _ in range(12)]
    publish(stack, [glue_event("burst", run_id, "SUCCEEDED", T0) for run_id in runs])

    drain(stack, ingest_handler.lambda_handler, lambda_context)

    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert len(executions) == 1  # 12 finished runs in two batches, one tick
    assert executions[0]["name"].startswith("run-finished-")
