"""Figures of one strategy's run: utilisation, waits per priority class, refusals, starvation,
makespan. Plain dictionaries, so ``--json`` and the table print the same thing."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from glue_audit.domain.text import wrap
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


def offered_work(estate: Estate, workload: Workload, durations: Mapping[str, float]) -> dict[str, float]:
    """Unit-seconds each dimension must hold to do every request: size x run duration, summed."""
    sizes = {name: job.size() for name, job in estate.jobs.items()}
    work: dict[str, float] = {"account_runs": 0.0, "dpus": 0.0}
    for name in estate.subnets:
        work[f"subnet_ips:{name}"] = 0.0
    for req in workload.requests:
        seconds = durations[req.request_id]
        size = sizes[req.job]
        work["account_runs"] += seconds
        work["dpus"] += size.dpus * seconds
        subnet = estate.jobs[req.job].subnet
        if subnet is not None:
            work[f"subnet_ips:{subnet}"] += size.ips * seconds
    return work


def makespan_lower_bound(
    estate: Estate, workload: Workload, durations: Mapping[str, float]
) -> dict[str, Any]:
    """No schedule within the budgets finishes sooner: per dimension the offered work over the
    budget (area over capacity), per job its runs' total time over its concurrency limit, and the
    latest submission plus its run's duration. Seconds from the first submission."""
    if not workload.requests:
        return {"seconds": 0.0, "by": "none"}
    first = min(r.submitted_at for r in workload.requests)
    bounds = budgets(estate)
    candidates: dict[str, float] = {
        f"area/{dim}": work / bounds[dim]
        for dim, work in offered_work(estate, workload, durations).items()
        if bounds[dim] > 0
    }
    per_job: dict[str, float] = {}
    for req in workload.requests:
        per_job[req.job] = per_job.get(req.job, 0.0) + durations[req.request_id]
    job, seconds = max(per_job.items(), key=lambda kv: (kv[1] / estate.job_limit(kv[0]), kv[0]))
    candidates[f"job/{job}"] = seconds / estate.job_limit(job)
    candidates["last submission + its run"] = max(
        r.submitted_at - first + durations[r.request_id] for r in workload.requests
    )
    by = max(candidates, key=lambda k: candidates[k])
    return {"seconds": round(candidates[by], 1), "by": by}


def summarise(
    m: Measures,
    estate: Estate,
    workload: Workload,
    durations: Mapping[str, float],
    horizon: float | None = None,
) -> dict[str, Any]:
    """Figures of one run. ``horizon`` (simulated seconds; default: this run's last run end or last
    submission) is where a request that never ran stops waiting: every request counts in the wait
    statistics, one that never ran with its wait to the horizon. Compare strategies on one horizon."""
    classes = priority_classes(workload)
    last_submit = max((r.submitted_at for r in workload.requests), default=0.0)
    if horizon is None:
        horizon = max(m.last_end, last_submit)
    waits = dict(m.waits)
    never_ran = [r for r in workload.requests if r.request_id not in waits]
    for req in never_ran:
        waits[req.request_id] = max(0.0, horizon - req.submitted_at)
    by_class: dict[str, list[float]] = {}
    for request_id, wait in waits.items():
        by_class.setdefault(classes[request_id], []).append(wait)
    labels = sorted(set(classes.values()), key=_class_key, reverse=True)
    # Work not done is not finished early: with requests that never ran the makespan runs to the horizon.
    span = max(0.0, (horizon if never_ran else m.last_end) - m.first_submit)
    bounds = budgets(estate)
    offered = offered_work(estate, workload, durations)
    ran = Workload(
        workload.name, workload.start, tuple(r for r in workload.requests if r.request_id in m.waits)
    )
    done = offered_work(estate, ran, durations)
    utilisation = {}
    for dim, bound in bounds.items():
        used = m.area.get(dim, 0.0)
        possible = m.bound_area.get(dim, 0.0) + m.end_bound.get(dim, 0.0) * max(0.0, horizon - m.end)
        utilisation[dim] = {
            "mean": round(used / (bound * span), 4) if bound > 0 and span > 0 else 0.0,
            "demand": round(possible / (bound * span), 4) if bound > 0 and span > 0 else 0.0,
            "of_bound": round(min(1.0, m.capped_area.get(dim, 0.0) / possible), 4) if possible > 0 else 0.0,
            "done": round(done[dim] / offered[dim], 4) if offered.get(dim) else 0.0,
            "while_backlogged": round(m.backlog_area.get(dim, 0.0) / (bound * m.backlog_seconds), 4)
            if bound > 0 and m.backlog_seconds > 0
            else 0.0,
        }
    # The binding dimension: the one whose offered work sits closest to its budget (the same for
    # every strategy on the same workload).
    binding = max(bounds, key=lambda d: (offered.get(d, 0.0) / bounds[d] if bounds[d] > 0 else 0.0, d))
    lowest = labels[-1] if labels else None
    lower = makespan_lower_bound(estate, workload, durations)
    return {
        "strategy": m.strategy,
        "requests": len(workload.requests),
        "started": len(m.waits),
        "finished": m.finished,
        "never_ran": len(never_ran),
        "gave_up": m.gave_up,
        "horizon_s": round(horizon - m.first_submit, 1),
        "makespan_s": round(span, 1),
        "makespan_lower_bound_s": lower["seconds"],
        "makespan_lower_bound_by": lower["by"],
        "makespan_over_lower_bound": round(span / lower["seconds"], 3) if lower["seconds"] > 0 else 0.0,
        "ticks": m.ticks,
        "wait": {"all": _wait_stats(waits.values())}
        | {label: _wait_stats(by_class.get(label, [])) for label in labels},
        "starvation_max_wait_s": _wait_stats(by_class.get(lowest, []))["max_s"] if lowest else 0.0,
        "lowest_class": lowest,
        "utilisation": utilisation,
        "binding": {"dimension": binding, **utilisation[binding]},
        "bounds": bounds,
        "offered_work": {dim: round(value, 1) for dim, value in offered.items()},
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
    width = max([15, *(len(s["strategy"]) for s in summaries)])
    header = (
        f"{'strategy':<{width}} {'p50':>5} {'p95':>6} {'max':>6} {'starve':>6} {'makespan':>8} {'/LB':>5} "
        f"{'binding':<8} {'util':>4} {'bound':>5} {'done':>4} {'refused':>7} {'ipfail':>6} {'overq':>5} "
        f"{'breach':>6} {'noRun':>5}"
    )
    lines = []
    if summaries:
        first = summaries[0]
        lines.append(
            f"horizon {_minutes(first['horizon_s'])} min (the last run end of any strategy); makespan lower "
            f"bound {_minutes(first['makespan_lower_bound_s'])} min ({first['makespan_lower_bound_by']})"
        )
    lines += [
        "waits and makespan in minutes; every request counts, one that never ran (noRun) waits until the",
        "horizon, and then the makespan runs to the horizon too; /LB = makespan / its lower bound;",
        "util = mean use / budget over the makespan; bound = use (capped at the budget) / the most the",
        "offered runs outstanding could use (per-job limits, capped at the budget; dropped work stays",
        "outstanding), never above 1; done = share of the offered work (size x duration) that ran",
        header,
        "-" * len(header),
    ]
    for s in summaries:
        w = s["wait"]["all"]
        b = s["binding"]
        lines.append(
            f"{s['strategy']:<{width}} {_minutes(w['p50_s']):>5} {_minutes(w['p95_s']):>6} {_minutes(w['max_s']):>6} "
            f"{_minutes(s['starvation_max_wait_s']):>6} {_minutes(s['makespan_s']):>8} "
            f"{s['makespan_over_lower_bound']:>5.2f} {b['dimension']:<8} {b['mean']:>4.2f} {b['of_bound']:>5.2f} "
            f"{b['done']:>4.2f} {s['refused_total']:>7} {s['failed_ips']:>6} {s['over_quota']:>5} "
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
        lines.append(f"  {s['strategy']:<{width}} " + "  ".join(parts))
    words = verdict(summaries)
    if words:
        lines += ["", *words]
    return "\n".join(lines)


#: The figures the verdict compares: (label, how to read it, higher is better).
def _figures(s: Mapping[str, Any]) -> dict[str, tuple[float, bool, str]]:
    top = next((label for label in s["wait"] if label != "all"), None)
    figures: dict[str, tuple[float, bool, str]] = {
        "median wait": (s["wait"]["all"]["p50_s"] / 60, False, "min"),
        "p95 wait": (s["wait"]["all"]["p95_s"] / 60, False, "min"),
        "longest wait": (s["wait"]["all"]["max_s"] / 60, False, "min"),
    }
    if top is not None:
        figures[f"median wait of {top} (most urgent)"] = (s["wait"][top]["p50_s"] / 60, False, "min")
    if s.get("lowest_class"):
        figures[f"longest wait of {s['lowest_class']} (lowest)"] = (
            s["starvation_max_wait_s"] / 60,
            False,
            "min",
        )
    figures |= {
        "makespan": (s["makespan_s"] / 60, False, "min"),
        "use of the binding bound": (s["binding"]["of_bound"], True, ""),
        "requests never run": (float(s["never_ran"]), False, ""),
        "IP failures": (float(s["failed_ips"]), False, ""),
        "budget breaches": (float(s["budget_breaches_total"]), False, ""),
    }
    return figures


def _show(value: float, unit: str) -> str:
    if unit == "min":
        return f"{value:.1f} min"
    return f"{value:.3f}" if value != int(value) else f"{int(value)}"


def verdict(
    summaries: Sequence[Mapping[str, Any]], ours: str = "event-driven", oracle: str = "oracle"
) -> list[str]:
    """In words: per figure, which deployable strategy wins, where ``ours`` loses, and ``ours``'s
    gap to the oracle."""
    by_name = {s["strategy"]: s for s in summaries}
    if ours not in by_name:
        return []
    mine = _figures(by_name[ours])
    rivals = [s for s in summaries if s["strategy"] not in (ours, oracle)]
    lines = [f"who wins (deployable strategies; {oracle} is the clairvoyant reference):"]
    for figure, (value, higher, unit) in mine.items():
        scored = [(s["strategy"], _figures(s).get(figure)) for s in rivals]
        others = [(name, f[0]) for name, f in scored if f is not None]
        better = [(name, v) for name, v in others if (v > value if higher else v < value)]
        if better:
            _, best = max(better, key=lambda nv: nv[1]) if higher else min(better, key=lambda nv: nv[1])
            winners = [name for name, v in better if v == best]
            text = f"{ours} LOSES to {', '.join(winners)}: {_show(value, unit)} against {_show(best, unit)}"
        else:
            ties = [name for name, v in others if v == value]
            text = (
                f"{ours} wins{' (tied with ' + ', '.join(ties) + ')' if ties else ''}: {_show(value, unit)}"
            )
        if oracle in by_name:
            ideal = _figures(by_name[oracle]).get(figure)
            if ideal is not None:
                text += f"; {oracle} {_show(ideal[0], unit)}"
        lines.extend(wrap(f"  {figure}: {text}").splitlines())  # within 120 columns
    return lines
