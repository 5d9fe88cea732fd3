"""``analyze_finished_runs`` and the analyzer Lambda against the emulator."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import functions.analyzer.handler as analyzer_handler
from glue_audit.aws.observability import metrics
from glue_audit.config import metric_names
from glue_audit.insights import cloudwatch as cw
from glue_audit.insights import flow
from glue_audit.insights.analysis import analyze_finished_runs
from glue_audit.ledger.models import ANALYSIS, LedgerItem, RunItem
from glue_audit.ledger.writes import get_run
from scripts.engine.api_calls import ITEMS_READ, recording_api_calls
from scripts.engine.stack import Stack
from tests.integration.test_insights_flow import INPUT, MB, OUTPUT, simulated_seed
from tests.integration.test_insights_support import create_job, put_bytes, put_gauge, put_run
from tests.support.emf import emf_metrics, emf_points


@pytest.fixture(autouse=True)
def no_leftover_metrics() -> Iterator[None]:
    """Direct calls add metrics that only a handler flushes: start and end each test with none."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def _minutes_ago(now: datetime, minutes: float) -> datetime:
    return now - timedelta(minutes=minutes)


def _reload(run: RunItem) -> RunItem:
    fresh = get_run(str(run.job_name), run.run_id)
    assert fresh is not None
    return fresh


def _reload_id(job: str, run_id: str) -> RunItem:
    fresh = get_run(job, run_id)
    assert fresh is not None
    return fresh


def _analysis_partition() -> set[str]:
    return {item.run_id for item in LedgerItem.active_index.query(ANALYSIS) if isinstance(item, RunItem)}


def _analyze(stack: Stack, now: datetime, **kwargs: Any) -> Any:
    return analyze_finished_runs(
        now, stack.client("cloudwatch"), stack.client("glue"), stack.client("s3"), **kwargs
    )


def test_finished_runs_get_bytes_and_verdicts_young_and_silent_ones_wait(stack: Stack) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    create_job(stack, INPUT)
    create_job(stack, OUTPUT, tags={"glue-audit:upstream": INPUT})
    create_job(stack, "silent")  # --enable-metrics, but nothing arrives
    create_job(stack, "unmetered", arguments={})  # no metrics, no report: nothing will ever come

    up = put_run(INPUT, _minutes_ago(now, 90), _minutes_ago(now, 80), dpu_seconds=7200)
    put_bytes(stack, INPUT, up, cw.WRITE_BYTES, 100 * MB)
    down = put_run(OUTPUT, _minutes_ago(now, 79), _minutes_ago(now, 30), dpu_seconds=3600)
    put_bytes(stack, OUTPUT, down, cw.READ_BYTES, 100 * MB)
    put_bytes(stack, OUTPUT, down, cw.WRITE_BYTES, 40 * MB)
    put_gauge(
        stack, OUTPUT, down.run_id, cw.NEEDED_EXECUTORS, [(_minutes_ago(now, 79 - m), 8.0) for m in range(49)]
    )
    young = put_run(OUTPUT, _minutes_ago(now, 20), _minutes_ago(now, 2))
    put_bytes(stack, OUTPUT, young, cw.READ_BYTES, 10 * MB)
    silent_old = put_run("silent", _minutes_ago(now, 150), _minutes_ago(now, 120))
    silent_recent = put_run("silent", _minutes_ago(now, 40), _minutes_ago(now, 20))
    unmetered = put_run("unmetered", _minutes_ago(now, 40), _minutes_ago(now, 10))

    summary = _analyze(stack, now)

    assert summary.as_dict() == {
        "analyzed": 2,
        "no_data": 2,
        "waiting": 1,
        "too_young": 1,
        "failed": 0,
        "reprocessing": 0,
        "stragglers": 0,
    }
    down = _reload(down)
    assert down.bytes_read == pytest.approx(100 * MB) and down.bytes_written == pytest.approx(40 * MB)
    assert down.analyzed_at == now and down.active_pk is None  # left the ANALYSIS partition
    assert down.insights["verdict"] == "ok"
    assert down.insights["flow"]["upstream"] == INPUT
    assert down.insights["flow"]["verdict"] == flow.HEALTHY and down.insights["flow"][
        "ratio"
    ] == pytest.approx(1.0)
    assert down.insights["straggler"]["verdict"] == "balanced"
    assert down.insights["dpu_hours"] == 1.0
    assert _reload(up).bytes_written == pytest.approx(100 * MB)
    assert _reload(up).insights["flow"] is None  # the upstream job has no upstream itself

    old = _reload(silent_old).insights
    assert old["verdict"] == "no data" and "--enable-metrics" in old["reason"]
    never = _reload(unmetered).insights
    assert never["verdict"] == "no data" and "without --enable-metrics" in never["reason"]
    # Left for a later call: the young run (metrics still arriving) and the silent recent one.
    assert _analysis_partition() == {young.run_id, silent_recent.run_id}
    assert _reload(silent_recent).insights is None and _reload(young).analyzed_at is None

    # An hour later both are due: the young one has data, the silent one is given up on.
    later = _analyze(stack, now + timedelta(hours=1))
    assert (later.analyzed, later.no_data, later.waiting) == (1, 1, 0)
    assert _analysis_partition() == set()
    assert _reload(young).bytes_read == pytest.approx(10 * MB)
    assert _reload(silent_recent).insights["verdict"] == "no data"


def test_a_run_report_fills_the_bytes_when_the_job_has_no_metrics(stack: Stack) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    stack.client("s3").create_bucket(Bucket="etl-reports")
    create_job(stack, "reported", arguments={"--glue_audit_report_uri": "s3://etl-reports/runs"})
    run = put_run("reported", _minutes_ago(now, 40), _minutes_ago(now, 30))
    report = {
        "job_name": "reported",
        "run_id": run.run_id,
        "records_in": 1000,
        "records_out": 990,
        "bytes_in": 123456,
        "bytes_out": 654321,
        "malformed_records": 10,
        "started_at": "2026-01-01T00:00:00.000Z",
        "completed_at": "2026-01-01T00:10:00.000Z",
    }
    stack.client("s3").put_object(
        Bucket="etl-reports", Key=f"runs/reported/{run.run_id}.json", Body=json.dumps(report).encode()
    )

    summary = _analyze(stack, now)

    assert (summary.analyzed, summary.no_data) == (1, 0)
    run = _reload(run)
    assert (run.bytes_read, run.bytes_written) == (123456, 654321)
    assert run.insights["bytes"]["source"] == "report"
    assert run.insights["report"]["malformed_records"] == 10
    assert run.insights["report"]["uri"] == f"s3://etl-reports/runs/reported/{run.run_id}.json"


def test_limit_bounds_one_call(stack: Stack) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    create_job(stack, "many", arguments={})
    for index in range(5):
        put_run("many", _minutes_ago(now, 60 + index), _minutes_ago(now, 30 + index))

    first = _analyze(stack, now, limit=3)
    second = _analyze(stack, now, limit=3)

    assert (first.no_data, second.no_data) == (3, 2)
    assert _analysis_partition() == set()


def test_the_lambda_records_the_seed_story_and_emits_the_metrics(
    stack: Stack, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = simulated_seed(stack, bookmarks=False)  # 6 Input runs, 4 Output runs (2 refused)
    runs = [
        _reload_id(job, r.run_id)
        for job, sims in ((INPUT, pipeline.inputs), (OUTPUT, pipeline.outputs))
        for r in sims
    ]
    for run in runs:
        run.dpu_seconds = 3600.0
        run.save()
    capsys.readouterr()

    response = analyzer_handler.lambda_handler({"limit": 50}, lambda_context)

    assert response["analyzed"] == 10 and response["reprocessing"] == 2 and response["failed"] == 0
    outputs = [_reload_id(OUTPUT, r.run_id).insights or {} for r in pipeline.outputs]
    assert [o["flow"]["verdict"] for o in outputs] == [flow.HEALTHY] + [flow.REPROCESSING] * 3
    assert [o["flow"]["persistent"] for o in outputs] == [False, False, True, True]
    assert outputs[3]["verdict"] == "reprocessing"
    out = capsys.readouterr().out
    emitted = emf_metrics(out)
    assert sorted(round(v, 2) for v in emitted[metric_names.FLOW_RATIO]) == sorted(
        round(o["flow"]["ratio"], 2) for o in outputs
    )
    assert sorted(emitted[metric_names.REPROCESSING_DETECTED]) == [0, 0, 1, 1]
    assert (emitted[metric_names.RUNS_ANALYZED], emitted[metric_names.ANALYSIS_FAILURES]) == ([10], [0])
    assert sum(emitted[metric_names.DPU_HOURS]) == 10.0
    assert metric_names.STRAGGLER_DETECTED not in emitted  # these runs have no executor metrics
    # Each per-run metric names its job (or its job pair): an alarm on it can say which job fired.
    points = emf_points(out)
    service = {"service": os.environ["POWERTOOLS_SERVICE_NAME"]}
    pair = {metric_names.UPSTREAM_JOB: INPUT, metric_names.DOWNSTREAM_JOB: OUTPUT, **service}
    assert {
        (p.name, tuple(sorted(p.dimensions.items())))
        for p in points
        if p.name in (metric_names.FLOW_RATIO, metric_names.REPROCESSING_DETECTED)
    } == {
        (name, tuple(sorted(pair.items())))
        for name in (metric_names.FLOW_RATIO, metric_names.REPROCESSING_DETECTED)
    }
    hours = {p.dimensions[metric_names.JOB]: 0.0 for p in points if p.name == metric_names.DPU_HOURS}
    for p in points:
        if p.name == metric_names.DPU_HOURS:
            assert p.dimension_names == {metric_names.JOB, "service"}
            hours[p.dimensions[metric_names.JOB]] += p.value
    assert hours == {INPUT: 6.0, OUTPUT: 4.0}
    assert {p.dimension_names for p in points if p.name == metric_names.RUNS_ANALYZED} == {frozenset(service)}
    # The dimensions emitted are those metrics.json declares (the dashboard and alarms read that file).
    for p in points:
        assert p.dimension_names == {"service", *metric_names.DIMENSIONS_OF.get(p.name, ())}, p


# What the analyzer Lambda calls (its IAM policy must grant these; GetCallerIdentity needs no grant).
ANALYZER_ACTIONS = frozenset(
    {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "glue:GetJob",
        "glue:GetTags",
        "glue:GetJobRun",
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
        "s3:GetObject",
        "sts:GetCallerIdentity",
    }
)


def test_the_lambda_calls_only_what_its_policy_grants(stack: Stack, lambda_context: object) -> None:
    simulated_seed(stack, bookmarks=False)
    stack.client("s3").create_bucket(Bucket="etl-reports")
    create_job(stack, "reported", arguments={"--glue_audit_report_uri": "s3://etl-reports/runs"})
    now = datetime.now(UTC)
    put_run("reported", _minutes_ago(now, 40), _minutes_ago(now, 30))

    with recording_api_calls() as calls:
        response = analyzer_handler.lambda_handler({}, lambda_context)

    assert response["analyzed"] == 10 and response["no_data"] == 0 and response["waiting"] == 1
    # botocore signs CloudWatch as "monitoring"; IAM calls it "cloudwatch".
    actions = {name.replace("monitoring:", "cloudwatch:") for name in calls if name != ITEMS_READ}
    assert actions <= ANALYZER_ACTIONS, actions - ANALYZER_ACTIONS
    # Only the ledger's indexes are queried: the items read stay in proportion to the runs analysed.
    assert "dynamodb:Scan" not in calls and calls[ITEMS_READ] < 100


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_lambda_rejects_a_malformed_schedule_input(lambda_context: object, stack: Stack) -> None:
    with pytest.raises(analyzer_handler.InvalidAnalyzerInput, match="limit"):
        analyzer_handler.lambda_handler({"limit": "many"}, lambda_context)
