"""Gathering what the analysis needs: runs from the ledger, job definitions and tags from Glue,
byte counts from CloudWatch (or the run reports in S3), executor series.

Every function takes its AWS clients as arguments. Ledger reads use the ``history`` index only
(Query, newest or oldest first, bounded), never a Scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError
from pynamodb.expressions.condition import Condition

from glue_audit.aws import clients as aws
from glue_audit.aws.clients import error_code
from glue_audit.aws.declarations import JOB_TAGS
from glue_audit.aws.observability import logger
from glue_audit.domain.states import is_terminal
from glue_audit.insights import cloudwatch as cw
from glue_audit.insights import flow, stragglers
from glue_audit.insights.run_report import RunReport, read_run_report, report_prefix
from glue_audit.insights.series import Series
from glue_audit.ledger.models import LedgerItem, RunItem, iso

UPSTREAM_TAG = JOB_TAGS["upstream"]  # glue_audit/facts/job_tags.json, as the glue_jobs module writes it
METRICS_ARGUMENT = "--enable-metrics"
# An upstream run that completed in a window may have started long before it: Glue's default
# run timeout is 48 hours, so the upstream history is read from that much before the window.
UPSTREAM_LOOKBACK = timedelta(hours=48)
MAX_UPSTREAM_RUNS = 1000
MAX_FLOW_RUNS = 500
_NOT_FOUND = "EntityNotFoundException"


@dataclass(frozen=True, slots=True)
class JobDefinition:
    """What the insights read of a job's definition: its default arguments and its tags."""

    name: str
    default_arguments: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def metrics_enabled(self) -> bool:
        value = self.default_arguments.get(METRICS_ARGUMENT)
        return value is not None and value.strip().lower() != "false"

    @property
    def bookmark_option(self) -> str | None:
        """``--job-bookmark-option`` from the job's default arguments (None: not set)."""
        value = self.default_arguments.get(flow.BOOKMARK_OPTION)
        return value.strip() if value and value.strip() else None

    @property
    def upstream(self) -> str | None:
        value = self.tags.get(UPSTREAM_TAG)
        return value.strip() if value and value.strip() else None


@cache
def partition_of(region: str) -> str:
    """The AWS partition of ``region`` (aws, aws-cn, ...). Cached: botocore reads its endpoints
    file (about 0.25 s of JSON) for each new session that asks."""
    return str(boto3.session.Session().get_partition_for_region(region))


def _caller_account() -> str:
    return str(aws.client("sts").get_caller_identity()["Account"])


class JobCatalog:
    """Glue job definitions and tags, read once per job and kept for the catalog's lifetime."""

    def __init__(self, glue: Any, account_id: Callable[[], str] = _caller_account) -> None:
        self.glue = glue
        self._account_id = account_id
        self._account: str | None = None
        self._jobs: dict[str, JobDefinition | None] = {}
        self._runs: dict[tuple[str, str], Mapping[str, Any] | None] = {}

    def job(self, name: str) -> JobDefinition | None:
        """The job, or None when Glue does not know it."""
        if name not in self._jobs:
            try:
                definition = self.glue.get_job(JobName=name)["Job"]
            except ClientError as exc:
                if error_code(exc) != _NOT_FOUND:
                    raise
                self._jobs[name] = None
            else:
                self._jobs[name] = JobDefinition(
                    name, dict(definition.get("DefaultArguments") or {}), self._tags(name)
                )
        return self._jobs[name]

    def arn(self, name: str) -> str:
        region = self.glue.meta.region_name
        partition = partition_of(region)
        if self._account is None:
            self._account = self._account_id()
        return f"arn:{partition}:glue:{region}:{self._account}:job/{name}"

    def _tags(self, name: str) -> dict[str, str]:
        try:
            return dict(self.glue.get_tags(ResourceArn=self.arn(name)).get("Tags") or {})
        except ClientError as exc:  # tags are a convenience; without them flow needs both names
            logger.warning("could not read job tags", extra={"job_name": name, "error": str(exc)})
            return {}

    def job_run(self, job_name: str, run_id: str) -> Mapping[str, Any] | None:
        """Glue's ``JobRun`` (for its Arguments and times), or None when Glue no longer has it."""
        key = (job_name, run_id)
        if key not in self._runs:
            try:
                self._runs[key] = self.glue.get_job_run(
                    JobName=job_name, RunId=run_id, PredecessorsIncluded=False
                )["JobRun"]
            except ClientError as exc:
                if error_code(exc) != _NOT_FOUND:
                    raise
                self._runs[key] = None
        return self._runs[key]

    def run_metrics_enabled(self, job_name: str, run_id: str) -> bool | None:
        """Whether the run had ``--enable-metrics``: its own argument, else the job's default
        argument (None: Glue knows neither the run nor the job)."""
        return self.run_flag(job_name, run_id, METRICS_ARGUMENT)

    def run_observability_enabled(self, job_name: str, run_id: str) -> bool | None:
        """Whether the run had ``--enable-observability-metrics`` (None: not known)."""
        return self.run_flag(job_name, run_id, cw.OBSERVABILITY_ARGUMENT)

    def run_flag(self, job_name: str, run_id: str, argument: str) -> bool | None:
        """A true/false job argument of the run: its own, else the job's default (None: Glue
        knows neither the run nor the job)."""
        run = self.job_run(job_name, run_id) or {}
        value = (run.get("Arguments") or {}).get(argument)
        if value is None:
            job = self.job(job_name)
            if job is None:
                return None
            value = job.default_arguments.get(argument)
        return value is not None and str(value).strip().lower() != "false"

    def report_prefix(self, job_name: str, run_id: str) -> str | None:
        run = self.job_run(job_name, run_id)
        job = self.job(job_name)
        return report_prefix((run or {}).get("Arguments"), job.default_arguments if job is not None else None)


# --- Ledger reads (the history index, never a Scan) -----------------------------------------------


def runs_between(
    job_name: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    newest_first: bool = True,
    limit: int | None = None,
) -> Iterator[RunItem]:
    """The job's runs that started in ``[since, until]``, from the ledger's history index."""
    low = iso(since) if since is not None else None
    high = f"{iso(until)}#~" if until is not None else None
    condition: Condition | None = None
    if low is not None and high is not None:
        condition = LedgerItem.history_sk.between(low, high)
    elif low is not None:
        condition = LedgerItem.history_sk >= low
    elif high is not None:
        condition = LedgerItem.history_sk <= high
    for item in LedgerItem.history_index.query(
        job_name, condition, scan_index_forward=not newest_first, limit=limit
    ):
        if isinstance(item, RunItem):
            yield item


def run_started(run: RunItem) -> datetime:
    """When the run started: Glue's StartedOn, else the first time the ledger saw it."""
    return run.started_on or run.earliest_observed_at or run.first_seen_at


def run_completed(run: RunItem) -> datetime | None:
    """When the run completed; None while it is active."""
    if not is_terminal(run.state):
        return None
    return run.completed_on or run.state_at


# --- Bytes --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measured:
    """What CloudWatch (or the run report) says a run read and wrote."""

    bytes_read: float | None
    bytes_written: float | None
    source: str | None  # cloudwatch | report | None
    report: RunReport | None = None

    @property
    def empty(self) -> bool:
        return self.bytes_read is None and self.bytes_written is None


class ByteReader:
    """Bytes read and written per run: the SUM of Glue's S3 byte metrics over the run, or the
    run report when CloudWatch has nothing for it. Batches runs into few GetMetricData calls."""

    def __init__(self, cloudwatch: Any, s3: Any, catalog: JobCatalog, now: datetime) -> None:
        self.cloudwatch = cloudwatch
        self.s3 = s3
        self.catalog = catalog
        self.now = now
        self._cache: dict[tuple[str, str], Measured] = {}

    def measure(self, job_name: str, runs: Iterable[RunItem]) -> dict[str, Measured]:
        """What each run read and wrote (the job's runs measured so far, by run id)."""
        wanted = [run for run in runs if (job_name, run.run_id) not in self._cache]
        if wanted:
            queries = [
                cw.MetricQuery(metric, job_name, run.run_id, "Sum", cw.COUNT)
                for run in wanted
                for metric in (cw.READ_BYTES, cw.WRITE_BYTES)
            ]
            start = min(run_started(run) for run in wanted) - cw.LEAD_TIME
            end = max((run_completed(run) or self.now) for run in wanted) + cw.FLUSH_DELAY
            series = cw.read_series(self.cloudwatch, queries, start, end, cw.metric_period(start, self.now))
            for index, run in enumerate(wanted):
                read, written = series[2 * index].total(), series[2 * index + 1].total()
                measured = Measured(
                    read, written, "cloudwatch" if read is not None or written is not None else None
                )
                if measured.empty:
                    measured = self._from_report(job_name, run.run_id) or measured
                self._cache[(job_name, run.run_id)] = measured
        return {run_id: self._cache[(job, run_id)] for job, run_id in self._cache if job == job_name}

    def minute_series(self, job_name: str, runs: Sequence[RunItem], metric: str) -> tuple[Series, int]:
        """The job's datapoints of ``metric`` over ``runs``, all runs summed per timestamp, at the
        finest period CloudWatch still holds for the oldest run; ``(series, period seconds)``."""
        if not runs:
            return Series(), 60
        start = min(run_started(run) for run in runs) - cw.LEAD_TIME
        end = max((run_completed(run) or self.now) for run in runs) + cw.FLUSH_DELAY
        period = cw.metric_period(start, self.now)
        queries = [cw.MetricQuery(metric, job_name, run.run_id, "Sum", cw.COUNT) for run in runs]
        totals: dict[datetime, float] = {}
        for series in cw.read_series(self.cloudwatch, queries, start, end, period):
            for at, value in series:
                totals[at] = totals.get(at, 0.0) + value
        return Series.of(totals.items()), period

    def report(self, job_name: str, run_id: str) -> RunReport | None:
        return read_run_report(self.s3, self.catalog.report_prefix(job_name, run_id), job_name, run_id)

    def _from_report(self, job_name: str, run_id: str) -> Measured | None:
        report = self.report(job_name, run_id)
        if report is None:
            return None
        return Measured(float(report.bytes_in), float(report.bytes_out), "report", report)


def run_bytes(run: RunItem, measured: Measured | None) -> flow.RunBytes:
    return flow.RunBytes(
        run_id=run.run_id,
        started_on=run_started(run),
        completed_on=run_completed(run),
        bytes_read=measured.bytes_read if measured else None,
        bytes_written=measured.bytes_written if measured else None,
        source=measured.source if measured else None,
    )


# --- Flow ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowReport:
    upstream: str
    downstream: str
    upstream_from: str  # argument | tag
    results: list[flow.FlowResult]
    summary: flow.FlowSummary
    periods: list[flow.PeriodFlow] = field(default_factory=list)
    periods_note: str | None = None


def runs_before(run: RunItem, limit: int) -> list[RunItem]:
    """The ``limit`` runs of the same job just before ``run`` in the history, newest first."""
    if not run.history_sk or not run.job_name:
        return []
    return [
        item
        for item in LedgerItem.history_index.query(
            run.job_name, LedgerItem.history_sk < run.history_sk, scan_index_forward=False, limit=limit
        )
        if isinstance(item, RunItem)
    ]


def load_flow(
    downstream: str,
    upstream: str,
    *,
    reader: ByteReader,
    since: datetime | None = None,
    until: datetime | None = None,
    last: int | None = None,
    upstream_from: str = "argument",
    periods: bool = False,
) -> FlowReport:
    """The flow ratio of the newest ``last`` downstream runs started in ``[since, until]``.

    The runs just before them are read too, for the window of the first one and for persistence
    (a verdict does not depend on how many runs are shown). With ``periods``, also the ratio per
    30-minute trigger period over the same runs (``flow.period_flows``, the seed's dashboard).
    """
    count = last if last is not None else MAX_FLOW_RUNS
    chosen = list(reversed(list(runs_between(downstream, since, until, newest_first=True, limit=count))))
    if not chosen:
        return FlowReport(upstream, downstream, upstream_from, [], flow.summarize([], upstream, downstream))
    before = runs_before(chosen[0], flow.PERSIST_LOOKBACK)
    context = list(reversed(before[: flow.PERSIST_LOOKBACK - 1]))
    boundary = before[flow.PERSIST_LOOKBACK - 1] if len(before) >= flow.PERSIST_LOOKBACK else None
    measured_runs = context + chosen
    previous_start = run_started(boundary) if boundary is not None else None
    window_low = previous_start or (run_started(measured_runs[0]) - flow.FIRST_WINDOW)
    window_high = run_started(measured_runs[-1])
    upstream_runs = [
        run
        for run in runs_between(
            upstream, window_low - UPSTREAM_LOOKBACK, window_high, newest_first=True, limit=MAX_UPSTREAM_RUNS
        )
        if (completed := run_completed(run)) is not None and window_low < completed <= window_high
    ]
    down_bytes = reader.measure(downstream, measured_runs)
    up_bytes = reader.measure(upstream, upstream_runs)
    windows = flow.flow_windows(
        [run_bytes(run, down_bytes.get(run.run_id)) for run in measured_runs],
        [run_bytes(run, up_bytes.get(run.run_id)) for run in upstream_runs],
        previous_start,
    )
    job = reader.catalog.job(downstream)
    results = flow.flow_results(
        windows,
        upstream,
        downstream_job=downstream,
        bookmark_option=job.bookmark_option if job is not None else None,
    )[len(context) :]
    report = FlowReport(
        upstream, downstream, upstream_from, results, flow.summarize(results, upstream, downstream)
    )
    if not periods:
        return report
    return _with_periods(report, reader, chosen, upstream_runs)


def _with_periods(
    report: FlowReport, reader: ByteReader, downstream_runs: list[RunItem], upstream_runs: list[RunItem]
) -> FlowReport:
    """The per-period view: 30-minute clock periods (UTC) from the one where the first shown
    downstream run or an upstream run of its window started, to the one where the last shown
    downstream run ended; the bytes of every run of either job that started in those periods."""
    every = flow.TRIGGER_PERIOD
    shown = {run_id for result in report.results for run_id in result.upstream_run_ids}
    involved = downstream_runs + [run for run in upstream_runs if run.run_id in shown]
    first = min(run_started(run) for run in involved)
    last = max((run_completed(run) or reader.now) for run in downstream_runs)
    seconds = int(every.total_seconds())
    start = datetime.fromtimestamp(int(first.timestamp()) // seconds * seconds, UTC)
    end = datetime.fromtimestamp(-(-int(last.timestamp()) // seconds) * seconds, UTC)
    downstream_runs = list(runs_between(report.downstream, start, end, limit=MAX_FLOW_RUNS))
    upstream_runs = list(runs_between(report.upstream, start, end, limit=MAX_UPSTREAM_RUNS))
    read, read_period = reader.minute_series(report.downstream, downstream_runs, cw.READ_BYTES)
    written, write_period = reader.minute_series(report.upstream, upstream_runs, cw.WRITE_BYTES)
    if max(read_period, write_period) > seconds:
        note = (
            f"no per-period view: CloudWatch keeps only {max(read_period, write_period) // 60}-minute "
            f"datapoints for runs this old, coarser than the {seconds // 60}-minute trigger period"
        )
        return replace(report, periods_note=note)
    if not read and not written:
        return replace(
            report, periods_note="no per-period view: CloudWatch has no byte datapoints for these runs"
        )
    flows = flow.period_flows(
        read,
        written,
        start,
        end,
        every,
        downstream_runs=[run_bytes(run, None) for run in downstream_runs],
        upstream_runs=[run_bytes(run, None) for run in upstream_runs],
    )
    return replace(report, periods=flows)


# --- Stragglers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExecutorSeries:
    needed: Series
    allocated: Series
    heap: dict[str, Series]
    period: int
    completed_stages: Series = field(default_factory=Series)
    shuffle_written: Series = field(default_factory=Series)
    shuffle_read: Series = field(default_factory=Series)
    observability: stragglers.Observability = field(default_factory=stragglers.Observability)


def read_executor_series(
    cloudwatch: Any,
    job_name: str,
    run_id: str,
    started_on: datetime,
    completed_on: datetime | None,
    now: datetime,
) -> ExecutorSeries:
    names = cw.run_metric_names(cloudwatch, job_name, run_id)
    executors = cw.heap_executors(names)
    # Observability metrics are queried with the Type CloudWatch lists for them (gauge if unlisted).
    observed = [cw.SKEWNESS_STAGE, cw.SKEWNESS_JOB, cw.WORKER_UTILIZATION]
    queries = [
        cw.MetricQuery(cw.NEEDED_EXECUTORS, job_name, run_id, "Maximum", cw.GAUGE),
        cw.MetricQuery(cw.ALL_EXECUTORS, job_name, run_id, "Average", cw.GAUGE),
        cw.MetricQuery(cw.COMPLETED_STAGES, job_name, run_id, "Sum", cw.COUNT),
        cw.MetricQuery(cw.SHUFFLE_BYTES_WRITTEN, job_name, run_id, "Sum", cw.COUNT),
        cw.MetricQuery(cw.SHUFFLE_LOCAL_BYTES_READ, job_name, run_id, "Sum", cw.COUNT),
        cw.MetricQuery(
            cw.SKEWNESS_STAGE, job_name, run_id, "Maximum", names.get(cw.SKEWNESS_STAGE, cw.GAUGE)
        ),
        cw.MetricQuery(cw.SKEWNESS_JOB, job_name, run_id, "Maximum", names.get(cw.SKEWNESS_JOB, cw.GAUGE)),
        cw.MetricQuery(
            cw.WORKER_UTILIZATION, job_name, run_id, "Average", names.get(cw.WORKER_UTILIZATION, cw.GAUGE)
        ),
        *(
            cw.MetricQuery(cw.executor_heap_metric(e), job_name, run_id, "Average", cw.GAUGE)
            for e in executors
        ),
    ]
    skip = 5 + len(observed)
    start, end = cw.run_window(started_on, completed_on, now)
    period = cw.metric_period(start, now)
    series = cw.read_series(cloudwatch, queries, start, end, period)
    return ExecutorSeries(
        series[0],
        series[1],
        dict(zip(executors, series[skip:], strict=True)),
        period,
        completed_stages=series[2],
        shuffle_written=series[3],
        shuffle_read=series[4],
        observability=stragglers.Observability(series[5], series[6], series[7]),
    )


def detect_run_straggler(
    cloudwatch: Any,
    job_name: str,
    run_id: str,
    started_on: datetime,
    completed_on: datetime | None,
    now: datetime,
    *,
    metrics_enabled: bool | None = None,
    observability_enabled: bool | None = None,
) -> tuple[stragglers.StragglerResult, ExecutorSeries]:
    """The straggler verdict of one run: from the executors' balance (and skewness when the run
    has observability metrics), with its shape (stages and shuffle) beside it.
    ``metrics_enabled`` / ``observability_enabled``: whether the run had --enable-metrics /
    --enable-observability-metrics (None: not known)."""
    series = read_executor_series(cloudwatch, job_name, run_id, started_on, completed_on, now)
    result = stragglers.detect_straggler(
        series.needed,
        series.allocated,
        series.heap,
        started_on,
        completed_on,
        series.period,
        observability=series.observability,
        observability_enabled=observability_enabled,
    )
    shape = stragglers.run_shape(
        series.completed_stages, series.shuffle_written, series.shuffle_read, metrics_enabled=metrics_enabled
    )
    return replace(result, shape=shape), series
