"""10,000 Glue events, each delivered 3 times in a shuffled order: the ledger ends exactly as Glue
has the runs (the Glue driver's record of what it did), not as the deliveries happened to arrive.

How it is driven, and why it is still the real code path:

* Every one of the 30,000 deliveries goes through the real ``ingest.parse_event`` (validation
  included), the real ``ingest.observation`` (the decision to call GetJobRun, the unknown-run
  refusal, the enrichment) and the real ``ledger.merge`` (the pure part of
  ``ledger.record_observation``: which observation wins, what changes). The rows are kept in memory
  and GetJobRun is answered from the Glue driver's runs through the same ``glue.run_details``
  conversion the API response goes through.
* A sample of the same scenario (``SAMPLE_EVENTS`` events, each 3 times, shuffled) goes through the
  real handler against the emulator (BatchProcessor, PynamoDB conditional writes, GetJobRun over
  HTTP), and its rows must equal the in-memory rows field for field: the in-memory drive is what the
  handler does, minus the transport.
* Why not all 30,000 through the emulator: each delivery costs at least one GetItem and a new event a
  GetJobRun and a PutItem; through moto that is 55 to 85 deliveries/s on this machine
  (``scripts/bench/ingest.py``), so 30,000 would take 6 to 9 minutes against a 60 s budget for the tier.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.glue.models import FakeJobRun

import functions.ingest.handler as ingest_handler
from glue_audit.aws import glue
from glue_audit.config.resources import RUN_STATUS
from glue_audit.flows import ingest
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import RunItem
from scripts.engine.emulator import FakeLambdaContext
from scripts.engine.glue_driver import DrivenRun, GlueDriver
from scripts.engine.stack import Stack, create_job, eventbridge_body, sqs_lambda_event

SEED = 1201
EVENTS = 10_000
COPIES = 3
SAMPLE_EVENTS = 200
JOBS = ("orders", "payments", "ledger-close", "crm-sync")
TERMINAL = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED")
# Written by each write, not by what Glue said: not part of a run's content.
# pending_pk/sk on a run: the chain marker (glue_audit.flows.chains), settled by the handler, not by the
# in-memory drive, which has no declarations.
PROCESSING_METADATA = {"updated_at", "version", "first_seen_at", "pending_pk", "pending_sk"}


@dataclass
class RunTruth:
    """What Glue did with one run, and the events it sent about it."""

    run: DrivenRun
    notices: list[datetime] = field(default_factory=list)  # Glue Job Run Status times

    def bodies(self) -> list[str]:
        assert self.run.ended_at is not None
        return [
            eventbridge_body(self.run.job_name, self.run.run_id, "RUNNING", at, detail_type=RUN_STATUS)
            for at in self.notices
        ] + [eventbridge_body(self.run.job_name, self.run.run_id, self.run.state, self.run.ended_at)]


def glue_runs(stack: Stack, driver: GlueDriver, now: datetime, rng: random.Random) -> list[RunTruth]:
    """Runs that reached Glue and ended, with their delay notices, EVENTS events in all."""
    for job in JOBS:
        create_job(stack, job, max_concurrent_runs=EVENTS)
    backend = driver._backend()
    plan: list[int] = []  # delay notices per run, until the runs' events make EVENTS
    while sum(plan) + len(plan) < EVENTS:
        plan.append(min(rng.choice([0, 1, 1, 2, 3]), EVENTS - sum(plan) - len(plan) - 1))
    for _ in plan:
        job = backend.jobs[rng.choice(JOBS)]
        job.job_runs.append(  # Glue accepting a run (moto's StartJobRun would scan every run each time)
            FakeJobRun(job.name, worker_type=job.worker_type, number_of_workers=job.number_of_workers)
        )
    truths: list[RunTruth] = []
    for run, notices in zip(driver.discover(now), plan, strict=True):
        started = now - timedelta(hours=6, seconds=rng.randint(0, 3 * 3600))
        run.started_at = started
        driver._moto_run(run.job_name, run.run_id).started_on = started
        ended = started + timedelta(seconds=rng.randint(60, 2 * 3600))
        driver.finish(run, rng.choice(TERMINAL), ended, publish_event=False)
        duration = int((ended - started).total_seconds())
        # EventBridge times are whole seconds; a notice comes while the run is still going.
        offsets = sorted(rng.sample(range(duration), notices))
        truths.append(RunTruth(run, [started + timedelta(seconds=offset) for offset in offsets]))
    return truths


def shuffled_deliveries(truths: list[RunTruth], rng: random.Random) -> list[str]:
    deliveries = [body for truth in truths for body in truth.bodies() for _ in range(COPIES)]
    rng.shuffle(deliveries)
    return deliveries


def drive_in_memory(
    deliveries: list[str], lookup: ingest.Lookup, now: datetime
) -> tuple[dict[tuple[str, str], RunItem], int]:
    """Every delivery through parse_event -> observation -> merge, rows kept in memory."""
    rows: dict[tuple[str, str], RunItem] = {}
    changes = 0
    for body in deliveries:
        event = ingest.parse_event(body, now, ingest_handler.settings().event_window)
        key = (event.job_name, event.run_id)
        row, changed = ledger.merge(rows.get(key), ingest.observation(event, rows.get(key), lookup), now)
        rows[key] = row
        changes += changed
    return rows, changes


def drive_through_the_handler(deliveries: list[str]) -> int:
    """The real handler, fed the batches of 10 the SQS event source mapping would give it."""
    context = FakeLambdaContext("glue-audit-test-ingest")
    failures = 0
    for start in range(0, len(deliveries), 10):
        batch = [
            {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body}
            for i, body in enumerate(deliveries[start : start + 10], start)
        ]
        response = ingest_handler.lambda_handler(
            sqs_lambda_event(batch, "arn:aws:sqs:us-east-1:123456789012:glue-audit-test-glue-events"), context
        )
        failures += len(response["batchItemFailures"])
    return failures


def content(row: RunItem) -> dict[str, Any]:
    return {k: v for k, v in row.serialize().items() if k not in PROCESSING_METADATA}


def assert_row_is_glues_truth(row: RunItem | None, truth: RunTruth) -> None:
    run = truth.run
    assert row is not None, f"{run.job_name}/{run.run_id} missing from the ledger"
    assert (row.state, row.state_at) == (run.state, run.ended_at)
    assert row.enriched and row.execution_time == run.execution_time and row.completed_on == run.ended_at
    assert row.started_on == run.started_at
    assert row.delay_notified_at == (truth.notices[0] if truth.notices else None)
    assert row.earliest_observed_at == (truth.notices[0] if truth.notices else run.ended_at)
    assert row.active_pk != "ACTIVE"  # a finished run holds no capacity


def test_ten_thousand_events_three_times_shuffled_give_the_runs_as_glue_has_them(stack: Stack) -> None:
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(microsecond=0)
    with GlueDriver(stack) as driver:
        truths = glue_runs(stack, driver, now, rng)
        glue_says = {
            (t.run.job_name, t.run.run_id): glue.run_details(
                driver._moto_run(t.run.job_name, t.run.run_id).as_dict()
            )
            for t in truths
        }
        assert sum(len(t.notices) + 1 for t in truths) == EVENTS

        # All 30,000 deliveries, in memory.
        deliveries = shuffled_deliveries(truths, rng)
        assert len(deliveries) == EVENTS * COPIES
        started = time.perf_counter()
        rows, changes = drive_in_memory(deliveries, lambda job, run: glue_says.get((job, run)), now)
        elapsed = time.perf_counter() - started
        assert len(rows) == len(truths)
        for truth in truths:
            assert_row_is_glues_truth(rows.get((truth.run.job_name, truth.run.run_id)), truth)
        assert changes <= EVENTS  # a duplicate never changes a row
        print(
            f"\n{EVENTS * COPIES} deliveries of {len(truths)} runs in memory: {elapsed:.1f} s, {changes} changes"
        )

        # A sample through the real handler against the emulator gives the same rows.
        sample: list[RunTruth] = []
        while sum(len(t.notices) + 1 for t in sample) < SAMPLE_EVENTS:
            sample.append(truths[len(sample)])
        sample_deliveries = shuffled_deliveries(sample, rng)
        started = time.perf_counter()
        assert drive_through_the_handler(sample_deliveries) == 0
        elapsed = time.perf_counter() - started
        print(f"{len(sample_deliveries)} deliveries through the handler: {elapsed:.1f} s")
        for truth in sample:
            row = ledger.get_run(truth.run.job_name, truth.run.run_id)
            assert_row_is_glues_truth(row, truth)
            assert row is not None
            assert content(row) == content(rows[(truth.run.job_name, truth.run.run_id)])


def test_the_in_memory_drive_refuses_what_the_handler_refuses() -> None:
    """The in-memory drive is no more lenient than the handler: a run Glue does not have is refused."""
    now = datetime.now(UTC).replace(microsecond=0)
    body = eventbridge_body("orders", "jr_" + "c" * 64, "SUCCEEDED", now - timedelta(minutes=1))
    with pytest.raises(ingest.UnknownRun, match="Glue has no run"):
        drive_in_memory([body] * COPIES, lambda job, run: None, now)
