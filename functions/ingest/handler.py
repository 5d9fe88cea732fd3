"""Ingest Lambda: Glue job events from SQS into the ledger, with partial batch failures.

A record that cannot be parsed is logged once and reported as a batch item failure, so SQS's
redrive policy moves it to the DLQ; a failing AWS call is reported the same way and retried.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from glue_audit import ingest, models
from glue_audit.aws import client
from glue_audit.observability import MetricUnit, logger, metrics, tracer
from glue_audit.settings import get_settings

settings = get_settings()
models.configure(settings.ledger_table)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    try:
        event = ingest.parse_event(record.body)
    except ingest.InvalidGlueEvent as exc:
        logger.error(
            "rejected Glue event",
            extra={
                "problem": str(exc),
                "message_id": record.message_id,
                "receive_count": record.attributes.approximate_receive_count,
                "body": record.body[:512],
            },
        )
        metrics.add_metric(name="RejectedEvents", unit=MetricUnit.Count, value=1)
        raise
    outcome = ingest.ingest(event, client("glue"))
    logger.info("recorded Glue event", extra={"event_id": event.event_id, **asdict(outcome)})
    if outcome.adopted:
        metrics.add_metric(name="AdoptedRuns", unit=MetricUnit.Count, value=1)
    return {"job_name": outcome.job_name, "run_id": outcome.run_id, "state": outcome.state}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
