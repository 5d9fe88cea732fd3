"""``glue-audit stragglers`` against the emulator: runs funnelled through one task and the grouped fix.

The seed ("Debugging demanding stages and straggler tasks"): the executors read the input in the
first minutes, then all but executor 3 go idle and are released; executor 3 writes for the rest of
the hour, after a shuffle (the seed's graphs; in the simulator that is ``repartition(1)``). A narrow
``coalesce(1)`` reads and writes in one task from the start: no shuffle, one stage, and still one
busy executor. With ``groupFiles: inPartition`` all executors stay busy and the run takes about
eight minutes; the fix is confirmed by that balance.
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
from scripts.engine.spark_run import COALESCE_ONE, GROUPED, REPARTITION_ONE, Job, SimulatedRun, simulate
from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli, create_job, put_gauge, put_points, put_run
from tests.support.emf import emf_points

JOB = "coalesce-job"
EXECUTORS = [str(n) for n in range(1, Job().executors + 1)]


def publish(stack: Stack, sim: SimulatedRun, *, drop: tuple[str, ...] = ()) -> RunItem:
    """The simulated run in the ledger, and its datapoints in the emulator's CloudWatch as Glue
    publishes them (``drop``: metrics Glue did not publish); observability metrics with their
    ObservabilityGroup dimension."""
    run = put_run(JOB, sim.started_on, sim.completed_on)
    for metric, points in sim.gauges.items():
        if metric in cw.OBSERVABILITY_GROUPS:
            put_observability(stack, run.run_id, metric, points)
        else:
            put_gauge(stack, JOB, run.run_id, metric, points)
    for metric, points in sim.counters.items():
        if metric not in drop:
            put_points(stack, JOB, run.run_id, metric, points, cw.COUNT)
    return run


def put_observability(stack: Stack, run_id: str, metric: str, points: list[tuple[datetime, float]]) -> None:
    data = [
        {
            "MetricName": metric,
            "Dimensions": cw.glue_dimensions(JOB, run_id, metric, cw.GAUGE),
            "Timestamp": at,
            "Value": value,
        }
        for at, value in points
    ]
    for start in range(0, len(data), 20):
        stack.client("cloudwatch").put_metric_data(
            Namespace=cw.GLUE_NAMESPACE, MetricData=data[start : start + 20]
        )


def _hours_ago(hours: int) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)


def coalesce_run(stack: Stack, started: datetime) -> tuple[RunItem, SimulatedRun]:
    """The seed's graphs: reads on every executor, a shuffle, one task writing (repartition(1))."""
    sim = simulate(started, REPARTITION_ONE)
    return publish(stack, sim), sim


def grouped_run(
    stack: Stack, started: datetime, *, observability: bool = False
) -> tuple[RunItem, SimulatedRun]:
    sim = simulate(started, GROUPED, observability=observability)
    return publish(stack, sim), sim


NARROW_JOB = Job(files=96, executors=4)  # small enough for one task to read and write it all


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
    assert report["fix_confirmed"] is False
    # The shape, beside the verdict: a shuffle between the reading stage and the single writing task.
    shape = report["shape"]
    assert shape["verdict"] == stragglers.SHUFFLED and shape["fix_shape"] is False
    assert shape["completed_stages"] == sim.stages == 2
    assert shape["shuffle_bytes_written"] == sim.shuffle_bytes > 0
    assert shape["shuffle_local_bytes_read"] > 0


def test_the_grouped_run_is_not_flagged_and_the_fix_is_confirmed_by_balance(stack: Stack) -> None:
    create_job(stack, JOB)
    run, sim = grouped_run(stack, _hours_ago(3))

    result = cli("stragglers", JOB, run.run_id)

    assert result.code == 0, result.err
    assert "Verdict: balanced" in result.out
    assert "Fix:" not in result.out
    assert (
        f"Fix confirmation: confirmed by balance: its tasks needed 100% of its {sim.tasks[0] // Job().tasks_per_executor} executors"
        in result.out
    )
    assert "Stages and shuffle: no shuffle, single stage: 1 completed stage, 0 B of shuffle" in result.out
    assert "Observability metrics: no observability metrics" in result.out
    assert "--enable-observability-metrics true" in result.out


def test_a_narrow_coalesce_one_run_is_a_straggler_though_it_has_no_shuffle_and_one_stage(
    stack: Stack,
) -> None:
    create_job(stack, JOB)
    sim = simulate(_hours_ago(3), COALESCE_ONE, NARROW_JOB, observability=True)
    run = publish(stack, sim)

    report = cli("stragglers", JOB, run.run_id, "--json").json()

    assert report["shape"]["verdict"] == stragglers.NO_SHUFFLE_SINGLE_STAGE and report["shape"]["fix_shape"]
    assert report["verdict"] == stragglers.STRAGGLER and report["fix_confirmed"] is False
    assert report["busy_executor"] == str(sim.last_executor)
    assert report["executors"] == NARROW_JOB.executors
    # Skewness compares tasks of a stage: one task, no skew; it is read and named, and clears nothing.
    observability = report["observability"]
    assert observability["present"] is True and observability["skewness_job_peak"] == 0.0
    assert "glue.driver.skewness.job peaked at 0.00" in observability["reason"]


def test_observability_metrics_are_read_with_their_group_dimension(stack: Stack) -> None:
    create_job(stack, JOB, arguments={"--enable-metrics": "true", cw.OBSERVABILITY_ARGUMENT: "true"})
    run, _ = grouped_run(stack, _hours_ago(3), observability=True)
    bare = put_run(JOB, _hours_ago(2), _hours_ago(2) + timedelta(minutes=20))

    report = cli("stragglers", JOB, run.run_id, "--json").json()
    missing = cli("stragglers", JOB, bare.run_id, "--json").json()

    assert report["observability"]["present"] is True and report["fix_confirmed"] is True
    assert report["series"]["skewness_job"] and report["series"]["skewness_stage"]
    assert report["confirmation"].endswith("glue.driver.skewness.job at most 0.00")
    # The job has the argument but this run published none: said so, not "enable them".
    assert missing["observability"]["reason"].startswith("the run had --enable-observability-metrics but")


def test_before_and_after_the_fix_on_the_same_job(stack: Stack) -> None:
    create_job(stack, JOB)
    before, _ = coalesce_run(stack, _hours_ago(5))
    after, _ = grouped_run(stack, _hours_ago(3))

    verdicts = [cli("stragglers", JOB, run.run_id, "--json").json() for run in (before, after)]

    assert [(v["verdict"], v["fix_confirmed"], v["shape"]["verdict"]) for v in verdicts] == [
        (stragglers.STRAGGLER, False, stragglers.SHUFFLED),
        (stragglers.BALANCED, True, stragglers.NO_SHUFFLE_SINGLE_STAGE),
    ]


def test_the_text_states_the_rule_the_fix_and_the_shape(stack: Stack) -> None:
    create_job(stack, JOB)
    run, sim = coalesce_run(stack, _hours_ago(5))

    result = cli("stragglers", JOB, run.run_id)

    assert "Verdict: straggler" in result.out
    assert f"executor {sim.last_executor} did the work" in result.out
    assert "Rule: flagged when a run that had 2+ executors needed at most 1.5" in result.out
    assert (
        f"Stages and shuffle: shuffle: {sim.shuffle_bytes / 1e9:.1f} GB written" in result.out
        and "2 completed stages" in result.out
    )
    assert "Fix confirmation: not confirmed: the work was not balanced" in result.out
    assert "Fix: spread the work" in result.out and "'groupFiles': 'inPartition'" in result.out


def test_without_the_stage_metric_the_shape_is_unknown_and_the_balance_still_confirms(stack: Stack) -> None:
    create_job(stack, JOB)
    sim = simulate(_hours_ago(3), GROUPED)
    run = publish(stack, sim, drop=(cw.COMPLETED_STAGES,))

    report = cli("stragglers", JOB, run.run_id, "--json").json()

    assert report["verdict"] == stragglers.BALANCED and report["fix_confirmed"] is True  # by balance
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
    assert recorded[before.run_id]["fix_confirmed"] is False
    assert recorded[after.run_id]["fix_confirmed"] is True
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
