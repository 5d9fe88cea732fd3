"""The data-flow ratio as a pure computation: windows, bands, persistence, summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glue_audit.insights import flow
from glue_audit.insights.flow import RunBytes, flow_results, flow_windows, summarize

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
MB = 1024 * 1024


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def up(name: str, start: float, end: float | None, written: float | None) -> RunBytes:
    return RunBytes(
        name, at(start), at(end) if end is not None else None, bytes_written=written, source="cloudwatch"
    )


def down(name: str, start: float, end: float | None, read: float | None) -> RunBytes:
    return RunBytes(
        name, at(start), at(end) if end is not None else None, bytes_read=read, source="cloudwatch"
    )


def results(
    downstream: list[RunBytes], upstream: list[RunBytes], previous: datetime | None = None
) -> list[flow.FlowResult]:
    return flow_results(flow_windows(downstream, upstream, previous), "input")


# A chain on a 30-minute schedule with byte counts chosen to exercise the per-run window rule, the
# bands and persistence (ratios 1, 1.8, 0.8, 1.7, 1.02, 0.98). Not the seed's figures: the seed's
# story comes from its mechanism in test_seed_flow_mechanism.py.
CHAIN_UP = [
    up("u1", 0, 10, 100 * MB),
    up("u2", 30, 40, 100 * MB),
    up("u3", 60, 77, 100 * MB),  # a long tail
    up("u4", 90, 100, 100 * MB),
    up("u5", 120, 130, 100 * MB),
    up("u6", 150, 160, 100 * MB),
]
CHAIN_DOWN = [
    down("d1", 10, 20, 100 * MB),
    down("d2", 40, 55, 180 * MB),  # above the band
    down("d3", 77, 105, 80 * MB),  # below it
    down("d4", 105, 120, 170 * MB),  # above again: the second time in three runs
    down("d5", 130, 140, 102 * MB),
    down("d6", 160, 170, 98 * MB),
]


def test_a_chain_gets_its_verdicts_from_the_bands_and_persistence() -> None:
    got = results(CHAIN_DOWN, CHAIN_UP)

    assert [round(r.ratio or 0, 2) for r in got] == [1.0, 1.8, 0.8, 1.7, 1.02, 0.98]
    assert [r.verdict for r in got] == [
        flow.HEALTHY,
        flow.REPROCESSING,
        flow.BACKLOG,
        flow.REPROCESSING,
        flow.HEALTHY,
        flow.HEALTHY,
    ]
    assert [r.persistent for r in got] == [False, False, False, True, False, False]
    assert [r.upstream_run_ids for r in got] == [(f"u{i}",) for i in range(1, 7)]
    assert got[3].fix == flow.REPROCESSING_FIX and got[2].fix == flow.BACKLOG_HINT and got[0].fix is None


def test_summary_while_reprocessing_persists_names_the_fix() -> None:
    summary = summarize(results(CHAIN_DOWN[:4], CHAIN_UP), "input", "output")

    assert summary.verdict == flow.REPROCESSING
    assert "rereads input it already processed: 2 of 4 runs" in summary.message
    assert summary.fix is not None
    assert "transformation_ctx" in summary.fix and "--job-bookmark-option job-bookmark-enable" in summary.fix


def test_summary_after_the_fix_is_healthy_and_remembers_what_happened() -> None:
    summary = summarize(results(CHAIN_DOWN, CHAIN_UP), "input", "output")

    assert summary.verdict == flow.HEALTHY and summary.fix is None
    assert "persistently: 1.80, 1.70" in summary.message and "looks fixed" in summary.message
    assert summary.counts == {flow.HEALTHY: 3, flow.REPROCESSING: 2, flow.BACKLOG: 1}


def test_a_single_spike_is_reprocessing_but_not_persistent() -> None:
    got = results(CHAIN_DOWN[:2], CHAIN_UP)
    summary = summarize(got, "input", "output")

    assert got[1].verdict == flow.REPROCESSING and not got[1].persistent
    assert summary.verdict == flow.REPROCESSING and "once is a hint" in summary.message


def test_window_bounds_are_previous_start_exclusive_and_own_start_inclusive() -> None:
    downstream = [down("d1", 10, 20, 1.0), down("d2", 40, 50, 1.0)]
    upstream = [
        up("at-d1-start", 0, 10, 1.0),  # completes exactly when d1 starts: d1's
        up("just-after", 5, 10.01, 1.0),  # d1 has already listed its input: d2's
        up("at-d2-start", 20, 40, 1.0),  # d2's
        up("after-d2", 30, 41, 1.0),  # neither: the next downstream run's
        up("still-running", 35, None, None),  # no window until it completes
    ]

    windows = flow_windows(downstream, upstream, previous_start=None)

    assert [tuple(u.run_id for u in w.upstream) for w in windows] == [
        ("at-d1-start",),
        ("just-after", "at-d2-start"),
    ]
    assert windows[0].opens_after == at(10) - flow.FIRST_WINDOW
    assert windows[1].opens_after == at(10)


def test_a_known_previous_run_closes_the_first_window() -> None:
    windows = flow_windows([down("d2", 40, 50, 1.0)], [up("old", 0, 5, 1.0), up("new", 20, 30, 1.0)], at(10))

    assert [u.run_id for u in windows[0].upstream] == ["new"]


@pytest.mark.parametrize(
    ("read", "verdict"),
    [(90.0, flow.HEALTHY), (110.0, flow.HEALTHY), (89.9, flow.BACKLOG), (110.1, flow.REPROCESSING)],
)
def test_band_edges_are_healthy(read: float, verdict: str) -> None:
    (result,) = results([down("d", 10, 20, read)], [up("u", 0, 5, 100.0)])

    assert result.verdict == verdict


def test_missing_measurements_give_no_data_with_the_reason_never_a_division() -> None:
    cases = {
        "no read metrics": ([down("d", 10, 20, None)], [up("u", 0, 5, 100.0)], "has no read_bytes metrics"),
        "no upstream run": ([down("d", 10, 20, 100.0)], [], "no run of input completed after"),
        "upstream without metrics": (
            [down("d", 10, 20, 100.0)],
            [up("u", 0, 5, None)],
            "upstream run(s) u of input have no write_bytes",
        ),
    }
    for name, (downstream, upstream, reason) in cases.items():
        (result,) = results(downstream, upstream)
        assert (result.verdict, result.ratio) == (flow.NO_DATA, None), name
        assert reason in result.reason, name
    summary = summarize(results([down("d", 10, 20, None)], []), "input", "output")
    assert summary.verdict == flow.NO_DATA and "could be measured" in summary.message


def test_nothing_written_is_idle_or_reprocessing() -> None:
    (idle,) = results([down("d", 10, 20, 0.0)], [up("u", 0, 5, 0.0)])
    (reread,) = results([down("d", 10, 20, 5.0)], [up("u", 0, 5, 0.0)])

    assert (idle.verdict, idle.ratio) == (flow.IDLE, None)
    assert (reread.verdict, reread.ratio) == (flow.REPROCESSING, None)
    assert "wrote nothing" in reread.reason


def test_a_running_downstream_run_is_not_judged() -> None:
    (result,) = results([down("d", 10, None, 5.0)], [up("u", 0, 5, 5.0)])

    assert result.verdict == flow.RUNNING and result.ratio is None


def test_as_dict_is_json_ready() -> None:
    (result,) = results([down("d", 10, 20, 100.0)], [up("u", 0, 5, 100.0)])

    data = result.as_dict()

    assert data["started_on"] == "2026-05-04T12:10:00Z"
    assert data["window"] == {
        "opens_after": "2026-05-03T12:10:00Z",
        "closes_at": "2026-05-04T12:10:00Z",
        "upstream_run_ids": ["u"],
    }
    assert data["ratio"] == 1.0 and data["verdict"] == flow.HEALTHY


@given(
    downstream_starts=st.lists(st.integers(0, 600), min_size=1, max_size=8, unique=True),
    upstream=st.lists(st.tuples(st.integers(-100, 700), st.integers(0, 120)), max_size=15),
)
def test_every_completed_upstream_run_is_in_at_most_one_window(
    downstream_starts: list[int], upstream: list[tuple[int, int]]
) -> None:
    downstream = [down(f"d{i}", s, s + 5, 1.0) for i, s in enumerate(sorted(downstream_starts))]
    ups = [up(f"u{i}", s, s + d, 1.0) for i, (s, d) in enumerate(upstream)]

    windows = flow_windows(downstream, ups)

    members = [u.run_id for w in windows for u in w.upstream]
    assert len(members) == len(set(members))
    first_open = at(min(downstream_starts)) - flow.FIRST_WINDOW
    last_close = at(max(downstream_starts))
    expected = {u.run_id for u in ups if u.completed_on and first_open < u.completed_on <= last_close}
    assert set(members) == expected


@given(
    read=st.floats(0.0, 1e12, allow_nan=False),
    written=st.floats(1.0, 1e12, allow_nan=False),
    scale=st.floats(0.001, 1000.0, allow_nan=False),
)
def test_the_verdict_depends_only_on_the_ratio(read: float, written: float, scale: float) -> None:
    (plain,) = results([down("d", 10, 20, read)], [up("u", 0, 5, written)])
    (scaled,) = results([down("d", 10, 20, read * scale)], [up("u", 0, 5, written * scale)])

    assert plain.ratio == pytest.approx(read / written)
    if not (flow.HEALTHY_LOW * 0.999 < read / written < flow.HEALTHY_LOW * 1.001) and not (
        flow.HEALTHY_HIGH * 0.999 < read / written < flow.HEALTHY_HIGH * 1.001
    ):
        assert plain.verdict == scaled.verdict
