"""Reading Glue job metrics from CloudWatch (namespace ``Glue``) with GetMetricData.

Glue publishes job metrics only for jobs run with ``--enable-metrics``, every 30 seconds, with the
dimensions ``JobName``, ``JobRunId`` (the run id, or ``ALL`` for the job's aggregate) and ``Type``
(``count`` for the byte counters, ``gauge`` for executors, memory and CPU). The byte counters are
deltas: the run's total is the SUM of its datapoints. Everything here is keyed by the run id, so a
query window wider than the run does no harm; the window is widened by ``FLUSH_DELAY`` because the
last datapoints of a run arrive after it completes.

The functions take the CloudWatch client as an argument: the same code reads real CloudWatch,
LocalStack or the embedded emulator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from glue_audit.insights.series import Series

GLUE_NAMESPACE = "Glue"
READ_BYTES = "glue.ALL.s3.filesystem.read_bytes"
WRITE_BYTES = "glue.ALL.s3.filesystem.write_bytes"
ALL_EXECUTORS = "glue.driver.ExecutorAllocationManager.executors.numberAllExecutors"
NEEDED_EXECUTORS = "glue.driver.ExecutorAllocationManager.executors.numberMaxNeededExecutors"
CPU_LOAD = "glue.ALL.system.cpuSystemLoad"
# Driver aggregates (Type count, deltas: SUM over the run is the run's total).
SHUFFLE_BYTES_WRITTEN = "glue.driver.aggregate.shuffleBytesWritten"
SHUFFLE_LOCAL_BYTES_READ = "glue.driver.aggregate.shuffleLocalBytesRead"
COMPLETED_STAGES = "glue.driver.aggregate.numCompletedStages"
ALL_RUNS = "ALL"  # the JobRunId Glue uses for the job's aggregate over its runs

# Glue's observability metrics (Glue 4.0+, job argument ``--enable-observability-metrics true``;
# https://docs.aws.amazon.com/glue/latest/dg/monitor-observability.html). They carry one more
# dimension, ``ObservabilityGroup``. Skewness: the ratio of the longest to the median task duration
# in a stage, normalised by the skewness factor (5 by default), 0 while the ratio is within the
# factor; the job's value is the maximum of the stages' skewness weighted by their duration.
OBSERVABILITY_ARGUMENT = "--enable-observability-metrics"
SKEWNESS_STAGE = "glue.driver.skewness.stage"
SKEWNESS_JOB = "glue.driver.skewness.job"
WORKER_UTILIZATION = "glue.driver.workerUtilization"
JOB_PERFORMANCE = "job_performance"
RESOURCE_UTILIZATION = "resource_utilization"
OBSERVABILITY_GROUPS = {
    SKEWNESS_STAGE: JOB_PERFORMANCE,
    SKEWNESS_JOB: JOB_PERFORMANCE,
    WORKER_UTILIZATION: RESOURCE_UTILIZATION,
}

COUNT = "count"
GAUGE = "gauge"

# Metrics of a run keep arriving for a little while after it completes.
FLUSH_DELAY = timedelta(minutes=10)
LEAD_TIME = timedelta(minutes=1)

# GetMetricData limits: 500 queries per call.
MAX_QUERIES_PER_CALL = 500

_HEAP = re.compile(r"^glue\.(?P<executor>\d+)\.jvm\.heap\.usage$")


def executor_heap_metric(executor_id: str) -> str:
    """``glue.<executorId>.jvm.heap.usage``: the fraction of heap an executor uses (a gauge)."""
    return f"glue.{executor_id}.jvm.heap.usage"


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One Glue job metric of one run, with the statistic to aggregate it by."""

    metric: str
    job_name: str
    run_id: str
    stat: str  # Sum | Average | Maximum
    type: str = COUNT

    def dimensions(self) -> list[dict[str, str]]:
        return glue_dimensions(self.job_name, self.run_id, self.metric, self.type)


def glue_dimensions(job_name: str, run_id: str, metric: str, kind: str) -> list[dict[str, str]]:
    """The dimensions Glue publishes ``metric`` with: JobName, JobRunId, Type, and for an
    observability metric its ObservabilityGroup (a query must name them all to match)."""
    dimensions = [
        {"Name": "JobName", "Value": job_name},
        {"Name": "JobRunId", "Value": run_id},
        {"Name": "Type", "Value": kind},
    ]
    group = OBSERVABILITY_GROUPS.get(metric)
    if group is not None:
        dimensions.append({"Name": "ObservabilityGroup", "Value": group})
    return dimensions


def metric_period(start: datetime, now: datetime) -> int:
    """The finest period CloudWatch still holds for data from ``start``: 1-minute datapoints are
    kept 15 days, 5-minute ones 63 days, hourly ones 455 days."""
    age = now - start
    if age <= timedelta(days=15):
        return 60
    if age <= timedelta(days=63):
        return 300
    return 3600


def run_window(
    started_on: datetime, completed_on: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The interval to query a run's metrics over: its whole life plus the late flush."""
    end = (completed_on + FLUSH_DELAY) if completed_on is not None else now
    return started_on - LEAD_TIME, max(end, started_on)


def _aligned(start: datetime, end: datetime, period: int) -> tuple[datetime, datetime]:
    """Start and end on period boundaries, so every datapoint falls in a whole bucket."""
    epoch_start = int(start.timestamp()) // period * period
    epoch_end = -(-int(end.timestamp()) // period) * period
    if epoch_end <= epoch_start:
        epoch_end = epoch_start + period
    return datetime.fromtimestamp(epoch_start, UTC), datetime.fromtimestamp(epoch_end, UTC)


def read_series(
    cloudwatch: Any,
    queries: Sequence[MetricQuery],
    start: datetime,
    end: datetime,
    period: int,
) -> list[Series]:
    """The series of each query between ``start`` and ``end`` at ``period`` seconds, in query order.

    One GetMetricData call per 500 queries (plus its NextToken pages). A metric CloudWatch does not
    have comes back as an empty series, never an error.
    """
    if not queries:
        return []
    start, end = _aligned(start, end, period)
    points: dict[str, list[tuple[datetime, float]]] = {f"m{i}": [] for i in range(len(queries))}
    for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
        chunk = queries[offset : offset + MAX_QUERIES_PER_CALL]
        request: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": f"m{offset + i}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": GLUE_NAMESPACE,
                            "MetricName": query.metric,
                            "Dimensions": query.dimensions(),
                        },
                        "Period": period,
                        "Stat": query.stat,
                    },
                    "ReturnData": True,
                }
                for i, query in enumerate(chunk)
            ],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            response = cloudwatch.get_metric_data(**request)
            for result in response.get("MetricDataResults", []):
                points[result["Id"]].extend(
                    zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                )
            token = response.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
    return [Series.of(points[f"m{i}"]) for i in range(len(queries))]


def read_run_series(
    cloudwatch: Any,
    queries: Sequence[MetricQuery],
    started_on: datetime,
    completed_on: datetime | None,
    now: datetime,
) -> list[Series]:
    """``read_series`` over one run's window, at the finest period still available."""
    start, end = run_window(started_on, completed_on, now)
    return read_series(cloudwatch, queries, start, end, metric_period(start, now))


def run_metric_names(cloudwatch: Any, job_name: str, run_id: str) -> dict[str, str]:
    """The metrics CloudWatch has for the run (from ListMetrics): name -> its ``Type`` dimension."""
    found: dict[str, str] = {}
    paginator = cloudwatch.get_paginator("list_metrics")
    for page in paginator.paginate(
        Namespace=GLUE_NAMESPACE,
        Dimensions=[{"Name": "JobName", "Value": job_name}, {"Name": "JobRunId", "Value": run_id}],
    ):
        for metric in page.get("Metrics", []):
            dims = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions", [])}
            found[metric.get("MetricName", "")] = str(dims.get("Type") or GAUGE)
    return found


def heap_executors(names: Iterable[str]) -> list[str]:
    """The executors among the metric names that reported heap usage, numerically sorted."""
    found = {match.group("executor") for name in names if (match := _HEAP.match(name))}
    return sorted(found, key=int)


def executor_ids(cloudwatch: Any, job_name: str, run_id: str) -> list[str]:
    """The executors that reported heap usage in the run (from ListMetrics), numerically sorted."""
    return heap_executors(run_metric_names(cloudwatch, job_name, run_id))
