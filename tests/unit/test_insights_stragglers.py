"""Straggler detection as a pure computation over per-minute executor series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from glue_audit.insights import cloudwatch as cw
from glue_audit.insights import stragglers
from glue_audit.insights.series import Series
from glue_audit.insights.stragglers import Stretch, detect_straggler, longest_low_stretch
from scripts.engine.spark_run import Plan, SimulatedRun, simulate

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


def test_a_job_that_never_scaled_out_is_not_a_straggler() -> None:
    result = detect([1.0] * 30, 30)

    assert result.verdict == stragglers.BALANCED
    assert "never needed more than 1 executor" in result.reason


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


# --- The run's shape: stages and shuffle (confirming the grouping fix) ---------------------------


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


def test_the_simulated_fix_has_no_shuffle_and_a_single_stage() -> None:
    shape = _shape(simulate(T0, Plan.GROUPED))

    assert shape.confirmed and shape.verdict == stragglers.NO_SHUFFLE_SINGLE_STAGE
    assert (shape.completed_stages, shape.shuffle_bytes_written, shape.shuffle_local_bytes_read) == (1, 0, 0)


def test_the_simulated_coalesce_run_shuffles_over_two_stages() -> None:
    sim = simulate(T0, Plan.FUNNEL)

    shape = _shape(sim)

    assert not shape.confirmed and shape.verdict == stragglers.SHUFFLED
    assert shape.completed_stages == 2 and shape.shuffle_bytes_written == sim.shuffle_bytes
    assert shape.reason.startswith("shuffle: 188.8 GB written")


def test_absent_metrics_cannot_confirm_and_say_why() -> None:
    sim = simulate(T0, Plan.GROUPED)
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
