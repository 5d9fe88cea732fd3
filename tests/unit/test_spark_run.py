"""The simulated Glue Spark run behind the sandbox's ``billing_agg`` history and the straggler tests:
its datapoints follow from the mechanism (files read in parallel, then written by one task after a
shuffle, or read and written in groups by every executor), as the seed's graphs show them.

Whether the detector flags these datapoints is asserted where they go through CloudWatch
(``tests/integration/test_insights_stragglers.py``); here, what the simulation itself produces."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from glue_audit.insights import cloudwatch as cw
from scripts.engine.spark_run import Job, Plan, SimulatedRun, simulate

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
BILLING_AGG = Job(executors=9)  # the sandbox's job: 10 G.2X workers, one of them the driver


def _total(sim: SimulatedRun, metric: str) -> float:
    return sum(value for _, value in sim.counters[metric])


def _stage_ends(sim: SimulatedRun) -> list[datetime]:
    return [at for at, value in sim.counters[cw.COMPLETED_STAGES] if value]


def _heap_executors(sim: SimulatedRun, after: datetime) -> set[str]:
    """The executors that still report heap after ``after`` (a released executor reports none)."""
    return {
        metric.split(".")[1]
        for metric, points in sim.gauges.items()
        if metric.endswith("jvm.heap.usage") and any(at > after for at, _ in points)
    }


def test_coalesce_one_reads_on_every_executor_then_one_executor_writes_alone_for_most_of_the_run() -> None:
    sim = simulate(T0, Plan.FUNNEL, BILLING_AGG)

    read_end, write_end = _stage_ends(sim)
    # The seed: the reads finish in the first minutes, the whole run takes around an hour.
    assert read_end - T0 < timedelta(minutes=8)
    assert timedelta(minutes=55) < sim.completed_on - T0 < timedelta(minutes=65)
    assert write_end == sim.completed_on
    # While reading, every executor holds tasks; one idle timeout after the read stage, only the
    # writer is left, and it alone needs an executor and reports heap until the end.
    assert _heap_executors(sim, T0) == {str(e) for e in range(1, 10)}
    released_by = read_end + timedelta(seconds=BILLING_AGG.idle_timeout)
    later = [(at, v) for at, v in sim.gauges[cw.ALL_EXECUTORS] if at >= released_by]
    assert later and {v for _, v in later} == {1.0}
    assert {v for at, v in sim.gauges[cw.NEEDED_EXECUTORS] if at > read_end} == {1.0}
    assert _heap_executors(sim, released_by) == {str(sim.last_executor)}
    # 32 GB of gzip JSON in, about 190 GB of JSON out, all of it through the shuffle.
    assert _total(sim, cw.READ_BYTES) == pytest.approx(32e9)
    assert _total(sim, cw.WRITE_BYTES) == pytest.approx(188.8e9)
    assert _total(sim, cw.SHUFFLE_BYTES_WRITTEN) == pytest.approx(sim.shuffle_bytes) == pytest.approx(188.8e9)
    # The writer fetches the whole shuffle; only what it wrote itself is a local read (1 in 9).
    assert _total(sim, cw.SHUFFLE_LOCAL_BYTES_READ) == pytest.approx(188.8e9 / 9, rel=0.05)


def test_grouped_reads_keep_every_executor_allocated_and_busy_until_the_end() -> None:
    sim = simulate(T0, Plan.GROUPED, BILLING_AGG)

    assert _stage_ends(sim) == [sim.completed_on] and sim.stages == 1
    assert sim.completed_on - T0 < timedelta(minutes=9)
    assert {v for _, v in sim.gauges[cw.ALL_EXECUTORS]} == {9.0}
    for executor in range(1, 10):
        heap = [v for at, v in sim.gauges[cw.executor_heap_metric(str(executor))] if at < sim.completed_on]
        assert len(heap) == 16 and min(heap) > BILLING_AGG.heap_base  # working at every sample
    assert _total(sim, cw.SHUFFLE_BYTES_WRITTEN) == _total(sim, cw.SHUFFLE_LOCAL_BYTES_READ) == 0
    assert _total(sim, cw.WRITE_BYTES) == pytest.approx(188.8e9)


def test_samples_are_thirty_seconds_apart_and_counters_include_zeros() -> None:
    sim = simulate(T0, Plan.FUNNEL, BILLING_AGG)

    for points in [*sim.gauges.values(), *sim.counters.values()]:
        gaps = [(b - a).total_seconds() for (a, _), (b, _) in itertools.pairwise(points)]
        assert set(gaps[:-1]) <= {30.0} and 0 < gaps[-1] <= 30  # the last: when the run ended
    stages = sim.counters[cw.COMPLETED_STAGES]
    assert len(stages) == len(sim.gauges[cw.ALL_EXECUTORS]) and sum(v == 0 for _, v in stages) > 100


def test_more_input_makes_the_lone_writer_longer() -> None:
    short = simulate(T0, Plan.FUNNEL, Job(files=320, executors=9))
    long = simulate(T0, Plan.FUNNEL, Job(files=1280, executors=9))

    assert long.completed_on - long.started_on > 3 * (short.completed_on - short.started_on)
    assert _total(long, cw.READ_BYTES) == pytest.approx(4 * _total(short, cw.READ_BYTES))
    assert long.shuffle_bytes == pytest.approx(4 * short.shuffle_bytes)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"files": 0}, "Job.files must be at least 1, got 0"),
        ({"executors": 0}, "Job.executors must be at least 1, got 0"),
        ({"tasks_per_executor": 0}, "Job.tasks_per_executor must be at least 1, got 0"),
        ({"read_rate": 0.0}, "Job.read_rate must be positive, got 0.0"),
        ({"write_rate": -1.0}, "Job.write_rate must be positive, got -1.0"),
        ({"idle_timeout": -1}, "Job.idle_timeout must not be negative, got -1"),
    ],
)
def test_a_job_the_simulation_could_not_finish_is_refused_by_name(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Job(**fields)
