"""A run started outside the framework, seen through CloudTrail's StartJobRun event instead of a
round of idle-job slices (``tick/coverage.py``): EventBridge's second ingest rule, the ingest
handler, then the tick that counts the run against the budget."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.config.settings import Settings
from glue_audit.flows import ingest
from glue_audit.flows import launch as launcher
from glue_audit.ledger.models import RequestItem, RequestStatus
from glue_audit.ledger.writes import get_run
from glue_audit.tick import coverage
from glue_audit.tick import orchestrator as capacity
from scripts.engine.emulator import FakeLambdaContext
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import submit_requests
from scripts.engine.stack import Stack, create_job, drain, publish, start_call_event
from tests.conftest import NAMES
from tests.integration.test_chains import clients

IDLE = [f"idle-{i:02d}" for i in range(60)]  # more managed jobs than one slice holds
MANAGED = frozenset({"solo", "orders", *IDLE})
# 10 DPUs each (G.1X x 10); a budget of 15 holds one of them, not two.
SETTINGS = Settings(
    ledger_table=NAMES.ledger_table,
    quota_fraction=1.0,
    fallback_max_concurrent_runs=50,
    fallback_max_dpus=15.0,
    ip_reserve_per_subnet=0,
    ip_lag_seconds=0,
    managed_jobs=MANAGED,
)


def a_tick_time_that_does_not_slice(job: str) -> datetime:
    """A recent instant whose idle slice leaves ``job`` out: only activity can make a tick read it."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    for k in range(coverage.slice_count(len(MANAGED))):
        now = start + timedelta(seconds=k * coverage.SLICE_PERIOD_SECONDS)
        if job not in coverage.idle_slice(MANAGED, now):
            return now
    raise AssertionError(f"every slice holds {job}")


@pytest.fixture
def estate(stack: Stack) -> Iterator[GlueDriver]:
    """The jobs, and Glue played by the driver (moto alone would end every run at once)."""
    for name in ["solo", "orders", *IDLE]:
        create_job(stack, name, workers=10, max_concurrent_runs=5)
    with GlueDriver(stack) as driver:
        yield driver


def tick(stack: Stack, now: datetime) -> capacity.TickResult:
    result = capacity.run_tick(SETTINGS, clients(stack), now, f"t-{uuid.uuid4().hex[:8]}")
    for planned in result.launches:
        launcher.launch(planned, stack.client("glue"), now, SETTINGS.max_launch_attempts)
    return result


def outside_run_then_a_request(stack: Stack, now: datetime) -> tuple[str, str]:
    outside = str(stack.client("glue").start_job_run(JobName="solo")["JobRunId"])
    (request_id,) = submit_requests(stack, "orders", 1, at=now)
    return outside, request_id


def test_a_start_call_makes_the_outside_run_hold_capacity_at_the_next_tick(
    stack: Stack, estate: GlueDriver, lambda_context: FakeLambdaContext
) -> None:
    now = a_tick_time_that_does_not_slice("solo")
    outside, request_id = outside_run_then_a_request(stack, now)
    publish(stack, [start_call_event("solo", outside, now)])
    result = drain(stack, ingest_handler.lambda_handler, lambda_context)
    assert (result.processed, result.failed) == (1, 0)

    row = get_run("solo", outside)
    assert row is not None and (row.origin, row.dpus) == ("external", 10.0)
    assert row.state in ("STARTING", "RUNNING")  # Glue's answer, not assumed

    outcome = tick(stack, now)
    assert outcome.launches == []  # 10 of 15 DPUs held outside: orders' 10 do not fit
    request = RequestItem.get(*RequestItem.key(request_id))
    assert request.status == RequestStatus.PENDING and "DPU" in (request.last_reason or "")


def test_without_the_start_call_the_run_is_unseen_until_its_slice(stack: Stack, estate: GlueDriver) -> None:
    """The control: the same outside run with no CloudTrail event is not read by this tick (the
    slices' bound, tick/coverage.py), so the request launches beside it."""
    now = a_tick_time_that_does_not_slice("solo")
    outside, request_id = outside_run_then_a_request(stack, now)
    outcome = tick(stack, now)
    assert [launch["request_id"] for launch in outcome.launches] == [request_id]
    assert get_run("solo", outside) is None


def test_a_start_call_for_a_run_the_launcher_recorded_changes_nothing(
    stack: Stack, estate: GlueDriver, lambda_context: FakeLambdaContext
) -> None:
    now = a_tick_time_that_does_not_slice("solo")
    (request_id,) = submit_requests(stack, "orders", 1, at=now)
    (launched,) = tick(stack, now).launches
    run_id = RequestItem.get(*RequestItem.key(request_id)).run_id
    assert launched["request_id"] == request_id and run_id is not None
    before = get_run("orders", run_id)

    publish(stack, [start_call_event("orders", run_id, now)] * 2)  # delivered twice
    drain(stack, ingest_handler.lambda_handler, lambda_context)
    after = get_run("orders", run_id)
    assert before is not None and after is not None
    assert (after.origin, after.request_id, after.version) == ("framework", request_id, before.version)


def test_a_late_start_call_records_the_state_glue_reports(stack: Stack, estate: GlueDriver) -> None:
    """The call's event comes after the run ended: the row says FAILED, with Glue's details."""
    glue = stack.client("glue")
    run_id = str(glue.start_job_run(JobName="solo")["JobRunId"])
    now = datetime.now(UTC)
    (run,) = estate.discover(now - timedelta(minutes=5))
    estate.finish(run, "FAILED", now - timedelta(minutes=1), publish_event=False)
    body = json.dumps(
        {
            "id": "e-1",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.glue",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "detail": json.loads(start_call_event("solo", run_id)["Detail"]),
        }
    )
    event = ingest.parse_event(body, datetime.now(UTC))
    outcome = ingest.ingest(event, glue)
    assert outcome.adopted and outcome.state == "FAILED"
    row = get_run("solo", run_id)
    assert row is not None and row.enriched and row.completed_on is not None


def test_a_failed_start_call_is_not_routed_and_would_be_refused(stack: Stack, estate: GlueDriver) -> None:
    refused = start_call_event("solo", "jr_" + "1" * 64, error_code="ConcurrentRunsExceededException")
    publish(stack, [refused])
    sqs = stack.client("sqs")
    assert sqs.receive_message(QueueUrl=stack.queue_url, WaitTimeSeconds=0).get("Messages", []) == []
    body = json.dumps(
        {
            "id": "e-2",
            "detail-type": refused["DetailType"],
            "source": refused["Source"],
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "detail": json.loads(refused["Detail"]),
        }
    )
    with pytest.raises(ingest.InvalidGlueEvent, match="errorCode is 'ConcurrentRunsExceededException'"):
        ingest.parse_event(body, datetime.now(UTC))
