"""``glue-audit stragglers`` against the emulator: the seed's coalesce(1) run and its grouped fix.

The seed ("Debugging demanding stages and straggler tasks"): with ``coalesce(1)`` the executors
read the input in the first minutes, then all but executor 3 go idle and are released; executor 3
writes for the rest of the hour. With ``groupFiles: inPartition`` all executors stay busy and the
run takes eight minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from glue_audit.aws.observability import metrics
from glue_audit.config import metric_names
from glue_audit.insights import cloudwatch as cw
from glue_audit.insights import stragglers
from glue_audit.insights.analysis import analyze_finished_runs
from glue_audit.ledger.models import RunItem
from glue_audit.ledger.writes import get_run
from scripts.engine.spark_run import Job, Plan, SimulatedRun, simulate
from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli, create_job, put_gauge, put_points, put_run
from tests.support.emf import emf_points

JOB = "coalesce-job"
EXECUTORS = [str(n) for n in range(1, Job().executors + 1)]


def publish(stack: Stack, sim: SimulatedRun, *, drop: tuple[str, ...] = ()) -> RunItem:
    """The simulated run in the ledger, and its datapoints in the emulator's CloudWatch as Glue
    publishes them (``drop``: metrics Glue did not publish)."""
    run = put_run(JOB, sim.started_on, sim.completed_on)
    for metric, points in sim.gauges.items():
        put_gauge(stack, JOB, run.run_id, metric, points)
    for metric, points in sim.counters.items():
        if metric not in drop:
            put_points(stack, JOB, run.run_id, metric, points, cw.COUNT)
    return run


def _hours_ago(hours: int) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)


def coalesce_run(stack: Stack, started: datetime) -> tuple[RunItem, SimulatedRun]:
    sim = simulate(started, Plan.FUNNEL)
    return publish(stack, sim), sim


def grouped_run(stack: Stack, started: datetime) -> tuple[RunItem, SimulatedRun]:
    sim = simulate(started, Plan.GROUPED)
    return publish(stack, sim), sim


def test_the_coalesce_run_is_flagged_with_the_executor_that_did_the_work(stack: Stack) -> None:
    create_job(stack, JOB)
    run, sim = coalesce_run(stack, _hours_ago(5))

    result = cli("stragglers", JOB, run.run_id, "--json")

    assert result.code == 0, result.err
    report = result.json()
    assert report["verdict"] == stragglers.STRAGGLER and report["flagged"] is True
    assert report["busy_executor"] == str(sim.last_executor)
    assert report["idle_executors"] == [e for e in EXECUTORS if e != str(sim.last_executor)]
    assert report["allocated_executors_meanwhile"] < 1.5
    assert report["share_of_run"] > 0.8  # reading took the first minutes, the lone write the rest
    assert "groupFiles" in report["fix"] and "coalesce(1)" in report["fix"]
    # The shape says why: a shuffle between the reading stage and the single writing task.
    shape = report["shape"]
    assert shape["verdict"] == stragglers.SHUFFLED and shape["confirmed"] is False
    assert shape["completed_stages"] == sim.stages == 2
    assert shape["shuffle_bytes_written"] == sim.shuffle_bytes > 0
    assert shape["shuffle_local_bytes_read"] > 0


def test_the_grouped_run_is_not_flagged_and_confirms_no_shuffle_single_stage(stack: Stack) -> None:
    create_job(stack, JOB)
    run, sim = grouped_run(stack, _hours_ago(3))

    result = cli("stragglers", JOB, run.run_id)

    assert result.code == 0, result.err
    assert "Verdict: balanced" in result.out
    assert "Fix:" not in result.out
    assert "Stages and shuffle: no shuffle, single stage: 1 completed stage, 0 B of shuffle" in result.out
    assert sim.completed_on - sim.started_on < timedelta(minutes=8)  # the seed: "within eight minutes"


def test_before_and_after_the_fix_on_the_same_job(stack: Stack) -> None:
    create_job(stack, JOB)
    before, _ = coalesce_run(stack, _hours_ago(5))
    after, _ = grouped_run(stack, _hours_ago(3))

    verdicts = [cli("stragglers", JOB, run.run_id, "--json").json() for run in (before, after)]

    assert [(v["verdict"], v["shape"]["verdict"]) for v in verdicts] == [
        (stragglers.STRAGGLER, stragglers.SHUFFLED),
        (stragglers.BALANCED, stragglers.NO_SHUFFLE_SINGLE_STAGE),
    ]


def test_the_text_states_the_rule_the_fix_and_the_shape(stack: Stack) -> None:
    create_job(stack, JOB)
    run, sim = coalesce_run(stack, _hours_ago(5))

    result = cli("stragglers", JOB, run.run_id)

    assert "Verdict: straggler" in result.out
    assert f"executor {sim.last_executor} did the work" in result.out
    assert "Rule: flagged when the needed executors" in result.out
    assert (
        "Stages and shuffle: shuffle: 188.8 GB written" in result.out and "2 completed stages" in result.out
    )
    assert "Fix: spread the work" in result.out and "'groupFiles': 'inPartition'" in result.out


def test_without_the_stage_metric_the_fix_cannot_be_confirmed_and_the_text_says_which(stack: Stack) -> None:
    create_job(stack, JOB)
    sim = simulate(_hours_ago(3), Plan.GROUPED)
    run = publish(stack, sim, drop=(cw.COMPLETED_STAGES,))

    report = cli("stragglers", JOB, run.run_id, "--json").json()

    assert report["verdict"] == stragglers.BALANCED
    assert report["shape"]["verdict"] == stragglers.UNCONFIRMED
    assert report["shape"]["reason"] == (
        "cannot confirm 'no shuffle, single stage': "
        "CloudWatch has no glue.driver.aggregate.numCompletedStages for the run"
    )


def test_a_run_without_metrics_is_no_data_with_exit_1(stack: Stack) -> None:
    create_job(stack, JOB, arguments={})
    started = _hours_ago(2)
    run = put_run(JOB, started, started + timedelta(minutes=20))

    result = cli("stragglers", JOB, run.run_id)

    assert result.code == 1
    assert "Verdict: no data" in result.out and "--enable-metrics" in result.out
    assert (
        "Stages and shuffle: cannot confirm 'no shuffle, single stage': the run has no job metrics: "
        "it ran without --enable-metrics" in " ".join(result.out.split())  # folded at 120 columns
    )
    assert "Traceback" not in result.err


def test_metrics_enabled_but_none_arrived_cannot_confirm_and_says_so(stack: Stack) -> None:
    create_job(stack, JOB)  # --enable-metrics, but CloudWatch has nothing for the run
    started = _hours_ago(2)
    run = put_run(JOB, started, started + timedelta(minutes=20))

    shape = cli("stragglers", JOB, run.run_id, "--json").json()["shape"]

    assert shape["verdict"] == stragglers.UNCONFIRMED
    assert "CloudWatch has no stage or shuffle metrics for the run" in shape["reason"]


@pytest.fixture
def no_leftover_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


@pytest.mark.usefixtures("no_leftover_metrics")
def test_the_analyzer_records_the_shape_and_emits_straggler_detected_per_job(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    create_job(stack, JOB)
    before, _ = coalesce_run(stack, _hours_ago(5))
    after, _ = grouped_run(stack, _hours_ago(3))
    capsys.readouterr()

    summary = analyze_finished_runs(
        datetime.now(UTC), stack.client("cloudwatch"), stack.client("glue"), stack.client("s3")
    )

    assert (summary.analyzed, summary.stragglers) == (2, 1)
    recorded = {}
    for run in (before, after):
        fresh = get_run(JOB, run.run_id)
        assert fresh is not None and fresh.insights is not None
        recorded[run.run_id] = fresh.insights["straggler"]
    assert recorded[before.run_id]["shape"]["verdict"] == stragglers.SHUFFLED
    assert recorded[after.run_id]["shape"]["confirmed"] is True
    points = [p for p in emf_points(capsys.readouterr().out) if p.name == metric_names.STRAGGLER_DETECTED]
    service = os.environ["POWERTOOLS_SERVICE_NAME"]
    assert sorted((p.value, tuple(sorted(p.dimensions.items()))) for p in points) == [
        (value, ((metric_names.JOB, JOB), ("service", service))) for value in (0.0, 1.0)
    ]


def test_a_run_only_glue_knows_is_read_from_glue(stack: Stack) -> None:
    create_job(stack, JOB)
    run_id = stack.client("glue").start_job_run(JobName=JOB)["JobRunId"]  # moto finishes it at once

    result = cli("stragglers", JOB, run_id, "--json")

    assert result.code == 1  # found, but no executor metrics
    assert result.json()["verdict"] == stragglers.NO_DATA


def test_unknown_job_and_unknown_run(stack: Stack) -> None:
    create_job(stack, JOB)

    unknown_job = cli("stragglers", "no-such-job", "jr_missing")
    unknown_run = cli("stragglers", JOB, "jr_missing")

    assert unknown_job.code == 1 and "unknown job 'no-such-job'" in unknown_job.err
    assert unknown_run.code == 1 and "unknown run 'jr_missing'" in unknown_run.err
    assert "Traceback" not in unknown_job.err + unknown_run.err
