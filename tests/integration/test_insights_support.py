"""Helpers the insights tests share (synthetic runs in the ledger, synthetic Glue job metrics in the
emulator's CloudWatch), and a check that the emulator aggregates them the way the analysis reads
them: per-minute Sum / Average / Maximum over the run's dimensions."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from glue_audit.cli.app import main
from glue_audit.domain.states import RunState, is_active
from glue_audit.insights import cloudwatch as cw
from glue_audit.ledger.models import RunItem
from glue_audit.ledger.writes import new_run
from scripts.engine.stack import Stack
from scripts.engine.stack import create_job as stack_create_job


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def new_run_id() -> str:
    return f"jr_{uuid.uuid4().hex}"


def put_run(
    job: str,
    started: datetime,
    completed: datetime | None,
    *,
    run_id: str | None = None,
    state: str = "SUCCEEDED",
    dpu_seconds: float | None = None,
    **fields: Any,
) -> RunItem:
    """A run row as ingest leaves it: enriched, and in the ANALYSIS partition once finished."""
    run = new_run(job, run_id or new_run_id(), RunState(state), completed or started)
    run.started_on = started
    run.completed_on = completed
    run.earliest_observed_at = started
    run.enriched = completed is not None
    if completed is not None:
        run.execution_time = int((completed - started).total_seconds())
    run.dpu_seconds = dpu_seconds
    if dpu_seconds is not None:
        run.dpu_seconds_source = "computed"
    for name, value in fields.items():
        setattr(run, name, value)
    run.set_history_time(started)
    run.mark_active(is_active(state))
    run.save()
    return run


def _dimensions(job: str, run_id: str, kind: str) -> list[dict[str, str]]:
    return [
        {"Name": "JobName", "Value": job},
        {"Name": "JobRunId", "Value": run_id},
        {"Name": "Type", "Value": kind},
    ]


def put_points(
    stack: Stack, job: str, run_id: str, metric: str, points: Iterable[tuple[datetime, float]], kind: str
) -> None:
    data = [
        {"MetricName": metric, "Dimensions": _dimensions(job, run_id, kind), "Timestamp": at, "Value": value}
        for at, value in points
    ]
    for start in range(0, len(data), 20):
        stack.client("cloudwatch").put_metric_data(
            Namespace=cw.GLUE_NAMESPACE, MetricData=data[start : start + 20]
        )


def put_bytes(stack: Stack, job: str, run: RunItem, metric: str, total: float) -> None:
    """``total`` bytes as per-30-second deltas spread over the run, as Glue publishes them."""
    assert run.started_on is not None and run.completed_on is not None
    steps = max(1, int((run.completed_on - run.started_on).total_seconds() // 30))
    share = total / steps
    points = [(run.started_on + timedelta(seconds=30 * i + 10), share) for i in range(steps)]
    put_points(stack, job, run.run_id, metric, points, cw.COUNT)


def put_gauge(
    stack: Stack, job: str, run_id: str, metric: str, points: Sequence[tuple[datetime, float]]
) -> None:
    put_points(stack, job, run_id, metric, points, cw.GAUGE)


def create_job(
    stack: Stack,
    name: str,
    *,
    tags: dict[str, str] | None = None,
    arguments: dict[str, str] | None = None,
) -> None:
    """A 10-worker G.1X job (the analyzer's tests size their runs for it)."""
    stack_create_job(stack, name, workers=10, tags=tags, arguments=arguments)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli(*argv: str) -> CliResult:
    """Run ``glue-audit`` in this process, capturing what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return CliResult(code, out.getvalue(), err.getvalue())


def test_the_emulator_aggregates_glue_metrics_per_minute_as_the_analysis_reads_them(stack: Stack) -> None:
    now = datetime.now(UTC)
    started = minute_floor(now - timedelta(hours=3))
    completed = started + timedelta(minutes=10)
    run = put_run("probe", started, completed)
    put_bytes(stack, "probe", run, cw.READ_BYTES, 6000.0)
    put_gauge(
        stack,
        "probe",
        run.run_id,
        cw.NEEDED_EXECUTORS,
        [(started + timedelta(minutes=2, seconds=5), 4.0), (started + timedelta(minutes=2, seconds=35), 9.0)],
    )
    # The aggregate (JobRunId=ALL) is another metric: it must not leak into the run's figures.
    put_points(stack, "probe", cw.ALL_RUNS, cw.READ_BYTES, [(started + timedelta(minutes=1), 1e9)], cw.COUNT)

    queries = [
        cw.MetricQuery(cw.READ_BYTES, "probe", run.run_id, "Sum", cw.COUNT),
        cw.MetricQuery(cw.NEEDED_EXECUTORS, "probe", run.run_id, "Maximum", cw.GAUGE),
        cw.MetricQuery(cw.NEEDED_EXECUTORS, "probe", run.run_id, "Average", cw.GAUGE),
        cw.MetricQuery(cw.WRITE_BYTES, "probe", run.run_id, "Sum", cw.COUNT),
    ]
    read, peak, mean, written = cw.read_run_series(
        stack.client("cloudwatch"), queries, started, completed, now
    )

    assert read.total() == 6000.0
    assert len(read) == 10  # one datapoint per minute of the run
    assert all(at.tzinfo is not None and at.utcoffset() == timedelta(0) for at, _ in read)
    assert peak.points == ((started + timedelta(minutes=2), 9.0),)
    assert mean.points == ((started + timedelta(minutes=2), 6.5),)
    assert not written and written.total() is None  # nothing published: empty, not an error
