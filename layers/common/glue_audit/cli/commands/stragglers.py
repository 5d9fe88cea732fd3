"""``glue-audit stragglers JOB RUN``: did one executor do most of the run alone?

Reads the run's executor metrics (numberMaxNeededExecutors, Maximum per minute; numberAllExecutors,
Average), each executor's heap usage (glue.<executorId>.jvm.heap.usage) and, when the job runs with
--enable-observability-metrics (Glue 4.0+), glue.driver.skewness.stage / .job and
glue.driver.workerUtilization. The run is flagged when it had 2 or more executors and the needed
executors stay at about one (<= 1.5) for at least 40% of the run and 5 minutes or more (the seed's
story: coalesce(1) narrows the stage to one task, repartition(1) shuffles to one), or when its
job skewness rises above 0. The fix: read with grouping ('groupFiles': 'inPartition') instead of
coalesce(1) / repartition(1).

The fix is confirmed only by balance: the run is not flagged, its tasks needed 60%+ of its
executors on average and none idled (and glue.driver.skewness.job stayed at 0 when the run has
Glue's observability metrics, --enable-observability-metrics). The run's shape from Glue's driver
aggregates (numCompletedStages, shuffleBytesWritten, shuffleLocalBytesRead) is shown beside it,
never as proof: a narrow coalesce(1) run also has no shuffle and a single stage.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from glue_audit.aws.glue import run_details
from glue_audit.cli.commands.common import (
    EXIT_NOT_FOUND,
    Context,
    NotFound,
    add_json_flag,
    fmt_duration,
    fmt_time,
)
from glue_audit.domain.states import is_terminal
from glue_audit.insights import stragglers
from glue_audit.insights.collect import ExecutorSeries, detect_run_straggler, run_completed, run_started
from glue_audit.insights.series import Series
from glue_audit.insights.times import iso_z
from glue_audit.ledger.writes import get_run


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stragglers",
        help="straggler detection for one run (executors released, one left working)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("job", help="Glue job name")
    parser.add_argument("run_id", metavar="RUN", help="job run id (jr_...)")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def run_times(ctx: Context, job: str, run_id: str) -> tuple[datetime, datetime | None]:
    """Start and end of the run: from the ledger, else from Glue."""
    item = get_run(job, run_id)
    if item is not None:
        return run_started(item), run_completed(item)
    glue_run = ctx.catalog.job_run(job, run_id) if ctx.catalog.job(job) is not None else None
    if glue_run is None:
        if ctx.catalog.job(job) is None:
            raise NotFound(f"unknown job {job!r}: Glue has no such job and the ledger has no runs of it")
        raise NotFound(f"unknown run {run_id!r} of job {job!r}: neither the ledger nor Glue has it")
    details = run_details(glue_run)
    if details.started_on is None:
        raise NotFound(f"run {run_id!r} of job {job!r} has not started yet")
    return details.started_on, details.completed_on if is_terminal(details.state) else None


def _points(series: Series) -> list[list[Any]]:
    return [[iso_z(at), value] for at, value in series]


def run(args: argparse.Namespace, ctx: Context) -> int:
    started, completed = run_times(ctx, args.job, args.run_id)
    known = ctx.catalog.job(args.job) is not None
    metrics_enabled = ctx.catalog.run_metrics_enabled(args.job, args.run_id) if known else None
    observability_enabled = ctx.catalog.run_observability_enabled(args.job, args.run_id) if known else None
    result, series = detect_run_straggler(
        ctx.client("cloudwatch"),
        args.job,
        args.run_id,
        started,
        completed,
        ctx.now,
        metrics_enabled=metrics_enabled,
        observability_enabled=observability_enabled,
    )
    if args.json:
        ctx.print_json(
            {
                "job_name": args.job,
                "run_id": args.run_id,
                "started_on": iso_z(started),
                "completed_on": iso_z(completed),
                "rule": stragglers.RULE,
                **result.as_dict(),
                "series": {
                    "period_seconds": series.period,
                    "needed_executors": _points(series.needed),
                    "allocated_executors": _points(series.allocated),
                    "heap_usage": {executor: _points(s) for executor, s in series.heap.items()},
                    "completed_stages": _points(series.completed_stages),
                    "shuffle_bytes_written": _points(series.shuffle_written),
                    "shuffle_local_bytes_read": _points(series.shuffle_read),
                    "skewness_stage": _points(series.observability.skewness_stage),
                    "skewness_job": _points(series.observability.skewness_job),
                    "worker_utilization": _points(series.observability.worker_utilization),
                },
            }
        )
    else:
        render(ctx, args.job, args.run_id, started, completed, result, series)
    return EXIT_NOT_FOUND if result.verdict == stragglers.NO_DATA else 0


def _timeline(series: Series) -> str:
    """Run-length form: ``10 x9, 1 x51`` is 10 for nine periods, then 1 for 51."""
    runs: list[tuple[float, int]] = []
    for _, value in series:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    return ", ".join(f"{value:.3g} x{count}" for value, count in runs) or "-"


def render(
    ctx: Context,
    job: str,
    run_id: str,
    started: datetime,
    completed: datetime | None,
    result: stragglers.StragglerResult,
    series: ExecutorSeries,
) -> None:
    ctx.say(
        f"Run {run_id} of {job}: {fmt_time(started)} to {fmt_time(completed) if completed else 'still running'}"
    )
    ctx.say(f"Verdict: {result.verdict}: {result.reason}")
    ctx.say(f"Rule: {stragglers.RULE}")
    if result.verdict != stragglers.NO_DATA:
        unit = fmt_duration(series.period)
        ctx.say(f"Needed executors (value x {unit} periods): {_timeline(series.needed)}")
        ctx.say(f"Allocated executors (value x {unit} periods): {_timeline(series.allocated)}")
        if series.heap:
            ctx.say(f"Executors with heap metrics: {', '.join(series.heap)}")
    if result.observability is not None:
        ctx.say(f"Observability metrics: {result.observability.reason}")
    if result.shape is not None:
        ctx.say(f"Stages and shuffle: {result.shape.reason}")
    ctx.say(f"Fix confirmation: {result.confirmation}")
    if result.fix:
        ctx.say(f"Fix: {result.fix}")
