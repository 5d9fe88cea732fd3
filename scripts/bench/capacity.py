"""Benchmark: a scheduler tick over a ledger with 100,000 historical runs reads only what it needs,
and the Glue API calls a tick makes to see what Glue runs, against the number of managed jobs.

Part 1 fills the emulator's ledger with finished runs (history), some active runs and pending
requests, runs one capacity tick, and prints the DynamoDB items the tick read against the items a
Scan of the same table reads. Part 2 builds N jobs, each with one run going and one request
pending, and prints the Glue calls of one tick per operation.

    .venv/bin/python -m scripts.bench.capacity [--history 100000] [--active 50] [--pending 200]
        [--jobs 1,10,50,100]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from glue_audit.config.resources import ResourceNames
from glue_audit.config.settings import Settings
from glue_audit.flows import launch as launcher
from glue_audit.flows import submission as requests
from glue_audit.ledger.models import LedgerItem, RunItem
from glue_audit.tick import orchestrator as capacity
from scripts.engine.api_calls import ITEMS_READ, recording_api_calls
from scripts.engine.emulator import Emulator
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import JobSpec, build_estate
from scripts.engine.stack import provision

NAMES = ResourceNames("glue-audit-bench")
os.environ.setdefault("LEDGER_TABLE", NAMES.ledger_table)


def finished_run(job: str, i: int, at: datetime) -> RunItem:
    run = RunItem(
        *RunItem.key(job, f"jr_hist_{i:08d}"),
        job_name=job,
        run_id=f"jr_hist_{i:08d}",
        state="SUCCEEDED",
        state_rank=4,
        state_at=at,
        started_on=at,
        completed_on=at + timedelta(minutes=5),
        analyzed_at=at + timedelta(minutes=20),
        dpus=4.0,
        dpu_seconds=1200.0,
        enriched=True,
    )
    run.set_history_time(at)
    run.mark_active(False)
    return run


def active_run(job: str, i: int, at: datetime) -> RunItem:
    run = RunItem(
        *RunItem.key(job, f"jr_live_{i:05d}"),
        job_name=job,
        run_id=f"jr_live_{i:05d}",
        state="RUNNING",
        state_rank=2,
        state_at=at,
        updated_at=at,
        dpus=4.0,
        ips=6,
    )
    run.set_history_time(at)
    run.mark_active(True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--pending", type=int, default=200)
    parser.add_argument("--jobs", default="1,10,50,100", help="job counts for the Glue-calls figures")
    args = parser.parse_args()
    now = datetime.now(UTC)
    settings = Settings(
        ledger_table=NAMES.ledger_table,
        fallback_max_concurrent_runs=200,
        fallback_max_job_concurrent_runs=1000,
        fallback_max_dpus=2000,
    )

    with Emulator() as emulator:
        stack = provision(NAMES)
        build_estate(stack, {"a": "10.20.0.0/20"}, [JobSpec("history-job", "G.1X", 4, "a", 1000)])
        fill_start = time.perf_counter()
        with RunItem.batch_write() as batch:
            for i in range(args.history):
                batch.save(finished_run("history-job", i, now - timedelta(days=30, minutes=i)))
            for i in range(args.active):
                batch.save(active_run("history-job", i, now))
        defaults = requests.JobDefaults(priority=50, team=None)
        pending = requests.build_requests(
            "history-job", [{"--n": str(i)} for i in range(args.pending)], defaults=defaults, now=now
        )
        requests.write_requests(pending)
        fill = time.perf_counter() - fill_start

        clients = capacity.Clients(stack.client("glue"), stack.client("ec2"), stack.client("service-quotas"))
        with recording_api_calls() as tick_calls:
            start = time.perf_counter()
            result = capacity.run_tick(settings, clients, now, "bench-tick")
            tick_seconds = time.perf_counter() - start
        with recording_api_calls() as scan_calls:
            scanned = sum(1 for _ in LedgerItem.scan())
        table_items = stack.client("dynamodb").describe_table(TableName=NAMES.ledger_table)["Table"][
            "ItemCount"
        ]
        glue_figures = []
        for count in (int(n) for n in args.jobs.split(",") if n.strip()):
            emulator.reset()
            glue_figures.append((count, *glue_calls_per_tick(count, settings, now)))

    tick_items = tick_calls[ITEMS_READ]
    scan_items = scan_calls[ITEMS_READ]
    print(
        f"ledger: {args.history:,} historical runs, {args.active} active runs, {args.pending} pending requests "
        f"(filled in {fill:.0f} s; DescribeTable ItemCount {table_items:,})"
    )
    print(
        f"tick: {tick_seconds * 1e3:.0f} ms, planned {len(result.launches)} launches, "
        f"DynamoDB calls: { {k: v for k, v in sorted(tick_calls.items()) if k.startswith('dynamodb:')} }"
    )
    print(f"items read by the tick: {tick_items:,}")
    print(f"items read by a Scan of the table: {scan_items:,} ({scanned:,} items returned)")
    print(f"deferred: {result.snapshot.deferred}")
    print(f"ratio scan/tick: {scan_items / max(1, tick_items):,.0f}x")
    print()
    print("Glue API calls per tick (usage as Glue sees it: GetJobRuns per managed job, first page)")
    print(
        f"{'jobs':>6} {'GetJobRuns':>11} {'BatchGetJobs':>13} {'other glue':>11} {'all glue':>9} {'tick ms':>8}"
    )
    for count, calls, seconds in glue_figures:
        other = sum(v for k, v in calls.items() if k.startswith("glue:")) - calls["glue:GetJobRuns"]
        other -= calls["glue:BatchGetJobs"]
        total = sum(v for k, v in calls.items() if k.startswith("glue:"))
        print(
            f"{count:>6} {calls['glue:GetJobRuns']:>11} {calls['glue:BatchGetJobs']:>13} {other:>11} "
            f"{total:>9} {seconds * 1e3:>8.0f}"
        )


def glue_calls_per_tick(jobs: int, settings: Settings, now: datetime) -> tuple[Counter[str], float]:
    """One tick over ``jobs`` jobs that each have a run going (started by the framework, recorded)
    and a request waiting: the Glue calls it makes, by operation, and its duration."""
    stack = provision(NAMES)
    specs = [JobSpec(f"job-{i:04d}", "G.1X", 2, "a", 5) for i in range(jobs)]
    build_estate(stack, {"a": "10.20.0.0/20"}, specs)
    clients = capacity.Clients(stack.client("glue"), stack.client("ec2"), stack.client("service-quotas"))
    defaults = requests.JobDefaults(priority=50, team=None)
    for spec in specs:
        requests.write_requests(
            requests.build_requests(spec.name, [{"--n": "1"}], defaults=defaults, now=now)
        )
    with GlueDriver(stack):  # runs stay STARTING: every job has an active run
        first = capacity.run_tick(settings, clients, now, "bench-first")
        for planned in first.launches:
            launcher.launch(planned, clients.glue, now, settings.max_launch_attempts)
        for spec in specs:
            requests.write_requests(
                requests.build_requests(spec.name, [{"--n": "2"}], defaults=defaults, now=now)
            )
        with recording_api_calls() as calls:
            start = time.perf_counter()
            capacity.run_tick(settings, clients, now + timedelta(minutes=1), "bench-second")
            seconds = time.perf_counter() - start
    return calls, seconds


if __name__ == "__main__":
    main()
