"""The operator report: PNG plots and a text summary of a period.

* ``flow.png``: the data-flow ratio of every downstream run of each chained pair (jobs tagged
  ``glue-audit:upstream``), with the healthy band;
* ``capacity.png``: concurrent runs and DPUs in use from the capacity snapshots, against the
  budget and the quota, and the pending requests, over the period asked for (or over the
  snapshots' span when they cover less than half of it: the chart's title and the summary say so);
* ``dpu_hours.png``: DPU-hours per job from the ledger;
* ``summary.txt``: the same in words.

matplotlib (Agg backend, no display) is imported only when plotting: it is an operator-side
dependency, not part of the Lambda layer.
"""

from __future__ import annotations

import itertools
import statistics
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from glue_audit.config.distribution import install_hint
from glue_audit.domain.snapshot import Dimension
from glue_audit.domain.states import RunState
from glue_audit.domain.text import wrap
from glue_audit.insights import flow
from glue_audit.insights.collect import (
    ByteReader,
    FlowReport,
    JobCatalog,
    load_flow,
    runs_between,
)
from glue_audit.ledger.models import RunItem, SnapshotItem, iso

MAX_RUNS_PER_JOB = 5000
MAX_SNAPSHOT_DAYS = 31

FLOW_PNG = "flow.png"
CAPACITY_PNG = "capacity.png"
DPU_HOURS_PNG = "dpu_hours.png"
SUMMARY_TXT = "summary.txt"

_VERDICT_COLOURS = {
    flow.HEALTHY: "tab:green",
    flow.REPROCESSING: "tab:red",
    flow.BACKLOG: "tab:orange",
    flow.IDLE: "tab:gray",
}


@dataclass
class JobCost:
    job_name: str
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    dpu_hours: float = 0.0
    runs_without_cost: int = 0
    stragglers: int = 0
    no_data: int = 0


@dataclass
class ReportData:
    since: datetime
    until: datetime
    costs: list[JobCost] = field(default_factory=list)
    flows: list[FlowReport] = field(default_factory=list)
    snapshots: list[SnapshotItem] = field(default_factory=list)
    chained: list[tuple[str, str]] = field(default_factory=list)  # (upstream, downstream) by tag

    @property
    def empty(self) -> bool:
        return not any(cost.runs for cost in self.costs) and not self.snapshots


@dataclass(frozen=True, slots=True)
class ReportFiles:
    directory: Path
    plots: dict[str, Path]
    summary: Path
    text: str


def job_names(glue: Any) -> list[str]:
    names: list[str] = []
    for page in glue.get_paginator("list_jobs").paginate():
        names.extend(page.get("JobNames", []))
    return sorted(set(names))


def snapshots_between(since: datetime, until: datetime) -> list[SnapshotItem]:
    """The capacity snapshots of the period, oldest first: one Query per day partition."""
    first = max(since, until - timedelta(days=MAX_SNAPSHOT_DAYS))
    found: list[SnapshotItem] = []
    day = first.date()
    while day <= until.date():
        condition = SnapshotItem.sk.between(iso(first), f"{iso(until)}#~")
        found.extend(SnapshotItem.query(f"SNAPSHOT#{day:%Y-%m-%d}", condition))
        day += timedelta(days=1)
    return sorted(found, key=lambda item: item.taken_at)


def job_cost(job_name: str, runs: Sequence[RunItem]) -> JobCost:
    cost = JobCost(job_name)
    for run in runs:
        cost.runs += 1
        if run.state == RunState.SUCCEEDED:
            cost.succeeded += 1
        elif run.state in (RunState.FAILED, RunState.TIMEOUT, RunState.ERROR):
            cost.failed += 1
        if run.dpu_seconds is None:
            cost.runs_without_cost += 1
        else:
            cost.dpu_hours += run.dpu_seconds / 3600
        insights = run.insights if isinstance(run.insights, dict) else {}
        straggler = insights.get("straggler") or {}
        if isinstance(straggler, dict) and straggler.get("flagged"):
            cost.stragglers += 1
        if insights.get("verdict") == "no data":
            cost.no_data += 1
    return cost


def gather(
    *,
    cloudwatch: Any,
    s3: Any,
    catalog: JobCatalog,
    now: datetime,
    since: datetime,
    until: datetime,
    jobs: Sequence[str] | None = None,
) -> ReportData:
    names = sorted(set(jobs)) if jobs else job_names(catalog.glue)
    data = ReportData(since, until)
    reader = ByteReader(cloudwatch, s3, catalog, now)
    for name in names:
        runs = list(runs_between(name, since, until, newest_first=False, limit=MAX_RUNS_PER_JOB))
        data.costs.append(job_cost(name, runs))
        job = catalog.job(name)
        if job is not None and job.upstream:
            data.chained.append((job.upstream, name))
        if job is not None and job.upstream and runs:
            data.flows.append(
                load_flow(name, job.upstream, reader=reader, since=since, until=until, upstream_from="tag")
            )
    data.snapshots = snapshots_between(since, until)
    return data


def _dimension(snapshot: SnapshotItem, name: str) -> Dimension:
    return snapshot.snapshot().dimensions[name]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class PlottingUnavailable(RuntimeError):
    """matplotlib is not installed where the report runs."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlottingUnavailable(
            f"the report needs matplotlib, which is not installed here: {install_hint('matplotlib')}"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


LEGEND_OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0, "fontsize": 8}


def _empty(ax: Any, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        textwrap.fill(_shorten(text, 300), 90),
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=9,
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _shorten(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder="…")


def plot_flow(flows: Sequence[FlowReport], path: Path) -> None:
    """One panel per chained pair: a bar per measured downstream run (its data-flow ratio, coloured
    by verdict) against the healthy band; the verdict text stays in the summary, not on the chart."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    count = max(1, len(flows))
    fig, axes = plt.subplots(count, 1, figsize=(11, 3.4 * count), squeeze=False)
    if not flows:
        _empty(axes[0][0], "no chained jobs: tag a downstream job with glue-audit:upstream=<upstream job>")
    for ax, report in zip((row[0] for row in axes), flows, strict=False):
        ax.set_title(f"{report.upstream} -> {report.downstream}: data-flow ratio per run", fontsize=10)
        measured = sorted((r for r in report.results if r.ratio is not None), key=lambda r: r.started_on)
        if not measured:
            _empty(ax, f"no measurable run of {report.downstream}: {report.summary.message}")
            continue
        positions = list(range(len(measured)))
        ax.axhspan(flow.HEALTHY_LOW, flow.HEALTHY_HIGH, color="tab:green", alpha=0.15)
        ax.axhline(1.0, color="tab:green", linewidth=0.8)
        ax.bar(
            positions,
            [float(r.ratio or 0.0) for r in measured],
            color=[_VERDICT_COLOURS.get(r.verdict, "black") for r in measured],
        )
        step = max(1, len(measured) // 12)  # at most about a dozen tick labels
        ax.set_xticks(positions[::step])
        ax.set_xticklabels(
            [r.started_on.strftime("%m-%d %H:%M") for r in measured[::step]],
            rotation=30,
            ha="right",
            fontsize=8,
        )
        ax.set_ylabel("bytes read / written")
        ax.set_xlabel("downstream run, by start (UTC)")
        ax.set_ylim(bottom=0)
        verdicts = sorted({r.verdict for r in measured})
        handles = [Patch(color="tab:green", alpha=0.15, label="healthy band")]
        handles += [Patch(color=_VERDICT_COLOURS.get(v, "black"), label=v) for v in verdicts]
        ax.legend(handles=handles, **LEGEND_OUTSIDE)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# A lone snapshot gives no interval between ticks: its step is drawn as wide as the default
# schedule (rate(5 minutes)).
LONE_SNAPSHOT_WIDTH = timedelta(minutes=5)


def step_edges(times: Sequence[datetime], until: datetime | None = None) -> list[datetime]:
    """The x values of a step chart of ``times``: each snapshot's value holds until the next one,
    and the last one for one tick (the median interval between snapshots), but not past ``until``
    (the end of the period), so the last snapshot is drawn as a step like the others."""
    if not times:
        return []
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    width = statistics.median_low(gaps) if gaps else LONE_SNAPSHOT_WIDTH
    end = times[-1] + width
    if until is not None and times[-1] < until < end:
        end = until
    return [*times, end]


# The capacity chart spans the period asked for, unless the snapshots cover less than this share of
# it (a sandbox's minutes of a 7-day report, days whose snapshots expired): then it spans the
# snapshots, and the chart's title and the summary say so.
MIN_COVERAGE = 0.5


@dataclass(frozen=True, slots=True)
class ChartSpan:
    """The x-axis of ``capacity.png``."""

    start: datetime
    end: datetime
    narrowed: bool  # the snapshots' span, narrower than the period asked for
    period: timedelta | None = None  # the period asked for (None: not given)

    def describe(self) -> str:
        shown = f"{self.start:%Y-%m-%d %H:%M:%S}Z to {self.end:%Y-%m-%d %H:%M:%S}Z"
        if not self.narrowed:
            return shown
        period = f" of the {_span_text(self.period)} period" if self.period is not None else ""
        return f"{shown}: the snapshots cover only {_span_text(self.end - self.start)}{period}"


def _span_text(span: timedelta) -> str:
    """7d, 6h30m, 15s: the largest two units."""
    seconds = round(span.total_seconds())
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            count, seconds = divmod(seconds, size)
            parts.append(f"{count}{unit}")
    return "".join(parts[:2])


def capacity_span(
    snapshots: Sequence[SnapshotItem], since: datetime | None = None, until: datetime | None = None
) -> ChartSpan | None:
    """What ``capacity.png`` spans: the period ``[since, until]``, or the snapshots' steps (see
    ``step_edges``) when they cover less than ``MIN_COVERAGE`` of it or no period is given; None
    without snapshots."""
    edges = step_edges([s.taken_at for s in snapshots], until)
    if not edges:
        return None
    first, last = edges[0], edges[-1]
    if since is None or until is None:
        return ChartSpan(first, last, narrowed=False)
    period = until - since
    if last - first >= MIN_COVERAGE * period:
        return ChartSpan(since, until, narrowed=False, period=period)
    return ChartSpan(first, last, narrowed=True, period=period)


def _held(values: Sequence[float]) -> list[float]:
    """The y values matching ``step_edges``: the last value repeated at the right edge."""
    return [*values, values[-1]] if values else []


def plot_capacity(
    snapshots: Sequence[SnapshotItem],
    path: Path,
    until: datetime | None = None,
    since: datetime | None = None,
) -> ChartSpan | None:
    """Runs, DPUs, free IPs per subnet and pending requests, as steps: each snapshot's values hold
    until the next snapshot, the last one's for one tick (see ``step_edges``). Legends sit right
    of the panels, outside the data. The x-axis is ``capacity_span`` (returned, as drawn), with
    date labels as fine as it needs (seconds for a sandbox's minutes, days for a week)."""
    plt = _pyplot()
    import matplotlib.dates as mdates

    fig, axes = plt.subplots(4, 1, figsize=(11, 11), sharex=True)
    span = capacity_span(snapshots, since, until)
    if not snapshots:
        for ax in axes:
            _empty(ax, "no capacity snapshots in this period")
    else:
        times = step_edges([s.taken_at for s in snapshots], until)
        typed = [s.snapshot() for s in snapshots]
        for ax, name, title in (
            (axes[0], "account_runs", "concurrent job runs"),
            (axes[1], "dpus", "DPUs"),
        ):
            for key, style in (("used", "-"), ("budget", "--"), ("quota", ":")):
                values = [_number(getattr(snap.dimensions[name], key)) for snap in typed]
                if any(v is not None for v in values):
                    ax.step(
                        times,
                        _held([v if v is not None else float("nan") for v in values]),
                        style,
                        where="post",
                        label=key,
                    )
            ax.set_title(title)
            ax.set_ylim(bottom=0)
            ax.legend(**LEGEND_OUTSIDE)
        subnets = sorted({subnet for snap in typed for subnet in snap.subnets})
        for subnet in subnets:
            free = [
                float(snap.subnets[subnet].free_ips) if subnet in snap.subnets else float("nan")
                for snap in typed
            ]
            axes[2].step(times, _held(free), where="post", label=subnet)
        axes[2].set_title("free IPs per subnet")
        axes[2].set_ylim(bottom=0)
        if subnets:
            axes[2].legend(**LEGEND_OUTSIDE)
        else:
            _empty(axes[2], "no subnet in the snapshots")
        axes[3].step(times, _held([float(snap.pending) for snap in typed]), where="post", label="pending")
        axes[3].set_title("pending requests")
        axes[3].set_ylim(bottom=0)
        axes[3].set_xlabel("UTC")
        assert span is not None
        axes[3].set_xlim(span.start, span.end)
        locator = mdates.AutoDateLocator()
        axes[3].xaxis.set_major_locator(locator)
        axes[3].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        fig.suptitle(f"capacity {span.describe()}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    if span is None:
        return None
    low, high = axes[3].get_xlim()  # as drawn
    return replace(span, start=mdates.num2date(low), end=mdates.num2date(high))


def plot_dpu_hours(costs: Sequence[JobCost], path: Path) -> None:
    plt = _pyplot()
    shown = [c for c in costs if c.runs]
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.4 * len(shown) + 1.5)))
    if not shown:
        _empty(ax, "no runs in this period")
    else:
        ordered = sorted(shown, key=lambda c: c.dpu_hours)
        ax.barh([c.job_name for c in ordered], [c.dpu_hours for c in ordered], color="tab:blue")
        ax.set_xlabel("DPU-hours")
        ax.set_title("DPU-hours per job")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _lines(data: ReportData) -> Iterator[str]:
    yield f"Glue Audit report {data.since:%Y-%m-%d %H:%M}Z to {data.until:%Y-%m-%d %H:%M}Z"
    yield ""
    total = sum(c.dpu_hours for c in data.costs)
    runs = sum(c.runs for c in data.costs)
    yield f"Runs: {runs}; DPU-hours: {total:.2f}"
    for cost in sorted(data.costs, key=lambda c: -c.dpu_hours):
        if not cost.runs:
            continue
        extra = []
        if cost.runs_without_cost:
            extra.append(f"{cost.runs_without_cost} without cost figures")
        if cost.stragglers:
            extra.append(f"{cost.stragglers} straggler run(s)")
        if cost.no_data:
            extra.append(f"{cost.no_data} without metrics")
        note = f" ({'; '.join(extra)})" if extra else ""
        yield (
            f"  {cost.job_name}: {cost.runs} runs, {cost.succeeded} succeeded, {cost.failed} failed, "
            f"{cost.dpu_hours:.2f} DPU-hours{note}"
        )
    yield ""
    if data.flows:
        yield "Data flow:"
        for report in data.flows:
            yield f"  {report.upstream} -> {report.downstream}: {report.summary.verdict}: {report.summary.message}"
            if report.summary.fix:
                yield f"    fix: {report.summary.fix}"
    elif not runs:
        yield "Data flow: the period has no runs, so there is no ratio to compute"
    elif data.chained:
        pairs = ", ".join(f"{up} -> {down}" for up, down in data.chained)
        yield f"Data flow: no runs of the chained jobs in this period ({pairs})"
    else:
        yield "Data flow: no chained jobs (tag a downstream job with glue-audit:upstream)"
    yield ""
    if data.snapshots:
        span = capacity_span(data.snapshots, data.since, data.until)
        assert span is not None
        yield f"Capacity: {len(data.snapshots)} snapshots; {CAPACITY_PNG} shows {span.describe()}"
        for name, label in (("account_runs", "concurrent runs"), ("dpus", "DPUs")):
            used = [_dimension(s, name).used for s in data.snapshots]
            latest = _dimension(data.snapshots[-1], name)
            if used:
                yield (
                    f"  {label}: peak {max(used):g} used; budget {latest.budget:g}, "
                    f"quota {'-' if latest.quota is None else f'{latest.quota:g}'} (latest)"
                )
        pending = [float(s.snapshot().pending) for s in data.snapshots]
        if pending:
            yield f"  pending requests: peak {max(pending):g}, latest {pending[-1]:g}"
    else:
        yield "Capacity: no snapshots in this period"


def summary_text(data: ReportData) -> str:
    return wrap("\n".join(_lines(data))) + "\n"


def write_report(data: ReportData, directory: Path) -> ReportFiles:
    _pyplot()  # fail before creating anything when matplotlib is missing
    directory.mkdir(parents=True, exist_ok=True)
    plots = {
        "flow": directory / FLOW_PNG,
        "capacity": directory / CAPACITY_PNG,
        "dpu_hours": directory / DPU_HOURS_PNG,
    }
    plot_flow(data.flows, plots["flow"])
    plot_capacity(data.snapshots, plots["capacity"], until=data.until, since=data.since)
    plot_dpu_hours(data.costs, plots["dpu_hours"])
    text = summary_text(data)
    summary = directory / SUMMARY_TXT
    summary.write_text(text, encoding="utf-8")
    return ReportFiles(directory, plots, summary, text)
