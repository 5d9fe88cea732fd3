"""Straggler detection as a pure computation over per-minute executor series, and the fix's
confirmation from the balance of the work (never from "no shuffle, single stage" alone)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from glue_audit.insights import cloudwatch as cw
from glue_audit.insights import stragglers
from glue_audit.insights.series import Series
from glue_audit.insights.stragglers import Stretch, detect_straggler, longest_low_stretch
from scripts.engine.spark_run import (
    AS_READ,
    COALESCE_ONE,
    GROUPED,
    REPARTITION_ONE,
    Job,
    Plan,
    SimulatedRun,
    simulate,
)

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def per_minute(values: Sequence[float], start: int = 0) -> Series:
    return Series.of((T0 + timedelta(minutes=start + i), v) for i, v in enumerate(values))


def detect(
    needed: Sequence[float],
    minutes: float,
    *,
    allocated: Sequence[float] = (),
    heap: dict[str, Series] | None = None,
) -> stragglers.StragglerResult:
    return detect_straggler(
        per_minute(needed), per_minute(allocated), heap or {}, T0, T0 + timedelta(minutes=minutes), 60
    )


def test_the_seed_coalesce_run_is_flagged_and_the_busy_executor_named() -> None:
    needed = [10.0] * 9 + [1.0] * 51
    allocated = [10.0] * 9 + [7.0, 4.0] + [1.0] * 49
    heap = {str(e): per_minute([0.3] * 9) for e in range(1, 11) if e != 3}
    heap["3"] = per_minute([0.6] * 60)

    result = detect(needed, 60, allocated=allocated, heap=heap)

    assert result.flagged and result.verdict == stragglers.STRAGGLER
    assert result.stretch == Stretch(T0 + timedelta(minutes=9), T0 + timedelta(minutes=60))
    assert round(result.share or 0, 2) == 0.85 and result.peak_needed == 10
    assert result.busy_executor == "3"
    assert result.idle_executors == ("1", "2", "4", "5", "6", "7", "8", "9", "10")
    assert result.allocated_during_stretch is not None and result.allocated_during_stretch < 1.2
    assert result.fix == stragglers.FIX and "inPartition" in result.fix
    assert "executor 3 did the work while the 9 others idled" in result.reason


def test_the_grouped_run_is_balanced() -> None:
    result = detect([10.0] * 8, 8, allocated=[10.0] * 8)

    assert not result.flagged and result.verdict == stragglers.BALANCED and result.fix is None
    assert result.fix_confirmed and result.spread == 1.0


def test_a_job_that_never_scaled_out_is_not_a_straggler() -> None:
    result = detect([1.0] * 30, 30)

    assert result.verdict == stragglers.BALANCED and not result.fix_confirmed
    assert "never had more than 1 executor" in result.reason
    assert "no balance to judge" in result.confirmation


def test_thresholds_share_and_minutes() -> None:
    # 40% of a 20-minute run at one executor: 8 minutes: flagged (both thresholds met exactly).
    assert detect([5.0] * 12 + [1.0] * 8, 20).flagged
    # 35%: not.
    assert not detect([5.0] * 13 + [1.0] * 7, 20).flagged
    # 50% but of a 6-minute run: 3 minutes is below the 5-minute floor.
    assert not detect([5.0] * 3 + [1.0] * 3, 6).flagged
    # "About one" is at most 1.5: 2 executors needed is not one.
    assert not detect([8.0] * 5 + [2.0] * 25, 30).flagged
    # Zero needed (only the driver works) counts as about one.
    assert detect([8.0] * 5 + [0.0] * 25, 30).flagged


def test_a_gap_in_the_metrics_ends_a_stretch() -> None:
    points = [(T0 + timedelta(minutes=m), 1.0) for m in range(0, 5)] + [
        (T0 + timedelta(minutes=m), 1.0) for m in range(20, 23)
    ]

    stretch = longest_low_stretch(Series.of(points), 60)

    assert stretch == Stretch(T0, T0 + timedelta(minutes=5))


def test_the_longest_stretch_wins() -> None:
    series = per_minute([1.0, 1.0, 9.0, 1.0, 1.0, 1.0, 9.0, 1.0])

    assert longest_low_stretch(series, 60) == Stretch(T0 + timedelta(minutes=3), T0 + timedelta(minutes=6))


def test_no_executor_metrics_is_no_data() -> None:
    result = detect([], 30)

    assert result.verdict == stragglers.NO_DATA and "--enable-metrics" in result.reason
    assert result.as_dict()["flagged"] is False


def test_a_run_without_duration_is_no_data() -> None:
    result = detect_straggler(per_minute([3.0]), Series(), {}, T0, T0, 60)

    assert result.verdict == stragglers.NO_DATA


def test_a_running_run_is_judged_up_to_its_last_datapoint() -> None:
    result = detect_straggler(per_minute([8.0] * 5 + [1.0] * 20), Series(), {}, T0, None, 60)

    assert result.flagged and result.run_seconds == 25 * 60


# --- Simulated runs, as CloudWatch gives them (1-minute periods) --------------------------------

SMALL = Job(files=96, executors=4)  # the seed's pattern on a job small enough for coalesce(1)


def _minutes(points: list[tuple[datetime, float]], stat: str) -> Series:
    """30-second samples as CloudWatch's 1-minute datapoints (Maximum or Average per minute)."""
    buckets: dict[datetime, list[float]] = {}
    for at, value in points:
        buckets.setdefault(at.replace(second=0, microsecond=0), []).append(value)
    pick = max if stat == "Maximum" else (lambda values: sum(values) / len(values))
    return Series.of((at, pick(values)) for at, values in buckets.items())


def judge(sim: SimulatedRun, *, enabled: bool | None = None) -> stragglers.StragglerResult:
    heap = {
        metric.split(".")[1]: _minutes(points, "Average")
        for metric, points in sim.gauges.items()
        if metric.endswith("jvm.heap.usage")
    }
    observability = stragglers.Observability(
        _minutes(sim.gauges.get(cw.SKEWNESS_STAGE, []), "Maximum"),
        _minutes(sim.gauges.get(cw.SKEWNESS_JOB, []), "Maximum"),
    )
    return detect_straggler(
        _minutes(sim.gauges[cw.NEEDED_EXECUTORS], "Maximum"),
        _minutes(sim.gauges[cw.ALL_EXECUTORS], "Average"),
        heap,
        sim.started_on,
        sim.completed_on,
        60,
        observability=observability,
        observability_enabled=enabled,
    )


def _shape(
    sim: SimulatedRun, *, drop: tuple[str, ...] = (), enabled: bool | None = True
) -> stragglers.RunShape:
    def series(metric: str) -> Series:
        return Series() if metric in drop else Series.of(sim.counters[metric])

    return stragglers.run_shape(
        series(cw.COMPLETED_STAGES),
        series(cw.SHUFFLE_BYTES_WRITTEN),
        series(cw.SHUFFLE_LOCAL_BYTES_READ),
        metrics_enabled=enabled,
    )


def test_a_narrow_coalesce_one_run_has_the_fixs_shape_but_is_a_straggler_and_never_confirmed() -> None:
    sim = simulate(T0, COALESCE_ONE, SMALL)

    result = judge(sim)
    shape = _shape(sim)

    # What a real coalesce(1) produces: no shuffle, one stage, one task ...
    assert shape.fix_shape and (shape.completed_stages, shape.shuffle_bytes_written) == (1, 0)
    # ... and one busy executor of the four: the verdict comes from that, not from the shape.
    assert result.verdict == stragglers.STRAGGLER and not result.fix_confirmed
    assert result.executors == SMALL.executors and result.share == 1.0
    assert result.busy_executor == str(sim.last_executor)
    assert set(result.idle_executors) == {str(e) for e in range(1, SMALL.executors + 1)} - {
        result.busy_executor
    }
    assert result.spread == pytest.approx(1 / SMALL.executors)
    assert result.confirmation.startswith("not confirmed: the work was not balanced")
    assert result.as_dict()["fix_confirmed"] is False


def test_the_grouped_read_is_confirmed_by_the_balance_of_its_executors() -> None:
    sim = simulate(T0, GROUPED, SMALL)

    result = judge(sim)

    assert result.verdict == stragglers.BALANCED and result.fix_confirmed
    assert result.idle_over_run == () and result.spread is not None and result.spread >= stragglers.MIN_SPREAD
    assert result.confirmation.startswith(
        f"confirmed by balance: its tasks needed {result.spread:.0%} of its {SMALL.executors} executors"
    )
    assert "no skewness metric to cross-check" in result.confirmation


def test_a_run_using_half_its_executors_is_not_flagged_and_not_confirmed() -> None:
    # coalesce(8) on 4 executors of 4 slots: 8 tasks need 2 executors' worth of slots all along.
    sim = simulate(T0, Plan("coalesce(8)", coalesce=8), SMALL)

    result = judge(sim)

    assert result.verdict == stragglers.BALANCED and not result.fix_confirmed
    assert result.spread == pytest.approx(0.5, abs=0.05)
    assert "below 60%" in result.confirmation


def test_repartition_one_is_a_straggler_with_its_shuffle_reported_from_the_job() -> None:
    job = Job(files=384, executors=4)  # enough output for the lone writer to pass the 5-minute floor
    sim = simulate(T0, REPARTITION_ONE, job)

    result, shape = judge(sim), _shape(sim)

    assert result.flagged and not result.fix_confirmed
    assert shape.verdict == stragglers.SHUFFLED and not shape.fix_shape
    assert shape.completed_stages == 2 and shape.shuffle_bytes_written == pytest.approx(job.output_bytes)
    assert shape.reason.startswith(f"shuffle: {job.output_bytes / 1e9:.1f} GB written")


def test_absent_metrics_cannot_confirm_the_shape_and_say_why() -> None:
    sim = simulate(T0, GROUPED, SMALL)
    every = (cw.COMPLETED_STAGES, cw.SHUFFLE_BYTES_WRITTEN, cw.SHUFFLE_LOCAL_BYTES_READ)

    disabled = _shape(sim, drop=every, enabled=False)
    unknown = _shape(sim, drop=every, enabled=None)
    partial = _shape(sim, drop=(cw.SHUFFLE_LOCAL_BYTES_READ,))

    assert {disabled.verdict, unknown.verdict, partial.verdict} == {stragglers.UNCONFIRMED}
    assert disabled.reason.endswith("the run has no job metrics: it ran without --enable-metrics")
    assert "job metrics not enabled, not arrived yet, or expired" in unknown.reason
    assert partial.reason.endswith(
        "CloudWatch has no glue.driver.aggregate.shuffleLocalBytesRead for the run"
    )
    assert partial.completed_stages == 1  # what is there is still reported


# --- Glue's observability metrics -----------------------------------------------------------------


def test_without_observability_metrics_the_reading_says_so_and_how_to_enable_them() -> None:
    result = judge(simulate(T0, GROUPED, SMALL))
    enabled = judge(simulate(T0, GROUPED, SMALL), enabled=True)

    assert result.observability is not None and not result.observability.present
    assert "--enable-observability-metrics true" in result.observability.reason
    assert (
        "https://docs.aws.amazon.com/glue/latest/dg/monitor-observability.html" in result.observability.reason
    )
    for name in (cw.SKEWNESS_JOB, cw.SKEWNESS_STAGE, cw.WORKER_UTILIZATION):
        assert name in result.observability.reason
    assert enabled.observability is not None
    assert enabled.observability.reason.startswith("the run had --enable-observability-metrics but")


def test_skewness_zero_does_not_clear_a_coalesce_one_run() -> None:
    result = judge(simulate(T0, COALESCE_ONE, SMALL, observability=True))

    assert result.observability is not None and result.observability.present
    assert result.observability.skewness_job == 0.0
    assert "cannot see a stage narrowed to one task" in result.observability.reason
    assert result.flagged and not result.fix_confirmed


def test_the_grouped_run_with_observability_is_confirmed_with_the_skewness_named() -> None:
    result = judge(simulate(T0, GROUPED, SMALL, observability=True))

    assert result.fix_confirmed
    assert result.confirmation.endswith("glue.driver.skewness.job at most 0.00")


def test_task_skew_the_executor_stretch_misses_is_flagged_from_skewness() -> None:
    # One file 40 times the others, read as is: its task outlasts the rest by about a minute.
    job = Job(files=480, executors=4, hot_files=1, hot_factor=40)
    sim = simulate(T0, AS_READ, job, observability=True)

    with_metrics = judge(sim)
    without = judge(simulate(T0, AS_READ, job))

    assert without.verdict == stragglers.BALANCED  # the lone hot task is too short a stretch
    assert without.stretch is not None and without.stretch.seconds < stragglers.MIN_STRETCH_SECONDS
    assert with_metrics.verdict == stragglers.STRAGGLER and not with_metrics.fix_confirmed
    assert with_metrics.reason.startswith("task skew: glue.driver.skewness.job peaked at")
    assert with_metrics.fix == stragglers.SKEW_FIX


def test_skewness_values_glue_cannot_publish_are_ignored_and_named() -> None:
    bad = per_minute([-3.0, float("nan"), 0.0])
    observability = stragglers.Observability(skewness_stage=bad, skewness_job=bad)

    result = detect_straggler(
        per_minute([4.0] * 10),
        per_minute([4.0] * 10),
        {},
        T0,
        T0 + timedelta(minutes=10),
        60,
        observability=observability,
    )

    assert result.observability is not None and result.observability.skewness_job == 0.0
    assert result.observability.reason.startswith(
        "4 skewness datapoint(s) ignored (negative or not a number)"
    )
    assert result.verdict == stragglers.BALANCED and result.fix_confirmed
