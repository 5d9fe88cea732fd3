"""Plotly figures as plain JSON (data and layout) for the pages; ``static/console.js`` draws them with
the plotly.js that the ``plotly`` package ships (served by the console, no CDN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from glue_audit.insights import flow
from glue_audit.insights.collect import ExecutorSeries, FlowReport, run_started
from glue_audit.insights.operator_report import step_edges
from glue_audit.insights.times import iso_z
from glue_audit.ledger.models import RunItem, SnapshotItem

Figure = dict[str, Any]
_VERDICT_COLOURS = {
    flow.HEALTHY: "#2ca02c",
    flow.REPROCESSING: "#d62728",
    flow.BACKLOG: "#ff7f0e",
    flow.IDLE: "#7f7f7f",
}


def _layout(title: str, y_title: str, height: int = 260, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 14}},
        "height": height,
        "margin": {"l": 55, "r": 10, "t": 35, "b": 40},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.25},
        **extra,
    }


def _times(values: Sequence[datetime]) -> list[str]:
    return [iso_z(at) or "" for at in values]


def _held(values: Sequence[float | None]) -> list[float | None]:
    return [*values, values[-1]] if values else []


def capacity(snapshots: Sequence[SnapshotItem], hours: int) -> list[Figure]:
    """Runs and DPUs used against budget and quota, free IPs per subnet, team DPUs and pending
    requests, as steps: each tick's value holds until the next tick (as in the report's chart)."""
    typed = [s.snapshot() for s in snapshots]
    x = _times(step_edges([s.taken_at for s in snapshots]))
    figures = []
    for name, title in (("account_runs", "Concurrent runs (account)"), ("dpus", "DPUs (account)")):
        traces = []
        for key, dash in (("used", "solid"), ("budget", "dash"), ("quota", "dot")):
            values = [getattr(snap.dimensions[name], key) for snap in typed]
            if any(v is not None for v in values):
                traces.append(
                    {
                        "x": x,
                        "y": _held(values),
                        "name": key,
                        "mode": "lines",
                        "line": {"shape": "hv", "dash": dash},
                    }
                )
        figures.append(
            {"data": traces, "layout": _layout(f"{title}, last {hours} h", name.replace("_", " "))}
        )
    subnets = sorted({subnet for snap in typed for subnet in snap.subnets})
    figures.append(
        {
            "data": [
                {
                    "x": x,
                    "y": _held([snap.subnets[s].free_ips if s in snap.subnets else None for snap in typed]),
                    "name": s,
                    "mode": "lines",
                    "line": {"shape": "hv"},
                }
                for s in subnets
            ],
            "layout": _layout(f"Free IPs per subnet, last {hours} h", "free IPs"),
        }
    )
    teams = sorted({team for snap in typed for team in snap.teams})
    if teams:
        figures.append(
            {
                "data": [
                    {
                        "x": x,
                        "y": _held([snap.teams[t].used if t in snap.teams else None for snap in typed]),
                        "name": t,
                        "mode": "lines",
                        "line": {"shape": "hv"},
                    }
                    for t in teams
                ],
                "layout": _layout(f"Team DPUs in use, last {hours} h", "DPUs"),
            }
        )
    figures.append(
        {
            "data": [
                {
                    "x": x,
                    "y": _held([float(snap.pending) for snap in typed]),
                    "name": "pending",
                    "mode": "lines",
                    "line": {"shape": "hv"},
                }
            ],
            "layout": _layout(f"Pending requests, last {hours} h", "requests"),
        }
    )
    return figures


def dpu_hours(rows: Sequence[Mapping[str, Any]]) -> Figure | None:
    shown = [row for row in rows if row["cost"].runs]
    if not shown:
        return None
    ordered = sorted(shown, key=lambda row: row["cost"].dpu_hours)
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [round(row["cost"].dpu_hours, 3) for row in ordered],
                "y": [row["name"] for row in ordered],
                "marker": {"color": "#1f77b4"},
            }
        ],
        "layout": _layout("DPU-hours per job", "", height=max(200, 40 + 28 * len(ordered)))
        | {"margin": {"l": 120, "r": 10, "t": 35, "b": 40}},
    }


def durations(job: str, runs: Sequence[RunItem]) -> Figure | None:
    timed = [r for r in runs if r.execution_time is not None]
    if not timed:
        return None
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": _times([run_started(r) for r in timed]),
                "y": [round(float(r.execution_time) / 60, 2) for r in timed],
                "text": [f"{r.run_id[:11]} {r.state}" for r in timed],
                "marker": {"color": ["#2ca02c" if r.state == "SUCCEEDED" else "#d62728" for r in timed]},
                "name": "runs",
            }
        ],
        "layout": _layout(f"{job}: execution time per run", "minutes"),
    }


def flow_ratio(report: FlowReport) -> Figure | None:
    measured = [r for r in report.results if r.ratio is not None]
    if not measured:
        return None
    return {
        "data": [
            {
                "type": "bar",
                "x": _times([r.started_on for r in measured]),
                "y": [round(float(r.ratio or 0.0), 3) for r in measured],
                "marker": {"color": [_VERDICT_COLOURS.get(r.verdict, "#000000") for r in measured]},
                "text": [r.verdict for r in measured],
                "name": "ratio per run",
            }
        ],
        "layout": _layout(
            f"{report.upstream} -> {report.downstream}: bytes read / written per run",
            "ratio",
            shapes=[
                {
                    "type": "rect",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": flow.HEALTHY_LOW,
                    "y1": flow.HEALTHY_HIGH,
                    "fillcolor": "#2ca02c",
                    "opacity": 0.15,
                    "line": {"width": 0},
                }
            ],
        ),
    }


def executors(series: ExecutorSeries) -> Figure:
    traces = [
        {
            "x": _times([at for at, _ in data]),
            "y": [value for _, value in data],
            "name": name,
            "mode": "lines",
            "line": {"shape": "hv"},
        }
        for name, data in (("needed", series.needed), ("allocated", series.allocated))
    ]
    return {"data": traces, "layout": _layout("Executors over the run", "executors")}


def whatif(summaries: Sequence[Mapping[str, Any]]) -> list[Figure]:
    names = [s["strategy"] for s in summaries]
    waits = [
        {
            "type": "bar",
            "name": label,
            "x": names,
            "y": [round(s["wait"]["all"][key] / 60, 1) for s in summaries],
        }
        for label, key in (("p50", "p50_s"), ("p95", "p95_s"), ("max", "max_s"))
    ]
    use = [
        {
            "type": "bar",
            "name": "mean use / budget",
            "x": names,
            "y": [s["binding"]["mean"] for s in summaries],
        },
        {
            "type": "bar",
            "name": "use / bound",
            "x": names,
            "y": [s["binding"]["of_bound"] for s in summaries],
        },
    ]
    return [
        {"data": waits, "layout": _layout("Wait before launch per strategy", "minutes", barmode="group")},
        {"data": use, "layout": _layout("Utilisation of the binding dimension", "share", barmode="group")},
    ]
