"""The sandbox's straggler history comes from a mechanism (files read in parallel, then written by
one task or by all), and the real detector judges its datapoints: the coalesce(1) run is flagged
with the executor that did the work, the grouped run is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from glue_audit.insights import stragglers
from glue_audit.insights.series import Series
from scripts.engine.straggler_pipeline import StageRun, simulate_run

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def _run(coalesce_one: bool, files: int = 40) -> StageRun:
    return simulate_run(
        T0,
        files=files,
        file_mb=64,
        executors=9,
        read_mb_per_minute=64,
        write_mb_per_minute=64,
        coalesce_one=coalesce_one,
    )


def _per_minute(points: dict[datetime, float]) -> Series:
    """As CloudWatch gives them at a 60 s period: each datapoint in the minute it fell in."""
    return Series.of((at.replace(second=0), value) for at, value in points.items())


def _judge(run: StageRun) -> stragglers.StragglerResult:
    return stragglers.detect_straggler(
        _per_minute(run.needed),
        _per_minute(run.allocated),
        {executor: _per_minute(points) for executor, points in run.heap.items()},
        run.started_on,
        run.completed_on,
    )


def test_coalesce_one_writes_alone_for_most_of_the_run_and_is_flagged() -> None:
    run = _run(coalesce_one=True)

    # 40 files over 9 executors: 5 rounds of a minute; then 2,560 MB written by one task at 64 MB/min.
    assert run.completed_on - run.started_on == timedelta(minutes=5 + 40)
    assert max(run.needed.values()) == 9 and list(run.needed.values())[-1] == 1
    result = _judge(run)
    assert result.verdict == stragglers.STRAGGLER
    assert "executor 1 did the work" in result.reason


def test_grouped_write_keeps_every_executor_busy_and_is_not_flagged() -> None:
    run = _run(coalesce_one=False)

    assert run.completed_on - run.started_on == timedelta(minutes=5 + 5)
    assert _judge(run).verdict == stragglers.BALANCED


def test_more_input_makes_the_lone_writer_longer() -> None:
    short, long = _run(True, files=20), _run(True, files=80)

    assert long.completed_on - long.started_on > short.completed_on - short.started_on
    assert long.bytes_read == pytest.approx(4 * short.bytes_read)


def test_a_run_without_files_or_executors_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one file"):
        _run(True, files=0)
