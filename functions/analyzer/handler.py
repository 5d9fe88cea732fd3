"""Analyzer Lambda: on a schedule, records the insights of runs that finished a few minutes ago.

The schedule's input may tune one call (all optional, whole numbers):
``{"min_age_seconds": 300, "max_age_seconds": 3600, "limit": 25}``. The response counts what the
call did (analyzed, no_data, waiting, too_young, failed, reprocessing, stragglers).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from glue_audit.aws.clients import client
from glue_audit.aws.observability import MetricUnit, logger, metrics, tracer
from glue_audit.config import metric_names
from glue_audit.config.settings import Settings, get_settings
from glue_audit.domain.clock import now as utcnow
from glue_audit.insights.analysis import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_AGE,
    DEFAULT_MIN_AGE,
    analyze_finished_runs,
)
from glue_audit.ledger import models


@cache
def settings() -> Settings:
    """Read from the environment at the first call (a cold start), never at import; cached."""
    current = get_settings()
    models.configure(current.ledger_table)
    return current


class InvalidAnalyzerInput(ValueError):
    """The schedule's input has a value that is not a whole number >= its minimum."""


def _whole(event: dict[str, Any], name: str, default: int, minimum: int) -> int:
    value = event.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidAnalyzerInput(f"{name}={value!r}: expected a whole number >= {minimum}")
    return value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    settings()  # points the ledger models at the table, at the first call
    event = event if isinstance(event, dict) else {}
    min_age = _whole(event, "min_age_seconds", int(DEFAULT_MIN_AGE.total_seconds()), 0)
    max_age = _whole(event, "max_age_seconds", int(DEFAULT_MAX_AGE.total_seconds()), 0)
    limit = _whole(event, "limit", DEFAULT_LIMIT, 1)
    summary = analyze_finished_runs(
        utcnow(),
        client("cloudwatch"),
        client("glue"),
        client("s3"),
        min_age=timedelta(seconds=min_age),
        limit=limit,
        max_age=timedelta(seconds=max_age),
    )
    metrics.add_metric(name=metric_names.RUNS_ANALYZED, unit=MetricUnit.Count, value=summary.analyzed)
    metrics.add_metric(name=metric_names.ANALYSIS_FAILURES, unit=MetricUnit.Count, value=summary.failed)
    return summary.as_dict()
