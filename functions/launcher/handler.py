"""Launch Lambda: start one claimed request. Typed errors let the state machine Retry or Catch."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from glue_audit import launcher, metric_names, models
from glue_audit.aws import client, single_attempt_client
from glue_audit.errors import (
    ClaimLost,
    GlueThrottled,
    InvalidLaunch,
    LaunchDeferred,
    LaunchFailed,
    LaunchInProgress,
    LaunchOutcomeUnknown,
)
from glue_audit.models import utcnow
from glue_audit.observability import MetricUnit, logger, metrics, tracer
from glue_audit.settings import get_settings

settings = get_settings()
models.configure(settings.ledger_table)


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
            settings.max_launch_attempts,
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
