"""``glue-audit stragglers`` against the emulator: the seed's coalesce(1) run and its grouped fix.

The seed ("Debugging demanding stages and straggler tasks"): with ``coalesce(1)`` the executors
read the input in the first minutes, then all but executor 3 go idle and are released; executor 3
writes for the rest of the hour. With ``groupFiles: inPartition`` all executors stay busy and the
run takes eight minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from glue_audit.insights import cloudwatch as cw
from glue_audit.insights import stragglers
from glue_audit.models import RunItem
from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli, create_job, put_gauge, put_run

JOB = "coalesce-job"
EXECUTORS = [str(n) for n in range(1, 11)]


def _at(started: datetime, minute: int) -> datetime:
    return started + timedelta(minutes=minute, seconds=20)


def coalesce_run(stack: Stack, started: datetime) -> RunItem:
    """60 minutes: 10 executors needed for the first 9, then one; executor 3 alone to the end."""
    run = put_run(JOB, started, started + timedelta(minutes=60))
    minutes = range(60)
    put_gauge(
        stack,
        JOB,
        run.run_id,
        cw.NEEDED_EXECUTORS,
        [(_at(started, m), 10.0 if m < 9 else 1.0) for m in minutes],
    )
    allocated = {9: 7.0, 10: 4.0}
    put_gauge(
        stack,
        JOB,
        run.run_id,
        cw.ALL_EXECUTORS,
        [(_at(started, m), 10.0 if m < 9 else allocated.get(m, 1.0)) for m in minutes],
    )
    for executor in EXECUTORS:
        busy_until = 60 if executor == "3" else 9  # the others are released after the first stages
        level = 0.6 if executor == "3" else 0.3
        put_gauge(
            stack,
            JOB,
            run.run_id,
            cw.executor_heap_metric(executor),
            [(_at(started, m), level) for m in range(busy_until)],
        )
    return run


def grouped_run(stack: Stack, started: datetime) -> RunItem:
    """8 minutes, all executors busy to the end."""
    run = put_run(JOB, started, started + timedelta(minutes=8))
    put_gauge(stack, JOB, run.run_id, cw.NEEDED_EXECUTORS, [(_at(started, m), 10.0) for m in range(8)])
    put_gauge(stack, JOB, run.run_id, cw.ALL_EXECUTORS, [(_at(started, m), 10.0) for m in range(8)])
    for executor in EXECUTORS:
        put_gauge(
            stack,
            JOB,
            run.run_id,
            cw.executor_heap_metric(executor),
            [(_at(started, m), 0.4) for m in range(8)],
        )
    return run


def _hours_ago(hours: int) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)


def test_the_coalesce_run_is_flagged_with_the_executor_that_did_the_work(stack: Stack) -> None:
    create_job(stack, JOB)
    run = coalesce_run(stack, _hours_ago(5))

    result = cli("stragglers", JOB, run.run_id, "--json")

    assert result.code == 0, result.err
    report = result.json()
    assert report["verdict"] == stragglers.STRAGGLER and report["flagged"] is True
    assert report["peak_needed_executors"] == 10
    assert report["single_executor_seconds"] == 51 * 60  # minute 9 to the end of the hour
    assert round(report["share_of_run"], 2) == 0.85
    assert report["busy_executor"] == "3"
    assert report["idle_executors"] == [e for e in EXECUTORS if e != "3"]
    assert report["allocated_executors_meanwhile"] < 1.5
    assert "groupFiles" in report["fix"] and "coalesce(1)" in report["fix"]
    assert len(report["series"]["needed_executors"]) == 60


def test_the_grouped_run_is_not_flagged(stack: Stack) -> None:
    create_job(stack, JOB)
    run = grouped_run(stack, _hours_ago(3))

    result = cli("stragglers", JOB, run.run_id)

    assert result.code == 0, result.err
    assert "Verdict: balanced" in result.out
    assert "Fix:" not in result.out


def test_the_text_states_the_rule_and_the_fix(stack: Stack) -> None:
    create_job(stack, JOB)
    run = coalesce_run(stack, _hours_ago(5))

    result = cli("stragglers", JOB, run.run_id)

    assert "Verdict: straggler" in result.out
    assert "executor 3 did the work" in result.out
    assert "Rule: flagged when the needed executors" in result.out
    assert "Fix: spread the work" in result.out and "'groupFiles': 'inPartition'" in result.out


def test_a_run_without_metrics_is_no_data_with_exit_1(stack: Stack) -> None:
    create_job(stack, JOB, arguments={})
    started = _hours_ago(2)
    run = put_run(JOB, started, started + timedelta(minutes=20))

    result = cli("stragglers", JOB, run.run_id)

    assert result.code == 1
    assert "Verdict: no data" in result.out and "--enable-metrics" in result.out
    assert "Traceback" not in result.err


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
