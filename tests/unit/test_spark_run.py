"""The simulated Glue Spark run behind the sandbox's ``billing_agg`` history and the straggler tests.

Spark's semantics (pyspark.sql.DataFrame.coalesce / repartition): ``coalesce(n)`` is a narrow
dependency, it narrows the stage it is in to ``n`` tasks without a shuffle; ``repartition(n)`` adds
a shuffle and a stage of ``n`` tasks; Glue's ``groupFiles`` changes the number of read tasks. Every
expected figure here is derived from the job's inputs (files, sizes, rates, slots), none printed.

Whether the detector flags these datapoints is asserted where they go through CloudWatch
(``tests/integration/test_insights_stragglers.py``); here, what the simulation itself produces."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from glue_audit.insights import cloudwatch as cw
from scripts.engine.spark_run import (
    AS_READ,
    COALESCE_ONE,
    GROUPED,
    REPARTITION_ONE,
    SKEWNESS_FACTOR,
    Job,
    Plan,
    SimulatedRun,
    simulate,
)

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
BILLING_AGG = Job(executors=9)  # the sandbox's job: 10 G.2X workers, one of them the driver
SMALL = Job(files=96, executors=4)  # the same pattern, short enough for the coalesce(1) cases


def _total(sim: SimulatedRun, metric: str) -> float:
    return sum(value for _, value in sim.counters[metric])


def _seconds(sim: SimulatedRun) -> float:
    return (sim.completed_on - sim.started_on).total_seconds()


def _task_seconds(job: Job, read: float, written: float) -> int:
    """The model's stated cost of a task: what it reads at read_rate plus what it writes at write_rate."""
    return max(1, math.ceil(read / job.read_rate + written / job.write_rate))


def _heap_executors(sim: SimulatedRun, after: datetime) -> set[str]:
    """The executors that still report heap after ``after`` (a released executor reports none)."""
    return {
        metric.split(".")[1]
        for metric, points in sim.gauges.items()
        if metric.endswith("jvm.heap.usage") and any(at > after for at, _ in points)
    }


def _bytes_are_conserved(sim: SimulatedRun, job: Job) -> None:
    assert _total(sim, cw.READ_BYTES) == pytest.approx(job.files * job.file_bytes)
    assert _total(sim, cw.WRITE_BYTES) == pytest.approx(job.files * job.file_bytes * job.expansion)


@pytest.mark.parametrize("job", [SMALL, BILLING_AGG], ids=["small", "billing_agg"])
def test_coalesce_one_is_narrow_one_stage_one_task_no_shuffle_on_one_executor(job: Job) -> None:
    sim = simulate(T0, COALESCE_ONE, job)

    # Narrow: the read stage itself becomes one task; no second stage, no shuffle.
    assert (sim.stages, sim.tasks) == (1, (1,))
    assert _total(sim, cw.COMPLETED_STAGES) == 1
    assert _total(sim, cw.SHUFFLE_BYTES_WRITTEN) == _total(sim, cw.SHUFFLE_LOCAL_BYTES_READ) == 0
    _bytes_are_conserved(sim, job)
    # The one task reads every file and writes everything: the run lasts exactly that long.
    assert _seconds(sim) == _task_seconds(job, job.input_bytes, job.output_bytes)
    # One executor works; the job never needs more than one; the others are released after the
    # idle timeout and report no heap afterwards.
    assert [e for e, busy in sim.busy_seconds.items() if busy] == [sim.last_executor]
    assert {v for _, v in sim.gauges[cw.NEEDED_EXECUTORS]} == {1.0}
    released_by = T0 + timedelta(seconds=job.idle_timeout + 30)
    assert {v for at, v in sim.gauges[cw.ALL_EXECUTORS] if at >= released_by} == {1.0}
    assert _heap_executors(sim, released_by) == {str(sim.last_executor)}
    assert _heap_executors(sim, T0) == {str(e) for e in range(1, job.executors + 1)}


def test_coalesce_n_narrows_the_stage_to_n_tasks_and_a_larger_n_changes_nothing() -> None:
    job = BILLING_AGG
    n = job.executors
    narrowed = simulate(T0, Plan("coalesce(n)", coalesce=n), job)
    unchanged = simulate(T0, Plan("coalesce(files)", coalesce=job.files), job)

    assert (narrowed.stages, narrowed.tasks) == (1, (n,))
    assert _total(narrowed, cw.SHUFFLE_BYTES_WRITTEN) == 0
    _bytes_are_conserved(narrowed, job)
    # n tasks of files / n files each, one per executor (n tasks fit in the slots): one wave.
    per_task = job.files / n
    longest = math.ceil(per_task) * job.file_bytes
    assert _seconds(narrowed) == _task_seconds(job, longest, longest * job.expansion)
    assert all(narrowed.busy_seconds[e] for e in range(1, n + 1))
    assert unchanged.tasks == (job.files,) and unchanged.stages == 1


def test_repartition_one_shuffles_everything_to_one_task_in_a_second_stage() -> None:
    job = BILLING_AGG
    sim = simulate(T0, REPARTITION_ONE, job)

    assert (sim.stages, sim.tasks) == (2, (job.files, 1))
    assert _total(sim, cw.COMPLETED_STAGES) == 2
    _bytes_are_conserved(sim, job)
    # The shuffle holds the rows (the output) and the single reducer fetches all of it; only the
    # part its own executor wrote is a local read: one in ``executors`` when the reads spread evenly.
    assert (
        _total(sim, cw.SHUFFLE_BYTES_WRITTEN)
        == pytest.approx(job.output_bytes)
        == pytest.approx(sim.shuffle_bytes)
    )
    assert _total(sim, cw.SHUFFLE_LOCAL_BYTES_READ) == pytest.approx(
        job.output_bytes / job.executors, rel=0.05
    )
    # Stage 1: waves of one file per slot; stage 2: one task writing everything.
    waves = math.ceil(job.files / job.slots)
    read_stage = waves * _task_seconds(job, job.file_bytes, 0.0)
    assert _seconds(sim) == read_stage + _task_seconds(job, 0.0, job.output_bytes)
    read_end = next(at for at, v in sim.counters[cw.COMPLETED_STAGES] if v)
    assert abs((read_end - T0).total_seconds() - read_stage) <= 30  # the sample after the stage ended
    assert {v for at, v in sim.gauges[cw.NEEDED_EXECUTORS] if at > read_end} == {1.0}


def test_grouped_reads_make_one_task_per_slot_and_keep_every_executor_busy_until_the_end() -> None:
    job = BILLING_AGG
    sim = simulate(T0, GROUPED, job)

    assert (sim.stages, sim.tasks) == (1, (job.slots,))
    assert _total(sim, cw.SHUFFLE_BYTES_WRITTEN) == _total(sim, cw.SHUFFLE_LOCAL_BYTES_READ) == 0
    _bytes_are_conserved(sim, job)
    largest_group = math.ceil(job.files / job.slots) * job.file_bytes
    assert _seconds(sim) == _task_seconds(job, largest_group, largest_group * job.expansion)
    assert {v for _, v in sim.gauges[cw.ALL_EXECUTORS]} == {float(job.executors)}
    busy = sim.busy_seconds.values()
    assert min(busy) >= 0.95 * max(busy)  # every executor works for the whole run
    assert _seconds(simulate(T0, COALESCE_ONE, job)) > job.executors * _seconds(sim)


def test_group_size_sets_the_number_of_read_tasks() -> None:
    job = BILLING_AGG
    per_group = 40
    sim = simulate(T0, Plan("grouped 1 GB", group_files=True, group_size=per_group * job.file_bytes), job)

    assert sim.tasks == (math.ceil(job.files / per_group),)
    _bytes_are_conserved(sim, job)


def test_samples_are_thirty_seconds_apart_and_counters_include_zeros() -> None:
    sim = simulate(T0, REPARTITION_ONE, BILLING_AGG)

    for points in [*sim.gauges.values(), *sim.counters.values()]:
        gaps = [(b - a).total_seconds() for (a, _), (b, _) in itertools.pairwise(points)]
        assert set(gaps[:-1]) <= {30.0} and 0 < gaps[-1] <= 30  # the last: when the run ended
    stages = sim.counters[cw.COMPLETED_STAGES]
    assert len(stages) == len(sim.gauges[cw.ALL_EXECUTORS]) and sum(v == 0 for _, v in stages) > 100


def test_more_input_makes_the_lone_coalesce_task_longer_in_proportion() -> None:
    short = simulate(T0, COALESCE_ONE, Job(files=24, executors=4))
    long = simulate(T0, COALESCE_ONE, Job(files=96, executors=4))

    assert _seconds(long) == pytest.approx(4 * _seconds(short), abs=4)
    assert _total(long, cw.READ_BYTES) == pytest.approx(4 * _total(short, cw.READ_BYTES))


# --- Observability metrics (skewness) ------------------------------------------------------------


@pytest.mark.parametrize("plan", [COALESCE_ONE, REPARTITION_ONE, GROUPED], ids=lambda p: p.name)
def test_skewness_is_zero_when_the_tasks_of_each_stage_are_alike_even_for_a_single_task(plan: Plan) -> None:
    sim = simulate(T0, plan, SMALL, observability=True)

    assert {v for _, v in sim.gauges[cw.SKEWNESS_STAGE]} == {0.0}
    assert {v for _, v in sim.gauges[cw.SKEWNESS_JOB]} == {0.0}


def test_a_hot_file_read_alone_makes_its_stage_skewed_by_its_size() -> None:
    job = Job(files=96, executors=4, hot_files=1, hot_factor=60)
    sim = simulate(T0, AS_READ, job, observability=True)

    hot = _task_seconds(job, job.file_bytes * job.hot_factor, job.file_bytes * job.hot_factor * job.expansion)
    median = _task_seconds(job, job.file_bytes, job.file_bytes * job.expansion)
    expected = hot / median / SKEWNESS_FACTOR - 1
    assert max(v for _, v in sim.gauges[cw.SKEWNESS_STAGE]) == pytest.approx(expected)
    assert 0 < max(v for _, v in sim.gauges[cw.SKEWNESS_JOB]) <= expected
    assert (
        simulate(T0, AS_READ, Job(files=96, executors=4), observability=True).gauges[cw.SKEWNESS_JOB][-1][1]
        == 0
    )


def test_without_observability_no_skewness_is_published() -> None:
    sim = simulate(T0, GROUPED, SMALL)

    assert cw.SKEWNESS_STAGE not in sim.gauges and cw.SKEWNESS_JOB not in sim.gauges


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"files": 0}, "Job.files must be at least 1, got 0"),
        ({"executors": 0}, "Job.executors must be at least 1, got 0"),
        ({"tasks_per_executor": 0}, "Job.tasks_per_executor must be at least 1, got 0"),
        ({"read_rate": 0.0}, "Job.read_rate must be positive, got 0.0"),
        ({"write_rate": -1.0}, "Job.write_rate must be positive, got -1.0"),
        ({"idle_timeout": -1}, "Job.idle_timeout must not be negative, got -1"),
        ({"hot_files": 2000}, "Job.hot_files must be within 0..files"),
    ],
)
def test_a_job_the_simulation_could_not_finish_is_refused_by_name(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Job(**fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"coalesce": 0}, "Plan.coalesce must be at least 1, got 0"),
        ({"repartition": 0}, "Plan.repartition must be at least 1, got 0"),
        ({"coalesce": 1, "repartition": 1}, "coalesce or repartition, not both"),
        ({"group_size": 1e9}, "group_size needs group_files"),
    ],
)
def test_a_plan_spark_would_not_take_is_refused_by_name(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Plan("bad", **fields)
