"""``make demo``: the whole Glue Audit Framework on an embedded AWS emulator, on an accelerated clock.

Starts a moto server on 127.0.0.1, provisions the stack with the Terraform's names and definitions
(the state machine from the real ASL template), registers sample Glue jobs on two subnets,
submits a workload with ``glue-audit submit``, and runs scheduler ticks (scheduled, and
event-driven when runs finish) while a Glue driver plays Glue. Then it reads the audit back from
the ledger and writes ``build/demo/report.json`` and ``build/demo/timeline.png``.

    .venv/bin/python -m scripts.demo [--requests 60] [--seed 7] [--max-runs 12] [--max-dpus 60] ...
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from glue_audit.resources import ResourceNames

NAMES = ResourceNames("glue-audit-demo")
# Handlers read settings at cold start; the scenario hands them its own before the first tick.
os.environ.setdefault("LEDGER_TABLE", NAMES.ledger_table)
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from glue_audit.models import LedgerItem, RequestItem, RunItem  # noqa: E402
from scripts.engine import simulation  # noqa: E402
from scripts.engine.emulator import Emulator, LambdaDispatcher  # noqa: E402

OUT = Path("build/demo")


def parse_args(argv: list[str] | None) -> simulation.Options:
    defaults = simulation.Options()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=defaults.requests, help="workload size")
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="random seed for durations and outcomes"
    )
    parser.add_argument(
        "--max-runs", type=int, default=defaults.max_concurrent_runs, help="account concurrent-run quota"
    )
    parser.add_argument("--max-dpus", type=float, default=defaults.max_dpus, help="account DPU quota")
    parser.add_argument(
        "--fraction", type=float, default=defaults.quota_fraction, help="share of each quota to use"
    )
    parser.add_argument(
        "--ip-reserve", type=int, default=defaults.ip_reserve, help="IPs kept free per subnet"
    )
    parser.add_argument("--subnet-a", default=dict(defaults.subnet_cidrs)["a"], help="CIDR of subnet a")
    parser.add_argument("--subnet-b", default=dict(defaults.subnet_cidrs)["b"], help="CIDR of subnet b")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    if not 0 < args.fraction <= 1:
        parser.error("--fraction must be in (0, 1]")
    return replace(
        defaults,
        requests=args.requests,
        seed=args.seed,
        max_concurrent_runs=args.max_runs,
        max_dpus=args.max_dpus,
        quota_fraction=args.fraction,
        ip_reserve=args.ip_reserve,
        subnet_cidrs=(("a", args.subnet_a), ("b", args.subnet_b)),
    )


class Progress:
    """One refreshing status line on a terminal, a line every 10 simulated minutes otherwise."""

    def __init__(self, options: simulation.Options) -> None:
        self.tty = sys.stdout.isatty()
        self.runs_budget = int(options.max_concurrent_runs * options.quota_fraction)
        self.dpu_budget = options.max_dpus * options.quota_fraction

    def __call__(self, s: simulation.TickSample) -> None:
        ips = " ".join(f"{subnet[-6:]}:{free}" for subnet, free in sorted(s.free_ips.items()))
        line = (
            f"t+{s.minute:3d}m  runs {s.active_runs:2d}/{self.runs_budget}  DPUs {s.dpus:5.1f}/{self.dpu_budget:.0f}  "
            f"free IPs {ips}  pending {s.pending:3d}  launched {s.launched_total:3d}  done {s.finished_total:3d}  "
            f"ticks {s.executions}"
        )
        if self.tty:
            print(f"\r{line}", end="", flush=True)
        elif s.minute % 10 == 0:
            print(line, flush=True)

    def close(self) -> None:
        if self.tty:
            print()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def audit_report(result: simulation.Result) -> dict[str, Any]:
    """The audit, read back from the ledger (runs through the history index, snapshots by day)."""
    runs: list[RunItem] = []
    for spec in simulation.JOBS:
        runs += [r for r in LedgerItem.history_index.query(spec.name) if isinstance(r, RunItem)]
    requests = [RequestItem.get(*RequestItem.key(rid)) for rid in result.request_ids]
    snapshots = result.snapshots()

    # Peak use from the ledger's own run intervals (launched -> completed), swept in time order.
    job_sizes = {spec.name: spec for spec in simulation.JOBS}
    subnet_of = result.estate.job_subnets
    events: list[tuple[datetime, int, RunItem]] = []
    for run in runs:
        start = run.launched_at or run.started_on
        end = run.completed_on
        if start is None or end is None:
            continue
        events += [(start, 1, run), (end, -1, run)]
    events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at the same instant
    runs_now = dpus_now = 0.0
    ips_now: Counter[str] = Counter()
    peak = {"account_runs": 0.0, "dpus": 0.0}
    peak_ips: Counter[str] = Counter()
    for _, sign, run in events:
        runs_now += sign
        dpus_now += sign * float(run.dpus or 0)
        spec = job_sizes[run.job_name]
        ips_now[subnet_of[run.job_name]] += sign * (spec.workers + 2)
        peak["account_runs"] = max(peak["account_runs"], runs_now)
        peak["dpus"] = max(peak["dpus"], dpus_now)
        for subnet, used in ips_now.items():
            peak_ips[subnet] = max(peak_ips[subnet], used)
    options = result.options
    budgets = {
        "account_runs": int(options.max_concurrent_runs * options.quota_fraction + 1e-9),
        "dpus": options.max_dpus * options.quota_fraction,
    }
    subnet_sizes = {s["SubnetId"]: s for s in result.stack.client("ec2").describe_subnets()["Subnets"]}
    ip_limits = {
        subnet: ipaddress.ip_network(subnet_sizes[subnet]["CidrBlock"]).num_addresses - 5 - options.ip_reserve
        for subnet in set(subnet_of.values())
    }
    breaches = [
        f"{dim}: peak {peak[dim]} > budget {budgets[dim]}"
        for dim in budgets
        if peak[dim] > budgets[dim] + 1e-9
    ]
    breaches += [
        f"subnet {s}: peak {peak_ips[s]} IPs > {ip_limits[s]}"
        for s in ip_limits
        if peak_ips[s] > ip_limits[s]
    ]
    typed = [s.snapshot() for s in snapshots]
    breaches += [f"snapshot {s.tick_id}: used above budget" for s in typed if s.over_budget()]

    waits = [
        (r.launched_at - r.submitted_at).total_seconds() / 60
        for r in requests
        if r.launched_at and r.submitted_at
    ]
    dpu_hours: defaultdict[str, float] = defaultdict(float)
    for run in runs:
        dpu_hours[run.job_name] += float(run.dpu_seconds or 0) / 3600
    return {
        "requests": {"total": len(requests), "by_status": dict(Counter(r.status for r in requests))},
        "runs": {
            "total": len(runs),
            "by_state": dict(Counter(r.state for r in runs)),
            "enriched": sum(1 for r in runs if r.enriched),
            "errors": {r.run_id: r.error_message for r in runs if r.state in ("FAILED", "TIMEOUT")},
        },
        "peak_use": {
            "account_runs": {"peak": peak["account_runs"], "budget": budgets["account_runs"]},
            "dpus": {"peak": peak["dpus"], "budget": budgets["dpus"]},
            "subnet_ips": {s: {"peak": peak_ips[s], "limit": ip_limits[s]} for s in sorted(ip_limits)},
        },
        "quota_breaches": breaches,
        "wait_minutes": {
            "p50": percentile(waits, 50),
            "p90": percentile(waits, 90),
            "p99": percentile(waits, 99),
        },
        "dpu_hours_by_job": {job: round(hours, 3) for job, hours in sorted(dpu_hours.items())},
        "scheduler_executions": result.executions,
        "snapshots": len(snapshots),
        "dlq_messages": result.dlq_depth,
        "simulated_minutes": result.samples[-1].minute if result.samples else 0,
        "wall_seconds": round(result.wall_seconds, 1),
        "timeline": [
            {
                "at": s.taken_at.isoformat(),
                # Use once the tick's launches are counted (a snapshot is taken before them).
                "runs_used": s.account_runs.used + s.launches,
                "runs_budget": s.account_runs.budget,
                "dpus_used": s.dpus.budget - s.dpus.after_launches,
                "dpus_budget": s.dpus.budget,
                "free_ips": {k: v.free_ips for k, v in s.subnets.items()},
                "pending": s.pending,
            }
            for s in typed
        ],
    }


def plot_timeline(report: dict[str, Any], ip_reserve: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = report["timeline"]
    times = [datetime.fromisoformat(p["at"]) for p in points]
    start = times[0] if times else None
    minutes = [(t - start).total_seconds() / 60 for t in times] if start else []
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    axes[0].step(
        minutes,
        [p["runs_used"] for p in points],
        where="post",
        label="active runs + claims, after the tick's launches",
    )
    axes[0].step(
        minutes, [p["runs_budget"] for p in points], where="post", linestyle="--", color="red", label="budget"
    )
    axes[0].set_ylabel("concurrent runs")
    axes[1].step(minutes, [p["dpus_used"] for p in points], where="post", label="DPUs in use")
    axes[1].step(
        minutes, [p["dpus_budget"] for p in points], where="post", linestyle="--", color="red", label="budget"
    )
    axes[1].set_ylabel("DPUs")
    subnets = sorted({s for p in points for s in p["free_ips"]})
    for subnet in subnets:
        axes[2].step(
            minutes, [p["free_ips"].get(subnet) for p in points], where="post", label=f"{subnet} free IPs"
        )
    axes[2].axhline(ip_reserve, linestyle="--", color="red", label="reserve")
    axes[2].set_ylabel("free IPs")
    axes[2].set_xlabel("simulated minutes (one capacity snapshot per scheduler tick)")
    for ax in axes:
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("Glue Audit Framework demo: use against limits, from the ledger's capacity snapshots")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"Glue Audit Framework demo: {options.requests} requests over {len(simulation.JOBS)} Glue jobs, "
        f"account budget {int(options.max_concurrent_runs * options.quota_fraction)} runs / "
        f"{options.max_dpus * options.quota_fraction:.0f} DPUs, subnets {dict(options.subnet_cidrs)}, "
        f"IP reserve {options.ip_reserve}, seed {options.seed}"
    )
    progress = Progress(options)
    with Emulator() as emulator, LambdaDispatcher(NAMES).installed() as dispatcher:
        print(f"embedded AWS emulator on {emulator.endpoint}; state machine from the real ASL template")
        result = simulation.run(options, NAMES, dispatcher, on_tick=progress)
        progress.close()
        report = audit_report(result)
    (OUT / "report.json").write_text(json.dumps(report, indent=2, default=str))
    plot_timeline(report, options.ip_reserve, OUT / "timeline.png")
    print_summary(report)
    print(f"report: {OUT / 'report.json'}   timeline: {OUT / 'timeline.png'}")
    return 0 if not report["quota_breaches"] and report["dlq_messages"] == 0 else 1


def print_summary(report: dict[str, Any]) -> None:
    print("\nAudit, read back from the ledger")
    print(f"  requests: {report['requests']['by_status']}")
    print(
        f"  runs:     {report['runs']['by_state']}  (enriched {report['runs']['enriched']}/{report['runs']['total']})"
    )
    peak = report["peak_use"]
    print(
        f"  peak concurrent runs {peak['account_runs']['peak']:.0f} / budget {peak['account_runs']['budget']}"
    )
    print(f"  peak DPUs            {peak['dpus']['peak']:.1f} / budget {peak['dpus']['budget']:.1f}")
    for subnet, use in peak["subnet_ips"].items():
        print(f"  peak IPs in {subnet}: {use['peak']} / {use['limit']} usable above the reserve")
    print(f"  quota breaches: {len(report['quota_breaches'])}")
    waits = report["wait_minutes"]
    print(
        f"  wait before launch (simulated minutes): p50 {waits['p50']}  p90 {waits['p90']}  p99 {waits['p99']}"
    )
    print(f"  DPU-hours by job: {report['dpu_hours_by_job']}")
    print(
        f"  scheduler executions {report['scheduler_executions']}, DLQ messages {report['dlq_messages']}, "
        f"{report['simulated_minutes']} simulated minutes in {report['wall_seconds']} s"
    )


if __name__ == "__main__":
    sys.exit(main())
