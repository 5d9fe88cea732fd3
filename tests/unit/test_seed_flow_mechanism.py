"""The seed's data-flow story reproduced by its mechanism, not by chosen byte counts.

``seed_pipeline`` simulates the seed's chain: files of one size, Input every 30 minutes, Output
after each Input success (MaxConcurrentRuns 1), the Output run listing staging when it starts and
job bookmarks deciding which listed files it reads. The Glue byte metrics come from what each run
read and wrote; the ratios below are computed from them by ``period_flows`` (the seed's dashboard)
and ``flow_windows``/``flow_results`` (per run, what the verdict uses).

The seed's times: Input runs at 12:00, 12:30, 13:00 (a long tail to 13:17), 13:30, 14:00, 14:30.
The source has been filling since 11:15, one file every 5 minutes, so the first Input run takes 45
minutes of input and the others 30 (the seed's own figures imply it: 2.5 in the second period
after 1 in the first means the Output run read 1.5 times what the second Input run wrote on top of
it). An Output run needs 9 minutes to start and reads a file in 42 seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from glue_audit.insights import flow
from glue_audit.insights.flow import flow_results, flow_windows, period_flows
from glue_audit.insights.series import Series
from scripts.engine.seed_pipeline import Pipeline, simulate

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
INPUT_MINUTES = [10, 10, 17, 10, 10, 10]  # the third Input run has the long tail


def seed(
    *, bookmarks: bool, file_bytes: float = 8 * 1024 * 1024, startup: float = 9, pace: float = 0.7
) -> Pipeline:
    return simulate(
        T0,
        INPUT_MINUTES,
        source_since=T0 - timedelta(minutes=45),
        arrival_every=timedelta(minutes=5),
        read_minutes_per_file=pace,
        startup_minutes=startup,
        bookmarks=bookmarks,
        file_bytes=file_bytes,
    )


def periods(pipeline: Pipeline) -> list[flow.PeriodFlow]:
    return period_flows(
        pipeline.series(pipeline.outputs, "read_bytes"),
        pipeline.series(pipeline.inputs, "write_bytes"),
        T0,
        T0 + timedelta(hours=3),
    )


def per_run(pipeline: Pipeline) -> list[flow.FlowResult]:
    downstream, upstream = pipeline.run_bytes()
    return flow_results(flow_windows(downstream, upstream), "input_job")


def rounded(values: list[float | None]) -> list[float | None]:
    return [round(v, 2) if v is not None else None for v in values]


def test_the_mechanism_is_the_seeds_timeline() -> None:
    pipeline = seed(bookmarks=False)

    started = [
        (run.run_id, f"{run.started_on:%H:%M}", len(run.listed), len(run.read)) for run in pipeline.outputs
    ]
    # the third Output run lists staging at 13:17 (after the long tail) and rereads all of it; it
    # is still running when the fourth Input run succeeds at 13:40, so that success starts nothing
    assert started[:3] == [
        ("output-1", "12:10", 9, 9),
        ("output-2", "12:40", 15, 15),
        ("output-3", "13:17", 21, 21),
    ]
    assert pipeline.outputs[2].completed_on > pipeline.inputs[3].completed_on
    assert pipeline.refused[0] == "input-4"
    assert [len(run.written) for run in pipeline.inputs] == [9, 6, 6, 6, 6, 6]


def test_without_bookmarks_the_trigger_periods_give_the_seeds_dashboard() -> None:
    got = periods(seed(bookmarks=False))

    assert [f"{p.start:%H:%M}" for p in got[:4]] == ["12:00", "12:30", "13:00", "13:30"]
    # seed: 1, 2.5, 0.83, "around 2.75". With equal Input runs after the first, the fourth period
    # is (9 + 6 + 6 - 5 files) / 6 = 2.67: the third Output run's 21 files minus the 5 it read
    # before 13:30.
    assert rounded([p.ratio for p in got[:4]]) == [1.0, 2.5, 0.83, 2.67]
    assert [p.verdict for p in got[:4]] == [flow.HEALTHY, flow.REPROCESSING, flow.BACKLOG, flow.REPROCESSING]


def test_per_run_windows_give_one_ratio_per_output_run() -> None:
    got = per_run(seed(bookmarks=False))

    # the third Output run read 21 files against the 6 of the Input run completed for it: one
    # ratio, 3.5, where the dashboard splits it into 0.83 and 2.67 across 13:30
    assert rounded([r.ratio for r in got]) == [1.0, 2.5, 3.5, 2.75]
    assert [r.upstream_run_ids for r in got] == [
        ("input-1",),
        ("input-2",),
        ("input-3",),
        ("input-4", "input-5"),
    ]
    assert [r.verdict for r in got] == [flow.HEALTHY, flow.REPROCESSING, flow.REPROCESSING, flow.REPROCESSING]


def test_with_bookmarks_each_output_run_reads_only_new_files_and_every_run_is_1() -> None:
    pipeline = seed(bookmarks=True)

    assert [len(run.read) for run in pipeline.outputs] == [9, 6, 6, 6, 6, 6]
    assert pipeline.refused == []
    assert rounded([r.ratio for r in per_run(pipeline)]) == [1.0] * 6
    assert summary_verdict(pipeline) == flow.HEALTHY
    # The dashboard still splits the late third run across 13:30 (5 files before, 1 after): the
    # reason the verdict uses the per-run windows, not the trigger periods.
    assert rounded([p.ratio for p in periods(pipeline)]) == [1.0, 1.0, 0.83, 1.17, 1.0, 1.0]


def summary_verdict(pipeline: Pipeline) -> str:
    return flow.summarize(per_run(pipeline), "input_job", "output_job").verdict


@pytest.mark.parametrize("file_bytes", [1.0, 4096.0, 8 * 1024 * 1024, 3.3e9])
def test_the_ratios_do_not_depend_on_the_file_size(file_bytes: float) -> None:
    got = periods(seed(bookmarks=False, file_bytes=file_bytes))

    assert rounded([p.ratio for p in got[:4]]) == [1.0, 2.5, 0.83, 2.67]


def keeps_the_seeds_times(startup: float, pace: float) -> bool:
    """The second Output run (15 files from 12:40) is done before 13:00; the third (from 13:17)
    has read 5 files, not 6, before 13:30 and is still running when the fourth Input run
    succeeds at 13:40."""
    return (
        startup + 15 * pace < 20
        and startup + 5 * pace < 13 <= startup + 6 * pace
        and startup + 21 * pace > 23
    )


def test_the_ratios_hold_for_every_pace_that_keeps_the_seeds_times() -> None:
    grid = [(s / 10, p / 100) for s in range(70, 121) for p in range(40, 101)]
    fitting = [(startup, pace) for startup, pace in grid if keeps_the_seeds_times(startup, pace)]

    dashboards = {
        tuple(rounded([p.ratio for p in periods(seed(bookmarks=False, startup=startup, pace=pace))[:4]]))
        for startup, pace in fitting
    }

    assert len(fitting) > 20
    assert dashboards == {(1.0, 2.5, 0.83, 2.67)}


# --- period_flows on its own ------------------------------------------------------------------


def test_a_datapoint_on_a_period_boundary_belongs_to_the_later_period() -> None:
    written = Series.of([(T0, 10.0), (T0 + timedelta(minutes=30), 10.0)])
    read = Series.of([(T0 + timedelta(minutes=29), 10.0), (T0 + timedelta(minutes=30), 20.0)])

    got = period_flows(read, written, T0, T0 + timedelta(hours=1))

    assert [p.ratio for p in got] == [1.0, 2.0]


def test_periods_without_writes_are_idle_or_carried_over_never_a_division() -> None:
    read = Series.of([(T0 + timedelta(minutes=40), 5.0)])
    got = period_flows(read, Series(), T0, T0 + timedelta(hours=1))

    assert [(p.verdict, p.ratio) for p in got] == [(flow.IDLE, None), (flow.NO_DATA, None)]
    assert "carried over" in got[1].reason
    assert got[1].as_dict()["start"] == "2026-05-04T12:30:00Z"


def test_bad_period_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="trigger period must be positive"):
        period_flows(Series(), Series(), T0, T0 + timedelta(hours=1), timedelta(0))
    with pytest.raises(ValueError, match="period range is empty"):
        period_flows(Series(), Series(), T0, T0)


# --- The downstream job's bookmark option names the cause on the first spike ---------------------


def per_run_with_option(pipeline: Pipeline, option: str | None) -> list[flow.FlowResult]:
    downstream, upstream = pipeline.run_bytes()
    return flow_results(
        flow_windows(downstream, upstream), "input_job", downstream_job="output_job", bookmark_option=option
    )


def test_bookmarks_disabled_flag_reprocessing_on_the_first_spike_and_name_the_fix() -> None:
    got = per_run_with_option(seed(bookmarks=False), "job-bookmark-disable")

    assert [r.verdict for r in got[:2]] == [flow.HEALTHY, flow.REPROCESSING]
    assert got[1].persistent  # the first spike, 2.5: the cause is known
    assert got[1].fix is not None
    assert got[1].fix.startswith(
        "bookmarks are disabled on output_job: enable them and give the source a transformation_ctx"
    )
    summary = flow.summarize(got[:2], "input_job", "output_job")
    assert summary.verdict == flow.REPROCESSING and summary.fix == got[1].fix


def test_a_paused_bookmark_is_named_too() -> None:
    got = per_run_with_option(seed(bookmarks=False), "job-bookmark-pause")

    assert got[1].persistent and got[1].fix is not None and "bookmarks are paused on output_job" in got[1].fix


@pytest.mark.parametrize("option", [None, "job-bookmark-enable"])
def test_without_a_known_cause_one_spike_is_only_a_hint(option: str | None) -> None:
    got = per_run_with_option(seed(bookmarks=False), option)

    assert got[1].verdict == flow.REPROCESSING and not got[1].persistent
    assert got[1].fix == flow.REPROCESSING_FIX
    assert got[2].persistent  # the second spike within three runs


def test_the_backlog_period_names_the_late_run_and_the_upstream_run_it_waited_for() -> None:
    pipeline = seed(bookmarks=False)
    downstream, upstream = pipeline.run_bytes()

    got = period_flows(
        pipeline.series(pipeline.outputs, "read_bytes"),
        pipeline.series(pipeline.inputs, "write_bytes"),
        T0,
        T0 + timedelta(hours=2),
        downstream_runs=downstream,
        upstream_runs=upstream,
    )

    assert got[2].verdict == flow.BACKLOG
    assert (
        "output-3 started only at 13:17 when upstream run input-3 (started 13:00) finished writing at 13:17 "
        "and was still reading at 13:30" in got[2].reason
    )
    assert got[3].verdict == flow.REPROCESSING
    assert "includes the rest of output-3 (started 13:17) from the period before" in got[3].reason
    assert "started only" not in got[0].reason and "includes the rest" not in got[1].reason
