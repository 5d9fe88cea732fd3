"""Benchmark: schedules and on-success chains on the emulator.

Part 1: the tick time schedule evaluation adds with N scheduled jobs (median of ``--ticks`` ticks,
tags cached as in a warm Lambda), against the same jobs without a schedule tag; the requests
submitted per instant; and the cold read of the tags (GetResources pages: one per 100 tagged jobs).
Part 2: ``--events`` Glue events (duplicated and shuffled) about ``--runs`` upstream runs, a share
of them FAILED, through the real ``ingest.ingest``; requests submitted per upstream run.

    .venv/bin/python -m scripts.bench.chains [--jobs 100] [--ticks 15] [--events 1000] [--runs 100]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from glue_audit.aws.declarations import ON_SUCCESS_TAG, SCHEDULE_TAG, TagReader, declaration
from glue_audit.aws.observability import logger
from glue_audit.config.resources import ResourceNames
from glue_audit.config.settings import Settings
from glue_audit.domain.states import RunState
from glue_audit.flows import chains, ingest
from glue_audit.flows import submission as requests
from glue_audit.tick import orchestrator as capacity
from scripts.engine.emulator import Emulator
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import JobSpec, build_estate
from scripts.engine.stack import Stack, provision

NAMES = ResourceNames("glue-audit-bench")
os.environ.setdefault("LEDGER_TABLE", NAMES.ledger_table)
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))  # Logger read its level at import

SCHEDULES = ("rate(30 minutes)", "rate(1 hour)", "cron(0/15 * * * ? *)", "cron(0 9-17 ? * MON-FRI *)")


def settings(jobs: list[str]) -> Settings:
    return Settings(ledger_table=NAMES.ledger_table, fallback_max_dpus=10_000.0, managed_jobs=frozenset(jobs))


def tick_times(stack: Stack, jobs: list[str], start: datetime, ticks: int) -> tuple[list[float], int, int]:
    reader = TagReader(stack.client("resourcegroupstaggingapi"))
    clients = capacity.Clients(
        stack.client("glue"), stack.client("ec2"), stack.client("service-quotas"), reader
    )
    times, submitted = [], 0
    cold_calls = 0
    for index in range(ticks + 1):
        now = start + timedelta(minutes=index)
        began = time.perf_counter()
        result = capacity.run_tick(settings(jobs), clients, now, f"bench-{now.timestamp()}")
        elapsed = time.perf_counter() - began
        if index == 0:
            cold_calls = reader.calls  # the first tick reads every job's tags
        else:
            times.append(elapsed)
        submitted += result.stats.scheduled_requests
    return times, submitted, cold_calls


def part1(emulator: Emulator, jobs: int, ticks: int) -> None:
    start = datetime(2026, 12, 1, 11, 58, tzinfo=UTC)
    figures = {}
    for scheduled in (True, False):
        emulator.reset()
        stack = provision(NAMES)
        specs = [
            JobSpec(
                f"job-{i:03d}", "G.1X", 2, "a", tags={SCHEDULE_TAG: SCHEDULES[i % 4]} if scheduled else {}
            )
            for i in range(jobs)
        ]
        build_estate(stack, {"a": "10.20.0.0/20"}, specs)
        times, submitted, cold = tick_times(stack, [s.name for s in specs], start, ticks)
        if scheduled:
            per_instant = Counter(
                (r.job_name, r.scheduled_for) for r in requests.list_requests(since=start - timedelta(days=1))
            )
            copies = sorted(set(per_instant.values()))
        figures[scheduled] = (statistics.median(times), submitted, cold)
    with_s, without_s = figures[True], figures[False]
    print(
        f"Part 1: {jobs} managed jobs, {ticks} ticks a minute apart from {start:%H:%M} (tags cached, warm Lambda)"
    )
    print(f"  median tick with schedules    {with_s[0] * 1000:7.1f} ms")
    print(f"  median tick without schedules {without_s[0] * 1000:7.1f} ms")
    print(f"  added by schedule evaluation  {(with_s[0] - without_s[0]) * 1000:7.1f} ms (median difference)")
    print(
        f"  cold tag read: {with_s[2]} GetResources calls on the first tick; scheduled requests submitted: {with_s[1]}"
    )
    print(f"  requests per (job, instant): {copies} over {len(per_instant)} instants")
    # The evaluation alone, in a minute with no instant due (no ledger write): pure computation.
    decls = {
        f"job-{i:03d}": declaration(f"job-{i:03d}", {SCHEDULE_TAG: SCHEDULES[i % 4]}) for i in range(jobs)
    }
    quiet = datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    samples = []
    for _ in range(200):
        began = time.perf_counter()
        outcome = chains.evaluate_schedules(decls, quiet, quiet + timedelta(minutes=1))
        samples.append(time.perf_counter() - began)
        assert not outcome.submitted
    print(
        f"  evaluation alone, nothing due: median {statistics.median(samples) * 1000:.2f} ms for {jobs} jobs"
    )


def part2(emulator: Emulator, events: int, runs: int, seed: int) -> None:
    emulator.reset()
    stack = provision(NAMES)
    build_estate(
        stack,
        {"a": "10.20.0.0/20"},
        [
            JobSpec("input", "G.1X", 2, "a", max_concurrent_runs=runs),
            JobSpec("output", "G.1X", 2, "a", tags={ON_SUCCESS_TAG: "input"}),
        ],
    )
    rng = random.Random(seed)
    glue = stack.client("glue")
    now = datetime.now(UTC).replace(microsecond=0)
    with GlueDriver(stack) as driver:
        for _ in range(runs):
            glue.start_job_run(JobName="input")
        driven = driver.discover(now - timedelta(hours=1))
        for run in driven:
            driver.finish(
                run,
                "SUCCEEDED" if rng.random() < 0.8 else "FAILED",
                now - timedelta(minutes=30),
                publish_event=False,
            )
    bodies = [driven[i % len(driven)] for i in range(events)]
    rng.shuffle(bodies)
    reader = TagReader(stack.client("resourcegroupstaggingapi"))
    managed = frozenset({"input", "output"})
    began = time.perf_counter()
    for run in bodies:
        event = ingest.GlueJobEvent(
            "e",
            "Glue Job State Change",
            run.job_name,
            run.run_id,
            RunState(run.state),
            now - timedelta(minutes=30),
        )
        ingest.ingest(event, glue, lambda: reader.declarations(managed, now))
    elapsed = time.perf_counter() - began
    made = Counter(r.upstream_run_id for r in requests.list_requests(job_name="output"))
    succeeded = {r.run_id for r in driven if r.state == "SUCCEEDED"}
    failed = {r.run_id for r in driven if r.state == "FAILED"}
    print(f"Part 2: {events} events ({events / runs:.0f} copies each, shuffled) about {runs} upstream runs")
    print(f"  upstream runs SUCCEEDED {len(succeeded)}, FAILED {len(failed)}")
    print(
        f"  downstream requests: {sum(made.values())}; per SUCCEEDED run: {sorted(set(made[r] for r in succeeded))}; "
        f"for FAILED runs: {sum(made[r] for r in failed)}"
    )
    print(f"  {events / elapsed:.0f} events/s through ingest.ingest on the emulator ({elapsed:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=15)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    with Emulator() as emulator:
        part1(emulator, args.jobs, args.ticks)
        part2(emulator, args.events, args.runs, args.seed)


if __name__ == "__main__":
    main()
