"""Capacity Lambda: one scheduler tick. Returns the launch plan for the state machine's Map."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from glue_audit.aws.clients import client
from glue_audit.aws.declarations import TagReader
from glue_audit.aws.estate import RateLimiter, tick_limiter
from glue_audit.aws.observability import MetricUnit, emit, logger, metrics, tracer
from glue_audit.config import metric_names
from glue_audit.config.settings import Settings, get_settings
from glue_audit.domain.clock import now as utcnow
from glue_audit.ledger import models
from glue_audit.tick import orchestrator as capacity


@cache
def settings() -> Settings:
    """Read from the environment at the first call (a cold start), never at import; cached."""
    current = get_settings()
    models.configure(current.ledger_table)
    return current


# Kept across warm invocations: the jobs' tags are re-read every declarations.TAG_REFRESH.
@cache
def tag_reader() -> TagReader:
    return TagReader()


# Kept across warm invocations: a tick right after another finds the rate's bucket as it was left.
@cache
def glue_limiter() -> RateLimiter:
    return tick_limiter()


def emit_metrics(result: capacity.TickResult) -> None:
    snapshot = result.snapshot
    metrics.add_metric(metric_names.HEADROOM_ACCOUNT_RUNS, MetricUnit.Count, snapshot.account_runs.free)
    metrics.add_metric(metric_names.HEADROOM_DPUS, MetricUnit.Count, snapshot.dpus.free)
    smallest = snapshot.smallest_subnet_headroom()
    if smallest is not None:
        metrics.add_metric(metric_names.HEADROOM_SUBNET_IPS, MetricUnit.Count, smallest)
    metrics.add_metric(metric_names.PENDING_REQUESTS, MetricUnit.Count, snapshot.pending)
    metrics.add_metric(metric_names.LAUNCHES_PLANNED, MetricUnit.Count, snapshot.launches)
    metrics.add_metric(metric_names.RECONCILED_RUNS, MetricUnit.Count, result.stats.reconciled_runs)
    metrics.add_metric(metric_names.STUCK_CLAIMS, MetricUnit.Count, result.stats.released_claims)
    metrics.add_metric(metric_names.JOBS_SKIPPED, MetricUnit.Count, len(result.stats.skipped_jobs))
    metrics.add_metric(metric_names.BAD_JOB_TAGS, MetricUnit.Count, result.stats.bad_declarations)
    metrics.add_metric(metric_names.STALE_TAG_SECONDS, MetricUnit.Seconds, result.stats.stale_tags_seconds)
    for reason, count in snapshot.deferred.items():  # one Deferred metric, by binding dimension
        emit(metric_names.DEFERRED, MetricUnit.Count, count, {metric_names.REASON: reason})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tick_id = f"tick-{context.aws_request_id}"
    clients = capacity.Clients(
        glue=client("glue"),
        ec2=client("ec2"),
        service_quotas=client("service-quotas"),
        tags=tag_reader(),
        glue_limiter=glue_limiter(),
    )
    try:
        result = capacity.run_tick(settings(), clients, utcnow(), tick_id)
    except capacity.TickSkipped as exc:
        logger.info("tick skipped", extra={"reason": str(exc)})
        metrics.add_metric(metric_names.TICKS_SKIPPED, MetricUnit.Count, 1)
        return {"tick_id": tick_id, "launches": [], "snapshot": None, "skipped": str(exc)}
    emit_metrics(result)
    logger.info(
        "tick planned",
        extra={
            "tick_id": tick_id,
            "launches": len(result.launches),
            "pending": result.snapshot.pending,
            "deferred": result.snapshot.deferred,
            "items_read": result.stats.items_read,
            "glue_calls": result.stats.glue_calls,
            "idle_jobs_read": result.stats.idle_jobs_read,
            "adopted_runs": result.stats.adopted_runs,
            "repaired_runs": result.stats.repaired_runs,
            "scheduled_requests": result.stats.scheduled_requests,
            "chained_requests": result.stats.chained_requests,
            "bad_declarations": result.stats.bad_declarations,
            "skipped_jobs": result.stats.skipped_jobs,
        },
    )
    return {"tick_id": tick_id, "launches": result.launches, "snapshot": result.snapshot.to_item()}
