"""Fuzzed Glue events through the real queue and the real ingest handler: every record Glue could
never send is refused with a reason a person can read and writes nothing, while the valid records
of the same batches are recorded (partial batch failure)."""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.config import metric_names
from glue_audit.domain import validation
from glue_audit.ledger.models import LedgerItem, RunItem
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.stack import MAX_RECEIVE_COUNT, Stack, create_job, drain, queue_depth
from tests.support.emf import emf_metrics
from tests.support.fuzz_events import CATEGORIES, FuzzGenerator, FuzzRecord, event_body, stamp

SEED = 20261201
PER_CATEGORY = 45  # 7 categories: 315 fuzzed records
VALID_RUNS = 30
CHUNK = 40
JOB = "orders-nightly"
REJECTED = "rejected Glue event"
DROPPED = "dropped Glue event of a run Glue does not have"


def send(stack: Stack, bodies: list[str]) -> list[str]:
    """SendMessageBatch in groups of up to 10 and under SQS's 1 MiB per request; the message ids."""
    sqs = stack.client("sqs")
    ids: list[str] = []
    group: list[str] = []
    for body in [*bodies, None]:
        if group and (body is None or len(group) == 10 or sum(map(len, group)) + len(body) > 900_000):
            response = sqs.send_message_batch(
                QueueUrl=stack.queue_url,
                Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(group)],
            )
            assert not response.get("Failed"), response.get("Failed")
            ids += [
                entry["MessageId"] for entry in sorted(response["Successful"], key=lambda e: int(e["Id"]))
            ]
            group = []
        if body is not None:
            group.append(body)
    return ids


def dlq_bodies(stack: Stack) -> list[str]:
    sqs = stack.client("sqs")
    bodies: list[str] = []
    for _ in range(200):  # bounded: at most 2,000 messages
        messages = sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        bodies += [m["Body"] for m in messages]
    return bodies


def test_fuzzed_records_are_refused_with_a_reason_and_write_nothing_while_valid_ones_are_recorded(
    stack: Stack,
    lambda_context: object,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    now = datetime.now(UTC).replace(microsecond=0)
    create_job(stack, JOB, max_concurrent_runs=VALID_RUNS)
    glue = stack.client("glue")
    truth: dict[str, tuple[str, datetime]] = {}
    with GlueDriver(stack) as driver:
        for _ in range(VALID_RUNS):
            glue.start_job_run(JobName=JOB)
        rng = random.Random(SEED)
        for run in driver.discover(now - timedelta(hours=2)):
            ended = now - timedelta(minutes=rng.randint(1, 90))
            driver.finish(
                run, rng.choice(["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"]), ended, publish_event=False
            )
            truth[run.run_id] = (run.state, ended)
        skew = timedelta(seconds=ingest_handler.settings().event_clock_skew_seconds)
        fuzzed = FuzzGenerator(SEED, now, JOB, sorted(truth), skew).records(PER_CATEGORY)
        valid = [event_body(JOB, run_id, state, stamp(at)) for run_id, (state, at) in truth.items()]
        mixed: list[FuzzRecord | str] = [*fuzzed, *valid]
        rng.shuffle(mixed)
        bodies = [m.body if isinstance(m, FuzzRecord) else m for m in mixed]
        by_message: dict[str, FuzzRecord] = {}
        failed = 0
        # In rounds of CHUNK messages, as a stream of events arrives: moto's ReceiveMessage walks the
        # whole queue on every call, so one queue of 345 would take twice as long for the same check.
        for start in range(0, len(bodies), CHUNK):
            ids = send(stack, bodies[start : start + CHUNK])
            records = mixed[start : start + CHUNK]
            by_message |= {i: m for i, m in zip(ids, records, strict=True) if isinstance(m, FuzzRecord)}
            failed += drain(stack, ingest_handler.lambda_handler, lambda_context).failed

    # The valid records of the same batches are recorded as Glue has them.
    for run_id, (state, ended) in truth.items():
        run = RunItem.get(*RunItem.key(JOB, run_id))
        assert (run.state, run.state_at, run.enriched) == (state, ended, True)
    # Nothing else is written: no row for any fuzzed record, and no impossible value anywhere.
    rows = [item for item in LedgerItem.scan() if isinstance(item, RunItem)]
    assert sorted(row.run_id for row in rows) == sorted(truth)
    for row in rows:
        assert validation.job_name(row.job_name) and validation.run_id(row.run_id)
        assert now - timedelta(days=1) < row.state_at <= now

    # Each fuzzed record is refused once, with a reason that names its problem.
    logged: dict[str, list[logging.LogRecord]] = {}
    for line in caplog.records:
        if line.getMessage() in (REJECTED, DROPPED):
            logged.setdefault(line.message_id, []).append(line)  # type: ignore[attr-defined]
    for message_id, record in by_message.items():
        lines = logged.get(message_id, [])
        assert len(lines) == 1, f"{record.category}: {len(lines)} log lines for {record.body[:200]!r}"
        assert record.reason_contains in lines[0].problem, (record.category, lines[0].problem)  # type: ignore[attr-defined]
        assert lines[0].getMessage() == (DROPPED if record.dropped else REJECTED)
        assert len(lines[0].problem) < 400  # type: ignore[attr-defined]  # one readable line, even for a huge body

    # Refused records wait in the DLQ (after MAX_RECEIVE_COUNT deliveries); dropped ones do not.
    rejected = [r for r in by_message.values() if not r.dropped]
    dropped = [r for r in by_message.values() if r.dropped]
    assert Counter(dlq_bodies(stack)) == Counter(r.body for r in rejected)
    assert queue_depth(stack, stack.queue_url) == 0
    assert failed == MAX_RECEIVE_COUNT * len(rejected)
    emitted = emf_metrics(capsys.readouterr().out)
    assert sum(emitted[metric_names.REJECTED_EVENTS]) == len(rejected)
    assert sum(emitted[metric_names.UNKNOWN_RUN_EVENTS]) == len(dropped)
    assert sum(emitted[metric_names.EVENTS_RECORDED]) == VALID_RUNS

    per_category = Counter(r.category for r in by_message.values())
    assert len(by_message) >= 300 and all(per_category[c] == PER_CATEGORY for c in CATEGORIES)
