"""Figures of one strategy's run: utilisation, waits per priority class, refusals, starvation,
makespan. Plain dictionaries, so ``--json`` and the table print the same thing."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from glue_audit.simulate.engine import Measures
from glue_audit.simulate.model import Estate, Workload

#: A workload with more distinct priorities than this is grouped into bands of 20 points.
MAX_CLASSES = 8


def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile (inclusive method, linear interpolation); 0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if 0 < q < 100
        else float(max(values) if q >= 100 else min(values))
    )


def priority_classes(workload: Workload) -> dict[str, str]:
    """Request id -> class label: the priority itself, or a band when there are many."""
    distinct = {r.priority for r in workload.requests}
    if len(distinct) <= MAX_CLASSES:
        return {r.request_id: f"p{r.priority}" for r in workload.requests}
    return {
        r.request_id: f"p{(r.priority // 20) * 20}-{min(100, (r.priority // 20) * 20 + 19)}"
        for r in workload.requests
    }


def _class_key(label: str) -> int:
    return int(label[1:].split("-")[0])


def budgets(estate: Estate) -> dict[str, float]:
    """The operator's bound per dimension: the budget the project plans against."""
    bounds: dict[str, float] = {"account_runs": float(estate.budget_runs), "dpus": estate.budget_dpus}
    for name, subnet in estate.subnets.items():
        bounds[f"subnet_ips:{name}"] = float(subnet.total_usable - subnet.other_enis - estate.ip_reserve)
    return bounds


def _wait_stats(waits: Iterable[float]) -> dict[str, float]:
    values = sorted(waits)
    return {
        "count": len(values),
        "p50_s": round(percentile(values, 50), 1),
        "p95_s": round(percentile(values, 95), 1),
        "max_s": round(values[-1], 1) if values else 0.0,
    }


def summarise(m: Measures, estate: Estate, workload: Workload) -> dict[str, Any]:
    classes = priority_classes(workload)
    by_class: dict[str, list[float]] = {}
    for request_id, wait in m.waits.items():
        by_class.setdefault(classes[request_id], []).append(wait)
    labels = sorted(set(classes.values()), key=_class_key, reverse=True)
    span = max(0.0, m.last_end - m.first_submit)
    bounds = budgets(estate)
    utilisation = {}
    for dim, bound in bounds.items():
        used = m.area.get(dim, 0.0)
        possible = m.bound_area.get(dim, 0.0)
        utilisation[dim] = {
            "mean": round(used / (bound * span), 4) if bound > 0 and span > 0 else 0.0,
            "demand": round(possible / (bound * span), 4) if bound > 0 and span > 0 else 0.0,
            "of_bound": round(used / possible, 4) if possible > 0 else 0.0,
            "while_backlogged": round(m.backlog_area.get(dim, 0.0) / (bound * m.backlog_seconds), 4)
            if bound > 0 and m.backlog_seconds > 0
            else 0.0,
        }
    # The binding dimension: the one whose demand bound sits closest to its budget.
    binding = max(utilisation, key=lambda d: (utilisation[d]["demand"], utilisation[d]["mean"]))
    lowest = labels[-1] if labels else None
    return {
        "strategy": m.strategy,
        "requests": len(workload.requests),
        "started": len(m.waits),
        "finished": m.finished,
        "never_ran": m.gave_up,
        "makespan_s": round(span, 1),
        "ticks": m.ticks,
        "wait": {"all": _wait_stats(m.waits.values())}
        | {label: _wait_stats(by_class.get(label, [])) for label in labels},
        "starvation_max_wait_s": _wait_stats(by_class.get(lowest, []))["max_s"] if lowest else 0.0,
        "lowest_class": lowest,
        "utilisation": utilisation,
        "binding": {"dimension": binding, **utilisation[binding]},
        "bounds": bounds,
        "peaks": {dim: round(value, 3) for dim, value in sorted(m.peaks.items())},
        "refused": dict(sorted(m.refused.items())),
        "refused_total": sum(m.refused.values()),
        "failed_ips": m.failed_ips,
        "queued_by_glue": m.queued_by_glue,
        "over_quota": sum(v for k, v in m.refused.items() if k.endswith("Exception")) + m.queued_by_glue,
        "budget_breaches": dict(sorted(m.budget_breaches.items())),
        "budget_breaches_total": sum(m.budget_breaches.values()),
    }


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def table(summaries: Sequence[Mapping[str, Any]]) -> str:
    """One row per strategy; waits in minutes."""
    header = (
        f"{'strategy':<15} {'p50':>6} {'p95':>7} {'max':>7} {'starve':>7} {'makespan':>8} "
        f"{'binding':<16} {'util':>5} {'bound':>5} {'refused':>7} {'ipfail':>6} {'overq':>6} "
        f"{'breach':>6} {'noRun':>5}"
    )
    lines = [
        "waits and makespan in minutes; util = mean use / budget over the makespan; bound = use / the",
        "most the outstanding runs could use (per-job limits, capped at the budget)",
        header,
        "-" * len(header),
    ]
    for s in summaries:
        w = s["wait"]["all"]
        lines.append(
            f"{s['strategy']:<15} {_minutes(w['p50_s']):>6} {_minutes(w['p95_s']):>7} {_minutes(w['max_s']):>7} "
            f"{_minutes(s['starvation_max_wait_s']):>7} {_minutes(s['makespan_s']):>8} "
            f"{s['binding']['dimension']:<16} {s['binding']['mean']:>5.2f} {s['binding']['of_bound']:>5.2f} "
            f"{s['refused_total']:>7} {s['failed_ips']:>6} {s['over_quota']:>6} "
            f"{s['budget_breaches_total']:>6} {s['never_ran']:>5}"
        )
    lines.append("")
    lines.append("wait p50 / p95 / max per priority class (minutes)")
    for s in summaries:
        parts = [
            f"{label}: {_minutes(v['p50_s'])}/{_minutes(v['p95_s'])}/{_minutes(v['max_s'])}"
            for label, v in s["wait"].items()
            if label != "all"
        ]
        lines.append(f"  {s['strategy']:<15} " + "  ".join(parts))
    return "\n".join(lines)
