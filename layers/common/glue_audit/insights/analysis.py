"""Insights for finished runs, recorded in the ledger once their job metrics are in.

Ingest moves a run that finishes into the ``ANALYSIS`` partition of the sparse ``active`` index.
``analyze_finished_runs`` (the analyzer Lambda, on a schedule) takes the runs that finished at least
``min_age`` ago (Glue's job metrics arrive minutes late), and for each:

* fills ``bytes_read`` / ``bytes_written`` (SUM of Glue's S3 byte metrics over the run, or the run
  report's ``bytes_in`` / ``bytes_out`` when the run has no metrics);
* keeps the run report (records in/out, malformed records) when the job writes one;
* when the job has an upstream (tag ``glue-audit:upstream``), records the flow ratio and verdict of
  the run (``insights.flow``, rules in ``glue_audit.insights.flow``);
* records the straggler verdict (``insights.straggler``, rule in ``glue_audit.insights.stragglers``);
* sets ``analyzed_at`` so the run leaves the ANALYSIS partition, and emits the metrics FlowRatio and
  ReprocessingDetected (1 only for persistent reprocessing) with the job pair (UpstreamJob,
  DownstreamJob), StragglerDetected and DpuHours with the job (JobName).

A run with no data at all (no metrics, no report) is left for the next tick until ``max_age`` after
it finished; then it is recorded as ``{"verdict": "no data", "reason": ...}``. A run of a job that
has neither ``--enable-metrics`` nor a report location is recorded as "no data" at once: nothing
will come.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PutError, PynamoDBException

from glue_audit.aws.observability import MetricUnit, emit, logger
from glue_audit.config import metric_names
from glue_audit.insights import flow, stragglers
from glue_audit.insights.collect import (
    ByteReader,
    JobCatalog,
    Measured,
    detect_run_straggler,
    load_flow,
    run_completed,
    run_started,
)
from glue_audit.insights.run_report import RunReport
from glue_audit.insights.times import iso_z
from glue_audit.ledger.models import ANALYSIS, LedgerItem, RunItem
from glue_audit.ledger.writes import WRITE_ATTEMPTS, LedgerConflict, get_run, is_condition_failure

DEFAULT_MIN_AGE = timedelta(minutes=5)
DEFAULT_MAX_AGE = timedelta(hours=1)
DEFAULT_LIMIT = 25
# How many ANALYSIS entries one call looks at (young or waiting ones included), so a backlog of runs
# that are not ready cannot make a call unbounded.
MAX_EXAMINED = 500

OK = "ok"
NO_DATA = "no data"


@dataclass
class AnalysisSummary:
    """What one call did, by outcome."""

    analyzed: int = 0  # insights recorded from data
    no_data: int = 0  # recorded as "no data"
    waiting: int = 0  # old enough but no data yet: retried on the next call
    too_young: int = 0  # finished less than min_age ago
    failed: int = 0  # an AWS or ledger error; retried on the next call
    reprocessing: int = 0
    stragglers: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "analyzed": self.analyzed,
            "no_data": self.no_data,
            "waiting": self.waiting,
            "too_young": self.too_young,
            "failed": self.failed,
            "reprocessing": self.reprocessing,
            "stragglers": self.stragglers,
        }


@dataclass(frozen=True, slots=True)
class RunInsights:
    """The outcome for one run: what to record, or None to try again later."""

    insights: dict[str, Any] | None
    measured: Measured | None = None
    flow_result: flow.FlowResult | None = None
    straggler: stragglers.StragglerResult | None = None
    upstream: str | None = None  # the job whose output the run read (the flow ratio's pair)


def analyze_finished_runs(
    now: datetime,
    cloudwatch: Any,
    glue: Any,
    s3: Any,
    min_age: timedelta = DEFAULT_MIN_AGE,
    limit: int = DEFAULT_LIMIT,
    *,
    max_age: timedelta = DEFAULT_MAX_AGE,
    catalog: JobCatalog | None = None,
) -> AnalysisSummary:
    """Analyse up to ``limit`` runs of the ANALYSIS partition that finished ``min_age`` ago or more."""
    catalog = catalog or JobCatalog(glue)
    reader = ByteReader(cloudwatch, s3, catalog, now)
    summary = AnalysisSummary()
    examined = 0
    for item in LedgerItem.active_index.query(ANALYSIS):
        if summary.analyzed + summary.no_data >= limit or examined >= MAX_EXAMINED:
            break
        examined += 1
        if not isinstance(item, RunItem):
            continue
        finished = run_completed(item)
        if finished is None or now - finished < min_age:
            summary.too_young += 1
            continue
        try:
            outcome = analyze_run(item, now, catalog, reader, max_age=max_age)
            if outcome.insights is None:
                summary.waiting += 1
                continue
            if not record(item, outcome, now):
                continue
        except (ClientError, BotoCoreError, PynamoDBException, LedgerConflict):
            logger.exception(
                "could not analyse run", extra={"job_name": item.job_name, "run_id": item.run_id}
            )
            summary.failed += 1
            continue
        _count(summary, outcome)
        _emit(item, outcome)
    logger.info("analysed finished runs", extra=summary.as_dict())
    return summary


def analyze_run(
    run: RunItem,
    now: datetime,
    catalog: JobCatalog,
    reader: ByteReader,
    *,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> RunInsights:
    """Gather and judge one finished run (no ledger write)."""
    job_name, run_id = str(run.job_name), run.run_id
    started, completed = run_started(run), run_completed(run)
    job = catalog.job(job_name)
    measured = reader.measure(job_name, [run])[run_id]  # metrics, else the run report
    report = measured.report if measured.source == "report" else reader.report(job_name, run_id)
    straggler, _ = detect_run_straggler(
        reader.cloudwatch,
        job_name,
        run_id,
        started,
        completed,
        now,
        metrics_enabled=catalog.run_metrics_enabled(job_name, run_id),
    )
    has_metrics = (measured.source == "cloudwatch") or straggler.verdict != stragglers.NO_DATA
    if not has_metrics and report is None:
        finished = completed or started
        nothing_will_come = not _metrics_enabled(catalog, job_name, run_id) and not catalog.report_prefix(
            job_name, run_id
        )
        if now - finished < max_age and not nothing_will_come:
            return RunInsights(None)
        reason = f"no job metrics and no run report for run {run_id} of {job_name} " + (
            "(the job runs without --enable-metrics and has no --glue_audit_report_uri)"
            if nothing_will_come
            else f"{(now - finished).total_seconds() / 60:.0f} min after it finished "
            "(is the job run with --enable-metrics?)"
        )
        insights = {"verdict": NO_DATA, "reason": reason, "analyzed_at": iso_z(now), **_cost(run)}
        return RunInsights(insights, measured)

    flow_result: flow.FlowResult | None = None
    upstream = job.upstream if job is not None else None
    if upstream:
        report_flow = load_flow(job_name, upstream, reader=reader, until=started, last=1)
        flow_result = next((r for r in report_flow.results if r.run_id == run_id), None)
    findings = _findings(flow_result, straggler)
    insights = {
        "verdict": findings[0] if findings else OK,
        "findings": findings,
        "analyzed_at": iso_z(now),
        "bytes": {"read": measured.bytes_read, "written": measured.bytes_written, "source": measured.source},
        "report": _report(report),
        "flow": ({"upstream": upstream, **flow_result.as_dict()} if flow_result is not None else None),
        "straggler": straggler.as_dict(),
        **_cost(run),
    }
    return RunInsights(insights, measured, flow_result, straggler, upstream)


def _metrics_enabled(catalog: JobCatalog, job_name: str, run_id: str) -> bool:
    return catalog.run_metrics_enabled(job_name, run_id) is not False  # unknown: do not assume the worst


def _findings(flow_result: flow.FlowResult | None, straggler: stragglers.StragglerResult) -> list[str]:
    findings: list[str] = []
    if flow_result is not None and flow_result.verdict == flow.REPROCESSING:
        findings.append(flow.REPROCESSING)
    if straggler.flagged:
        findings.append(stragglers.STRAGGLER)
    if flow_result is not None and flow_result.verdict == flow.BACKLOG:
        findings.append(flow.BACKLOG)
    return findings


def _report(report: RunReport | None) -> dict[str, Any] | None:
    return report.as_dict() if report is not None else None


def _cost(run: RunItem) -> dict[str, Any]:
    return {"dpu_hours": run.dpu_seconds / 3600 if run.dpu_seconds is not None else None}


def record(run: RunItem, outcome: RunInsights, now: datetime) -> bool:
    """Write the insights and take the run out of the ANALYSIS partition. False when another
    writer analysed it first. Conditional on the version read; a conflict re-reads and retries."""

    def fill(item: RunItem) -> None:
        if outcome.measured is not None:
            if outcome.measured.bytes_read is not None:
                item.bytes_read = outcome.measured.bytes_read
            if outcome.measured.bytes_written is not None:
                item.bytes_written = outcome.measured.bytes_written
        item.insights = outcome.insights
        item.analyzed_at = now
        item.updated_at = now
        item.mark_active(False)

    return _save_with_retry(run, fill)


def _save_with_retry(run: RunItem, fill: Callable[[RunItem], None]) -> bool:
    current: RunItem | None = run
    for _ in range(WRITE_ATTEMPTS):
        if current is None or current.analyzed_at is not None or current.active_pk != ANALYSIS:
            return False
        fill(current)
        try:
            current.save()
            return True
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            current = get_run(str(run.job_name), run.run_id)
    raise LedgerConflict(f"run {run.job_name}/{run.run_id}: {WRITE_ATTEMPTS} conflicting writes in a row")


def _count(summary: AnalysisSummary, outcome: RunInsights) -> None:
    assert outcome.insights is not None
    if outcome.insights.get("verdict") == NO_DATA:
        summary.no_data += 1
        return
    summary.analyzed += 1
    if outcome.flow_result is not None and outcome.flow_result.persistent:
        summary.reprocessing += 1
    if outcome.straggler is not None and outcome.straggler.flagged:
        summary.stragglers += 1


def _emit(run: RunItem, outcome: RunInsights) -> None:
    """The run's metrics, each with its job (DpuHours, StragglerDetected) or its job pair (FlowRatio,
    ReprocessingDetected) as dimensions, so an alarm names the job that fired."""
    job = {metric_names.JOB: str(run.job_name)}
    if run.dpu_seconds is not None:
        emit(metric_names.DPU_HOURS, MetricUnit.NoUnit, run.dpu_seconds / 3600, job)
    result = outcome.flow_result
    if (
        result is not None
        and outcome.upstream
        and result.verdict in (flow.HEALTHY, flow.REPROCESSING, flow.BACKLOG, flow.IDLE)
    ):
        pair = {metric_names.UPSTREAM_JOB: outcome.upstream, metric_names.DOWNSTREAM_JOB: str(run.job_name)}
        if result.ratio is not None:
            emit(metric_names.FLOW_RATIO, MetricUnit.NoUnit, result.ratio, pair)
        emit(metric_names.REPROCESSING_DETECTED, MetricUnit.Count, 1 if result.persistent else 0, pair)
    straggler = outcome.straggler
    if straggler is not None and straggler.verdict != stragglers.NO_DATA:
        emit(metric_names.STRAGGLER_DETECTED, MetricUnit.Count, 1 if straggler.flagged else 0, job)
    if outcome.insights and outcome.insights.get("verdict") != OK:
        logger.info(
            "run insights",
            extra={
                "job_name": run.job_name,
                "run_id": run.run_id,
                "verdict": outcome.insights.get("verdict"),
            },
        )
