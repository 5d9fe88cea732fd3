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
from typing import Any, NoReturn

from glue_audit.aws.declarations import SCHEDULE_TAG
from glue_audit.aws.observability import logger
from glue_audit.config.resources import ResourceNames
from glue_audit.domain.budget import amount_budget, check_fraction, check_positive, count_budget
from glue_audit.domain.schedule_expressions import from_tag
from glue_audit.domain.worker_types import run_size
from glue_audit.ledger.models import LedgerItem, RequestItem, RunItem
from scripts.engine import simulation
from scripts.engine.emulator import Emulator, LambdaDispatcher

NAMES = ResourceNames("glue-audit-demo")
# Handlers read settings at cold start; the scenario hands them its own before the first tick.
os.environ.setdefault("LEDGER_TABLE", NAMES.ledger_table)
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))  # Logger read its level at import
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

OUT = Path("build/demo")


class DemoArgumentParser(argparse.ArgumentParser):
    """Bad input ends in one line on stderr and exit 2 (no usage block, no traceback)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"demo: error: {message}\n")


AWS_RESERVED_IPS = 5  # network, VPC router, DNS, future use, broadcast
VPC_CIDR = ipaddress.ip_network("10.20.0.0/16")  # the demo estate's VPC (scripts/engine/scenario.py)


def subnet_cidr(flag: str, value: str) -> ipaddress.IPv4Network:
    """A subnet the demo can create: an IPv4 CIDR block in the VPC, /16 to /28 as AWS allows."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"{flag} {value!r} is not a CIDR block like 10.20.1.0/26") from None
    if not isinstance(network, ipaddress.IPv4Network) or not network.subnet_of(VPC_CIDR):
        raise ValueError(f"{flag} {value} is not inside the demo VPC {VPC_CIDR}")
    if not 16 <= network.prefixlen <= 28:
        raise ValueError(
            f"{flag} {value} is a /{network.prefixlen}: AWS subnets are /16 to /28 "
            f"(a /28 has 16 addresses, {16 - AWS_RESERVED_IPS} usable)"
        )
    return network


def check_options(options: simulation.Options) -> None:
    """Refuse, before anything starts, a scenario that could launch nothing."""
    if options.max_concurrent_runs < 1:
        raise ValueError(f"--max-runs must be at least 1, got {options.max_concurrent_runs}")
    runs_budget = count_budget(options.max_concurrent_runs, options.quota_fraction)
    if runs_budget < 1:
        raise ValueError(
            f"--max-runs {options.max_concurrent_runs} x --fraction {options.quota_fraction} "
            "leaves a budget of 0 concurrent runs"
        )
    sizes = {spec.name: run_size(spec.worker_type, spec.workers, None) for spec in simulation.JOBS}
    smallest = min(size.dpus for size in sizes.values())
    dpu_budget = amount_budget(options.max_dpus, options.quota_fraction)
    if dpu_budget < smallest:
        raise ValueError(
            f"--max-dpus {options.max_dpus:g} x --fraction {options.quota_fraction:g} = {dpu_budget:g} DPUs, "
            f"less than the smallest job's {smallest:g}"
        )
    if options.ip_reserve < 0:
        raise ValueError(f"--ip-reserve must be 0 or more, got {options.ip_reserve}")
    networks = {label: ipaddress.ip_network(cidr) for label, cidr in options.subnet_cidrs}
    (a, net_a), (b, net_b) = networks.items()
    if net_a.overlaps(net_b):
        raise ValueError(f"--subnet-{a} {net_a} and --subnet-{b} {net_b} overlap")
    for label, network in networks.items():
        need = max(sizes[spec.name].ips for spec in simulation.JOBS if spec.subnet == label)
        usable = network.num_addresses - AWS_RESERVED_IPS
        if usable - options.ip_reserve < need:
            raise ValueError(
                f"--ip-reserve {options.ip_reserve} leaves {max(usable - options.ip_reserve, 0)} launchable IPs "
                f"in subnet {label} ({network}: {usable} usable), fewer than the {need} that one run of its "
                "biggest job takes"
            )


def parse_args(argv: list[str] | None) -> simulation.Options:
    defaults = simulation.Options()
    parser = DemoArgumentParser(
        prog="demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
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
        parser.error(f"--requests must be at least 1, got {args.requests}")
    try:
        check_fraction(args.fraction, "--fraction")
        check_positive(args.max_dpus, "--max-dpus")
        cidrs = (
            ("a", str(subnet_cidr("--subnet-a", args.subnet_a))),
            ("b", str(subnet_cidr("--subnet-b", args.subnet_b))),
        )
        options = replace(
            defaults,
            requests=args.requests,
            seed=args.seed,
            max_concurrent_runs=args.max_runs,
            max_dpus=args.max_dpus,
            quota_fraction=args.fraction,
            ip_reserve=args.ip_reserve,
            subnet_cidrs=cidrs,
        )
        check_options(options)
    except ValueError as error:
        parser.error(str(error))
    return options


PROGRESS_WIDTH = 100


def progress_line(s: simulation.TickSample, runs_budget: int, dpu_budget: float) -> str:
    """One status line of at most 100 characters; subnets by their label (a, b)."""
    ips = " ".join(f"{label}:{free}" for label, free in sorted(s.free_ips_by_label().items()))
    line = (
        f"t+{s.minute:3d}m  runs {s.active_runs:2d}/{runs_budget}  DPUs {s.dpus:5.1f}/{dpu_budget:.0f}  "
        f"free IPs {ips}  pending {s.pending:3d}  launched {s.launched_total:3d}  "
        f"done {s.finished_total:3d}  ticks {s.executions}"
    )
    if len(line) > PROGRESS_WIDTH:  # very large figures: drop the double spaces before cutting
        line = " ".join(line.split())
    return line[:PROGRESS_WIDTH]


class Progress:
    """One refreshing status line on a terminal, a line every 10 simulated minutes otherwise."""

    def __init__(self, options: simulation.Options) -> None:
        self.tty = sys.stdout.isatty()
        self.runs_budget = count_budget(options.max_concurrent_runs, options.quota_fraction)
        self.dpu_budget = amount_budget(options.max_dpus, options.quota_fraction)

    def __call__(self, s: simulation.TickSample) -> None:
        line = progress_line(s, self.runs_budget, self.dpu_budget)
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


def peak_concurrency(runs: list[RunItem]) -> int:
    """Most runs of ``runs`` active at once (started_on -> completed_on; ends before starts)."""
    edges = sorted(
        (moment, sign)
        for run in runs
        for moment, sign in ((run.started_on or run.launched_at, 1), (run.completed_on, -1))
        if moment is not None
    )
    now = peak = 0
    for _, sign in edges:
        now += sign
        peak = max(peak, now)
    return peak


def chain_report(runs: list[RunItem]) -> dict[str, Any]:
    """The seed's chain as the ledger recorded it: which Output runs each Input success started."""
    upstream_spec, downstream_spec = simulation.CHAIN
    inputs = sorted((r for r in runs if r.job_name == upstream_spec.name), key=lambda r: r.history_sk or "")
    outputs = sorted(
        (r for r in runs if r.job_name == downstream_spec.name), key=lambda r: r.history_sk or ""
    )
    succeeded = {r.run_id for r in inputs if r.state == "SUCCEEDED"}
    return {
        "upstream": upstream_spec.name,
        "downstream": downstream_spec.name,
        "schedule": from_tag(upstream_spec.tags[SCHEDULE_TAG]).expression,
        "downstream_max_concurrent_runs": downstream_spec.max_concurrent_runs,
        "upstream_runs": [
            {
                "run_id": r.run_id,
                "state": r.state,
                "scheduled_for": r.scheduled_for,
                "started_on": r.started_on,
            }
            for r in inputs
        ],
        "downstream_runs": [
            {
                "run_id": r.run_id,
                "state": r.state,
                "started_by": r.upstream_run_id,
                "started_on": r.started_on,
            }
            for r in outputs
        ],
        "upstream_successes": len(succeeded),
        "downstream_started_by_upstream_successes": sum(1 for r in outputs if r.upstream_run_id in succeeded),
        "downstream_runs_not_started_by_a_success": sum(
            1 for r in outputs if r.upstream_run_id not in succeeded
        ),
        "downstream_peak_concurrent_runs": peak_concurrency(outputs),
    }


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
        "account_runs": count_budget(options.max_concurrent_runs, options.quota_fraction),
        "dpus": amount_budget(options.max_dpus, options.quota_fraction),
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
        "subnet_labels": {subnet_id: label for label, subnet_id in result.estate.subnets.items()},
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
        "chain": chain_report(runs),
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
    fig, axes = plt.subplots(3, 1, figsize=(12, 9), sharex=True)
    axes[0].step(
        minutes,
        [p["runs_used"] for p in points],
        where="post",
        label="runs + claims\n(after the tick's launches)",
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
    labels = report.get("subnet_labels", {})
    subnets = sorted({s for p in points for s in p["free_ips"]}, key=lambda s: (labels.get(s, s), s))
    for subnet in subnets:
        name = f"subnet {labels[subnet]}" if subnet in labels else subnet
        axes[2].step(
            minutes,
            [p["free_ips"].get(subnet, float("nan")) for p in points],
            where="post",
            label=f"{name} free IPs",
        )
    axes[2].axhline(ip_reserve, linestyle="--", color="red", label="reserve")
    axes[2].set_ylabel("free IPs")
    axes[2].set_xlabel("simulated minutes (one capacity snapshot per scheduler tick)")
    for ax in axes:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)
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
        f"account budget {count_budget(options.max_concurrent_runs, options.quota_fraction)} runs / "
        f"{amount_budget(options.max_dpus, options.quota_fraction):.0f} DPUs, "
        f"subnets {', '.join(f'{label} {cidr}' for label, cidr in options.subnet_cidrs)}, "
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


def counts(by_key: dict[str, int]) -> str:
    """``{'LAUNCHED': 58, 'FAILED': 2}`` as ``LAUNCHED 58, FAILED 2``, largest first."""
    if not by_key:
        return "none"
    return ", ".join(
        f"{key} {value}" for key, value in sorted(by_key.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def print_chain(chain: dict[str, Any]) -> None:
    """The seed's chain: the upstream's scheduled runs, and the downstream runs their successes started."""
    print(
        f"  chain: {chain['upstream']} on {chain['schedule']}: {len(chain['upstream_runs'])} runs, "
        f"{chain['upstream_successes']} SUCCEEDED"
    )
    print(
        f"    {chain['downstream']} runs started by {chain['upstream']} successes: "
        f"{chain['downstream_started_by_upstream_successes']} of {chain['upstream_successes']}, "
        f"at most {chain['downstream_peak_concurrent_runs']} at once "
        f"(MaxConcurrentRuns {chain['downstream_max_concurrent_runs']})"
    )
    for run in chain["downstream_runs"]:
        upstream_run = run["started_by"]
        started_by = f"{chain['upstream']} {upstream_run[:13]}…" if upstream_run else "a submitted request"
        print(f"    {chain['downstream']} {run['run_id'][:13]}… {run['state']:<9} started by {started_by}")


def print_summary(report: dict[str, Any]) -> None:
    labels = report.get("subnet_labels", {})
    print("\nAudit, read back from the ledger")
    print(f"  requests: {report['requests']['total']} ({counts(report['requests']['by_status'])})")
    runs = report["runs"]
    print(
        f"  runs:     {runs['total']} ({counts(runs['by_state'])}), enriched {runs['enriched']}/{runs['total']}"
    )
    peak = report["peak_use"]
    print(
        f"  peak concurrent runs {peak['account_runs']['peak']:.0f} / budget {peak['account_runs']['budget']}"
    )
    print(f"  peak DPUs            {peak['dpus']['peak']:.1f} / budget {peak['dpus']['budget']:.1f}")
    for subnet, use in sorted(peak["subnet_ips"].items(), key=lambda kv: (labels.get(kv[0], kv[0]), kv[0])):
        name = f"subnet {labels[subnet]}" if subnet in labels else subnet
        print(f"  peak IPs in {name}: {use['peak']} / {use['limit']} usable above the reserve")
    print(f"  quota breaches: {len(report['quota_breaches'])}")
    for breach in report["quota_breaches"]:
        print(f"    {breach}")
    waits = report["wait_minutes"]
    print(
        f"  wait before launch (simulated minutes): p50 {minutes(waits['p50'])}  "
        f"p90 {minutes(waits['p90'])}  p99 {minutes(waits['p99'])}"
    )
    hours = report["dpu_hours_by_job"]
    print(
        "  DPU-hours by job: " + (", ".join(f"{job} {value:.2f}" for job, value in hours.items()) or "none")
    )
    chain = report.get("chain")
    if chain:
        print_chain(chain)
    print(
        f"  scheduler executions {report['scheduler_executions']}, DLQ messages {report['dlq_messages']}, "
        f"{report['simulated_minutes']} simulated minutes in {report['wall_seconds']} s"
    )


if __name__ == "__main__":
    sys.exit(main())
