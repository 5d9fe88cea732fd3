"""Launch Lambda: start one claimed request. Typed errors let the state machine Retry or Catch."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from glue_audit.aws.clients import client, single_attempt_client
from glue_audit.aws.observability import MetricUnit, logger, metrics, tracer
from glue_audit.config import metric_names
from glue_audit.config.settings import Settings, get_settings
from glue_audit.domain.clock import now as utcnow
from glue_audit.domain.errors import (
    ClaimLost,
    GlueThrottled,
    InvalidLaunch,
    LaunchDeferred,
    LaunchFailed,
    LaunchInProgress,
    LaunchOutcomeUnknown,
)
from glue_audit.flows import launch as launcher
from glue_audit.ledger import models


@cache
def settings() -> Settings:
    """Read from the environment at the first call (a cold start), never at import; cached."""
    current = get_settings()
    models.configure(current.ledger_table)
    return current


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(request_id=event.get("request_id"))
    try:
        result = launcher.launch(
            event,
            client("glue"),
            utcnow(),
            settings().max_launch_attempts,
            starter=single_attempt_client("glue"),
        )
    except LaunchDeferred:
        metrics.add_metric(metric_names.LAUNCHES_DEFERRED_BY_GLUE, MetricUnit.Count, 1)
        logger.warning("Glue refused the run for lack of capacity; request is pending again")
        raise
    except (LaunchFailed, InvalidLaunch):
        metrics.add_metric(metric_names.LAUNCHES_FAILED, MetricUnit.Count, 1)
        logger.exception("launch failed")
        raise
    except (ClaimLost, LaunchInProgress):
        metrics.add_metric(metric_names.LAUNCHES_SKIPPED, MetricUnit.Count, 1)
        logger.info("launch skipped: the request is handled elsewhere", exc_info=True)
        raise
    except LaunchOutcomeUnknown:
        metrics.add_metric(metric_names.LAUNCHES_SKIPPED, MetricUnit.Count, 1)
        logger.warning("StartJobRun outcome unknown and no run visible yet; the launch marker stays")
        raise
    except GlueThrottled:
        metrics.add_metric(metric_names.GLUE_THROTTLED, MetricUnit.Count, 1)
        raise  # the state machine retries with backoff
    if result["outcome"] == "already-launched":
        metrics.add_metric(metric_names.LAUNCHES_SKIPPED, MetricUnit.Count, 1)
    else:
        metrics.add_metric(metric_names.RUNS_STARTED, MetricUnit.Count, 1)
    logger.info("launch", extra=result)
    return result
