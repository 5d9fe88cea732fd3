"""Ingest Lambda: Glue job events from SQS into the ledger, with partial batch failures.

A record holding a value Glue can never send (``glue_audit.domain.validation``) is logged once, on its
first delivery, with the problem named, and reported as a batch item failure on every delivery, so
SQS's redrive policy moves it to the DLQ; nothing of it is written. An event of a run that GetJobRun
says does not exist is dropped with a warning and the ``UnknownRunEvents`` metric: Glue is the
source of truth, so a retry or a redrive from the DLQ would get the same answer. A failing AWS call
is reported as a batch item failure and retried.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from glue_audit.aws import ticks
from glue_audit.aws.clients import client
from glue_audit.aws.declarations import JobDeclaration, TagReader
from glue_audit.aws.observability import MetricUnit, logger, metrics, tracer
from glue_audit.config import metric_names
from glue_audit.config.settings import Settings, get_settings
from glue_audit.domain.clock import now as utcnow
from glue_audit.domain.states import is_terminal
from glue_audit.flows import ingest
from glue_audit.ledger import models


@cache
def settings() -> Settings:
    """Read from the environment at the first call (a cold start), never at import; cached."""
    current = get_settings()
    models.configure(current.ledger_table)
    return current


processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


# Kept across warm invocations: the jobs' tags are re-read every declarations.TAG_REFRESH.
@cache
def tag_reader() -> TagReader:
    return TagReader()


def declarations() -> dict[str, JobDeclaration]:
    """What the managed jobs declare (read when a run is recorded SUCCEEDED: its on-success chain)."""
    return tag_reader().declarations(settings().managed_jobs, utcnow())


def record_handler(record: SQSRecord) -> dict[str, Any]:
    try:
        event = ingest.parse_event(record.body, utcnow(), settings().event_window)
    except ingest.InvalidGlueEvent as exc:
        # SQS delivers it again until its redrive policy moves it to the DLQ; say so once, on the first delivery.
        if record.attributes.approximate_receive_count in (None, "", "1"):
            logger.error(
                "rejected Glue event",
                extra={
                    "problem": str(exc),
                    "error": type(exc).__name__,
                    "message_id": record.message_id,
                    "body": record.body[:512],
                },
            )
            metrics.add_metric(name=metric_names.REJECTED_EVENTS, unit=MetricUnit.Count, value=1)
        raise
    try:
        outcome = ingest.ingest(event, client("glue"), declarations)
    except ingest.UnknownRun as exc:  # Glue's final answer: retrying or a DLQ cannot change it
        logger.warning(
            "dropped Glue event of a run Glue does not have",
            extra={
                "problem": str(exc),
                "error": type(exc).__name__,
                "message_id": record.message_id,
                "job_name": event.job_name,
                "run_id": event.run_id,
            },
        )
        metrics.add_metric(name=metric_names.UNKNOWN_RUN_EVENTS, unit=MetricUnit.Count, value=1)
        return {"changed": False, "run_finished": False}
    except Exception:  # reported as a batch item failure: SQS delivers it again
        logger.exception(
            "could not record Glue event", extra={"job_name": event.job_name, "run_id": event.run_id}
        )
        raise
    logger.info("recorded Glue event", extra={"event_id": event.event_id, **asdict(outcome)})
    if outcome.adopted:
        metrics.add_metric(name=metric_names.ADOPTED_RUNS, unit=MetricUnit.Count, value=1)
    # A chained request waits for a tick: kick one as for a finished run.
    finished = outcome.changed and is_terminal(outcome.state)
    return {"changed": outcome.changed, "run_finished": finished or bool(outcome.chained)}


def kick_scheduler() -> None:
    """Runs finished in this batch: capacity is free now, so tick now (deduplicated per window)."""
    if not settings().scheduler_state_machine_arn:
        return
    try:
        started = ticks.start_tick(
            client("stepfunctions"),
            settings().scheduler_state_machine_arn,
            "run-finished",
            utcnow(),
            settings().tick_dedup_seconds,
        )
    except (ClientError, BotoCoreError) as exc:  # the scheduled tick still comes; never fail the batch
        logger.warning("could not start an event-driven tick", extra={"error": str(exc)})
        return
    logger.info("event-driven tick", extra={"started": started})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with processor(records=event.get("Records", []), handler=record_handler, lambda_context=context):
        processed = processor.process()
    recorded = [result for status, result, _ in processed if status == "success"]
    # Always one data point per batch, 0 included: ingest throughput on the dashboard.
    metrics.add_metric(
        name=metric_names.EVENTS_RECORDED, unit=MetricUnit.Count, value=sum(r["changed"] for r in recorded)
    )
    if any(r["run_finished"] for r in recorded):
        kick_scheduler()
    return dict(processor.response())
