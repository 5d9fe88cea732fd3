"""The report's charts: steps between snapshots, a free-IP panel per subnet, legends outside the
data, and ``flow.png`` drawn as bars of the ratio per run (not text)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates
import matplotlib.image
import pytest
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from glue_audit.domain.snapshot import CapacitySnapshot, Dimension, SubnetUse
from glue_audit.insights import flow
from glue_audit.insights import operator_report as reporting
from glue_audit.insights.collect import FlowReport
from glue_audit.ledger.models import SnapshotItem

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """Every figure saved, kept for inspection (the PNG is still written)."""
    saved: list[Figure] = []
    original = Figure.savefig

    def keep(self: Figure, *args: Any, **kwargs: Any) -> None:
        saved.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return saved


def _dimension(used: float, budget: float) -> Dimension:
    return Dimension(
        quota=budget / 0.9,
        quota_source="test",
        budget=budget,
        used=used,
        free=budget - used,
        after_launches=0,
    )


def _snapshot(minute: int, runs: int, free_a: int, free_b: int) -> SnapshotItem:
    taken = START + timedelta(minutes=minute)
    data = CapacitySnapshot(
        tick_id=f"t{minute}",
        taken_at=taken,
        account_runs=_dimension(runs, 10),
        dpus=_dimension(runs * 5, 54),
        subnets={
            "subnet-a": SubnetUse(free_ips=free_a, reserve=4, recent_launch_ips=0, usable=59, total=64),
            "subnet-b": SubnetUse(free_ips=free_b, reserve=4, recent_launch_ips=0, usable=59, total=64),
        },
        pending=20 - runs,
    )
    pk, sk = SnapshotItem.key(taken, data.tick_id)
    return SnapshotItem(pk, sk, taken_at=taken, data=data.to_item())


def _renderer(fig: Figure) -> RendererBase:
    canvas = FigureCanvasAgg(fig)  # the figure was closed after saving: draw it again
    canvas.draw()
    return canvas.get_renderer()


def _legends_outside(fig: Figure) -> None:
    renderer = _renderer(fig)
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1, ax.get_title()


def _is_png(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    return image.shape[1], image.shape[0]


def test_capacity_chart_has_steps_a_subnet_panel_and_legends_outside(
    tmp_path: Path, figures: list[Figure]
) -> None:
    snapshots = [_snapshot(0, 2, 50, 55), _snapshot(5, 8, 20, 40), _snapshot(10, 4, 35, 50)]
    path = tmp_path / "capacity.png"

    reporting.plot_capacity(snapshots, path)

    width, height = _is_png(path)
    assert width > 600 and height > 600
    (fig,) = figures
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["concurrent job runs", "DPUs", "free IPs per subnet", "pending requests"]
    subnet_panel = fig.axes[2]
    lines = {line.get_label(): line for line in subnet_panel.get_lines()}
    assert set(lines) == {"subnet-a", "subnet-b"}
    # A step holds each snapshot's value until the next one (no ramp from 50 free IPs to 20).
    assert list(lines["subnet-a"].get_ydata()) == [50, 20, 35, 35]
    for ax in fig.axes:
        for line in ax.get_lines():
            assert line.get_drawstyle() == "steps-post", (ax.get_title(), line.get_label())
    _legends_outside(fig)


def _last_step(line: Any) -> tuple[timedelta, float]:
    """How long the line's last value is drawn, and that value."""
    xs = [matplotlib.dates.num2date(x) for x in line.get_xdata(orig=False)]
    ys = list(line.get_ydata())
    assert ys[-1] == ys[-2]  # steps-post: the last segment runs at the last value
    return xs[-1] - xs[-2], float(ys[-1])


def test_capacity_chart_draws_the_last_snapshot_as_a_step(tmp_path: Path, figures: list[Figure]) -> None:
    """The last tick's values (here 4 runs, 20 DPUs, 35 free IPs, 16 pending) are drawn for one
    tick interval like every other, not as a bare corner at the chart's edge."""
    snapshots = [_snapshot(0, 2, 50, 55), _snapshot(5, 8, 20, 40), _snapshot(10, 4, 35, 50)]

    reporting.plot_capacity(snapshots, tmp_path / "capacity.png")

    (fig,) = figures
    runs, dpus, subnets, pending = fig.axes
    used_runs = next(line for line in runs.get_lines() if line.get_label() == "used")
    assert _last_step(used_runs) == (timedelta(minutes=5), 4.0)
    used_dpus = next(line for line in dpus.get_lines() if line.get_label() == "used")
    assert _last_step(used_dpus) == (timedelta(minutes=5), 20.0)
    subnet_a = next(line for line in subnets.get_lines() if line.get_label() == "subnet-a")
    assert _last_step(subnet_a) == (timedelta(minutes=5), 35.0)
    (pending_line,) = pending.get_lines()
    assert _last_step(pending_line) == (timedelta(minutes=5), 16.0)


def test_the_last_step_stops_at_the_period_end_and_a_lone_snapshot_is_drawn(
    tmp_path: Path, figures: list[Figure]
) -> None:
    snapshots = [_snapshot(0, 2, 50, 55), _snapshot(5, 8, 20, 40), _snapshot(10, 4, 35, 50)]
    reporting.plot_capacity(snapshots, tmp_path / "a.png", until=START + timedelta(minutes=12))
    reporting.plot_capacity([_snapshot(0, 3, 30, 30)], tmp_path / "b.png")

    clipped, lone = figures
    (pending_line,) = clipped.axes[3].get_lines()
    assert _last_step(pending_line) == (timedelta(minutes=2), 16.0)  # the report ends at minute 12
    (lone_pending,) = lone.axes[3].get_lines()
    assert _last_step(lone_pending) == (reporting.LONE_SNAPSHOT_WIDTH, 17.0)


def _result(minute: int, ratio: float, verdict: str) -> flow.FlowResult:
    started = START + timedelta(hours=minute)
    return flow.FlowResult(
        run_id=f"jr_{minute:04d}",
        started_on=started,
        completed_on=started + timedelta(minutes=5),
        window_opens_after=started - timedelta(hours=1),
        window_closes_at=started,
        upstream_run_ids=("jr_up",),
        bytes_read=ratio * 100,
        upstream_bytes_written=100.0,
        ratio=ratio,
        verdict=verdict,
        reason="test",
    )


def test_flow_chart_is_bars_of_the_ratio_per_run_with_the_legend_outside(
    tmp_path: Path, figures: list[Figure]
) -> None:
    results = [_result(i, 1.0, flow.HEALTHY) for i in range(8)] + [_result(8, 3.0, flow.REPROCESSING)]
    long_verdict = "reprocessing " * 80  # a 1000-character message must not end up on the chart
    report = FlowReport(
        upstream="input_job",
        downstream="output_job",
        upstream_from="tag",
        results=results,
        summary=flow.FlowSummary(verdict=flow.REPROCESSING, message=long_verdict, counts={}),
    )
    path = tmp_path / "flow.png"

    reporting.plot_flow([report], path)

    _is_png(path)
    (fig,) = figures
    (ax,) = fig.axes
    heights = [patch.get_height() for patch in ax.patches if patch.get_width() < 1.5]
    assert heights[-9:] == [1.0] * 8 + [3.0]
    assert len(ax.get_title()) < 80
    assert all(len(text.get_text()) < 80 for text in ax.texts)
    _legends_outside(fig)


def test_flow_chart_without_measured_runs_keeps_its_message_inside_the_figure(
    tmp_path: Path, figures: list[Figure]
) -> None:
    report = FlowReport(
        upstream="input_job",
        downstream="output_job",
        upstream_from="tag",
        results=[],
        summary=flow.FlowSummary(verdict=flow.NO_DATA, message="no bytes " * 120, counts={}),
    )
    reporting.plot_flow([report], tmp_path / "flow.png")
    (fig,) = figures
    renderer = _renderer(fig)
    box = fig.bbox
    for text in fig.axes[0].texts:
        extent = text.get_window_extent(renderer)
        assert extent.x0 >= box.x0 and extent.x1 <= box.x1, text.get_text()


def _snapshot_at(taken: datetime, runs: int) -> SnapshotItem:
    item = _snapshot(0, runs, 40, 40)
    data = item.snapshot()
    moved = CapacitySnapshot(
        tick_id=f"t{taken.timestamp()}",
        taken_at=taken,
        account_runs=data.account_runs,
        dpus=data.dpus,
        subnets=data.subnets,
        pending=data.pending,
    )
    pk, sk = SnapshotItem.key(taken, moved.tick_id)
    return SnapshotItem(pk, sk, taken_at=taken, data=moved.to_item())


def _stated_span(text: str) -> tuple[datetime, datetime]:
    """The span the summary says capacity.png shows."""
    found = re.search(
        r"capacity\.png shows (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)Z to (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)Z",
        " ".join(text.split()),
    )
    assert found is not None, text
    start, end = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) for t in found.groups())
    return start, end


def _drawn_span(fig: Figure) -> tuple[datetime, datetime]:
    low, high = fig.axes[3].get_xlim()
    return matplotlib.dates.num2date(low), matplotlib.dates.num2date(high)


def test_a_sandbox_s_seconds_of_snapshots_in_a_week_are_drawn_over_their_span_and_labelled(
    tmp_path: Path, figures: list[Figure]
) -> None:
    """A sandbox ticks every few seconds: a 7-day report of it gets an axis of those seconds, with
    distinct tick labels, and the summary says what the chart spans and that it is not the week."""
    until = START + timedelta(days=7)
    first = until - timedelta(minutes=5)
    snapshots = [_snapshot_at(first + timedelta(seconds=3 * i), runs=i % 4) for i in range(6)]
    data = reporting.ReportData(since=START, until=until, snapshots=snapshots)

    files = reporting.write_report(data, tmp_path / "report")

    fig = figures[1]  # flow.png, capacity.png, dpu_hours.png
    start, end = _drawn_span(fig)
    assert (start, end) == (first, first + timedelta(seconds=18))  # 6 steps of 3 seconds
    stated_start, stated_end = _stated_span(files.text)
    assert abs(stated_start - start) < timedelta(seconds=1) and abs(stated_end - end) < timedelta(seconds=1)
    assert "the snapshots cover only 18s of the 7d period" in " ".join(files.text.split())
    assert "cover only 18s of the 7d period" in fig.texts[0].get_text()  # the chart's title
    _renderer(fig)
    labels = [label.get_text() for label in fig.axes[3].get_xticklabels() if label.get_text()]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_snapshots_over_most_of_the_period_are_drawn_over_the_whole_period(
    tmp_path: Path, figures: list[Figure]
) -> None:
    until = START + timedelta(days=1)
    snapshots = [_snapshot_at(START + timedelta(hours=h), runs=h % 5) for h in range(4, 24)]
    data = reporting.ReportData(since=START, until=until, snapshots=snapshots)

    files = reporting.write_report(data, tmp_path / "report")

    drawn = _drawn_span(figures[1])
    assert drawn == (START, until)
    assert _stated_span(files.text) == drawn
    assert "cover only" not in files.text
