"""Powertools logger, metrics and tracer shared by the handlers and the domain.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE (set by the Terraform functions module).

``metrics`` (flushed by ``@metrics.log_metrics``) carries the metrics whose only dimension is
``service``. A metric with dimensions of its own (a job, a job pair, a deferral reason:
``glue_audit.config.metric_names.DIMENSIONS_OF``) goes through ``emit``: Powertools ``single_metric``, one
EMF document with ``service`` plus exactly the dimensions the metric declares, so a CloudWatch
alarm on one job's series can name that job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from glue_audit.config import metric_names

logger = Logger()
metrics = Metrics()
tracer = Tracer()

NAMESPACE_VARIABLE = "POWERTOOLS_METRICS_NAMESPACE"


class MetricDimensionsError(ValueError):
    """``emit`` was given dimensions other than those the metric declares in metrics.json."""


def emit(name: str, unit: MetricUnit, value: float, dimensions: Mapping[str, str]) -> None:
    """Emit one metric with its own dimensions (and ``service``) as one EMF document now.

    ``dimensions`` must name exactly ``metric_names.DIMENSIONS_OF[name]``, each with a non-empty
    value: the dashboard and the alarms select the series by these names.
    """
    expected = set(metric_names.DIMENSIONS_OF.get(name, ()))
    if not expected:
        raise MetricDimensionsError(f"{name} has no dimensions of its own: add it to `metrics` instead")
    if set(dimensions) != expected:
        raise MetricDimensionsError(
            f"{name} carries the dimensions {sorted(expected)}, got {sorted(dimensions)}"
        )
    empty = sorted(key for key, dimension in dimensions.items() if not str(dimension).strip())
    if empty:
        raise MetricDimensionsError(f"{name}: empty value for the dimension(s) {', '.join(empty)}")
    # single_metric prints whatever POWERTOOLS_METRICS_DISABLED says (Powertools 3); Metrics does not.
    if is_metrics_disabled():
        return
    namespace = os.environ.get(NAMESPACE_VARIABLE) or metric_names.NAMESPACE
    with single_metric(
        name=name, unit=unit, value=value, namespace=namespace, default_dimensions=dict(dimensions)
    ):
        pass


__all__ = ["MetricDimensionsError", "MetricUnit", "emit", "logger", "metrics", "tracer"]
