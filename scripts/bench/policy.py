"""Benchmark of the scheduling policy: median CPU time of ``plan`` at 1k, 10k and 100k pending requests.

Run: ``.venv/bin/python scripts/bench/policy.py [--repeats N]``. Not a test: it prints figures.

Inputs are seeded, hence identical on every run: 500 active runs (about 85% of the account's run and
DPU budgets), 2,000 jobs, 8 teams with budgets, 24 VPC subnets (a quarter of the requests run outside
a VPC), priorities 0..100 and submission times spread over the last two hours, so the plan launches
some requests, defers the rest for every reason and holds a reservation (the slow path).

Times are CPU seconds of this process (``time.process_time``), so that other work on a shared
machine does not count. ``plan`` works out the deferrals past the point where the plan freezes when
``Plan.deferrals`` is first read; the "+ read" column times that read as well. Goals (issue 23):
10k pending x 500 active <= 10 ms, 100k <= 100 ms.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from glue_audit.domain.policy import Limits, PendingRequest, Plan, PolicyConfig, Usage, plan
from glue_audit.domain.worker_types import run_size

SEED = 20240611
NOW = datetime(2024, 6, 11, 12, 0, tzinfo=UTC)
ACTIVE_RUNS = 500
JOBS = [f"etl-{i:04d}" for i in range(2000)]
TEAMS = [f"team-{i}" for i in range(8)]
SUBNETS = [f"subnet-{i:03x}" for i in range(24)]
WORKER_TYPES = ["G.025X", "G.1X", "G.1X", "G.2X", "G.2X", "G.4X", "G.8X"]
SIZES = (100, 1_000, 10_000, 100_000)
DEFAULT_REPEATS = {100: 41, 1_000: 21, 10_000: 11, 100_000: 5}


def _random_request(rng: random.Random, index: int) -> PendingRequest:
    size = run_size(rng.choice(WORKER_TYPES), rng.choice((2, 2, 5, 10, 10, 20, 40)), None)
    return PendingRequest(
        request_id=f"req-{index:07d}",
        job_name=rng.choice(JOBS),
        priority=rng.randint(0, 100),
        submitted_at=NOW - timedelta(seconds=rng.randint(0, 7200)),
        dpus=size.dpus,
        ips=size.ips,
        subnet_id=rng.choice(SUBNETS) if rng.random() < 0.75 else None,
        team=rng.choice(TEAMS) if rng.random() < 0.9 else None,
    )


def build_inputs(n_pending: int) -> tuple[Limits, Usage, list[PendingRequest]]:
    rng = random.Random(SEED)
    job_runs: Counter[str] = Counter()
    team_dpus: defaultdict[str, float] = defaultdict(float)
    subnet_used: Counter[str] = Counter()
    dpus = 0.0
    for _ in range(ACTIVE_RUNS):
        active = _random_request(rng, 0)
        job_runs[active.job_name] += 1
        dpus += active.dpus
        if active.team is not None:
            team_dpus[active.team] += active.dpus
        if active.subnet_id is not None:
            subnet_used[active.subnet_id] += active.ips
    limits = Limits(
        max_concurrent_runs=int(ACTIVE_RUNS / 0.85),
        max_dpus=round(dpus / 0.85),
        job_max_concurrent_runs={job: rng.choice((1, 1, 2, 3, 5)) for job in JOBS},
        subnet_free_ips={s: max(0, 4091 - 8 * subnet_used[s] - rng.randint(0, 400)) for s in SUBNETS},
        ip_reserve=8,
        team_dpu_budgets={team: round(dpus / len(TEAMS) * 1.3) for team in TEAMS},
        subnet_total_ips={s: 4091 for s in SUBNETS},
    )
    usage = Usage(runs=ACTIVE_RUNS, dpus=dpus, job_runs=dict(job_runs), team_dpus=dict(team_dpus))
    pending = [_random_request(rng, i) for i in range(n_pending)]
    return limits, usage, pending


def time_plan(
    n_pending: int, repeats: int, collect: bool = True, read_deferrals: bool = False
) -> tuple[float, Plan]:
    limits, usage, pending = build_inputs(n_pending)
    config = PolicyConfig()
    timings = []
    result = plan(limits, usage, pending, NOW, config)  # warm-up
    for _ in range(repeats):
        gc.collect()
        if not collect:
            gc.disable()
        start = time.process_time()
        result = plan(limits, usage, pending, NOW, config)
        if read_deferrals:
            len(result.deferrals)
        timings.append(time.process_time() - start)
        gc.enable()
    return statistics.median(timings) * 1000.0, result


GOALS_MS = {10_000: 10.0, 100_000: 100.0}


def figures(repeats: int | None = None) -> dict[str, float]:
    """``policy.pending_<n>_ms`` for 10k and 100k (median CPU ms), for ``make bench``'s results.json."""
    return {
        f"policy.pending_{n}_ms": round(time_plan(n, repeats or DEFAULT_REPEATS[n])[0], 2) for n in GOALS_MS
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="repeats per size (default: 41..5)")
    parser.add_argument("--no-gc", action="store_true", help="disable the garbage collector while timing")
    args = parser.parse_args(argv)

    gc_state = "disabled" if args.no_gc else "enabled"
    print(
        f"plan() with {ACTIVE_RUNS} active runs; median of repeats; gc {gc_state}; Python {sys.version.split()[0]}"
    )
    header = (
        f"{'pending':>8} {'repeats':>7} {'median ms':>10} {'+ read':>7} {'us/req':>7} {'ratio':>6} {'n log n':>8}"
        f"  {'launched':>8} {'deferred':>8}  reservation"
    )
    print(header)
    print("-" * len(header))
    previous: tuple[int, float] | None = None
    for n in SIZES:
        repeats = args.repeats or DEFAULT_REPEATS[n]
        median_ms, result = time_plan(n, repeats, collect=not args.no_gc)
        read_ms, _ = time_plan(n, repeats, collect=not args.no_gc, read_deferrals=True)
        if previous is None:
            ratio = expected = "-"
        else:
            n0, t0 = previous
            ratio = f"{median_ms / t0:.1f}"
            expected = f"{(n * math.log(n)) / (n0 * math.log(n0)):.1f}"
        print(
            f"{n:>8,} {repeats:>7} {median_ms:>10.2f} {read_ms:>7.1f} {median_ms * 1000 / n:>7.2f} {ratio:>6} {expected:>8}"
            f"  {len(result.launches):>8,} {len(result.deferrals):>8,}  {result.reservation or '-'}"
        )
        previous = (n, median_ms)
    print("ratio: t(n) / t(previous n); n log n: the ratio an O(n log n) algorithm would show.")
    for n, goal in GOALS_MS.items():
        ms = time_plan(n, args.repeats or DEFAULT_REPEATS[n])[0]
        print(f"goal: {n:,} pending <= {goal:.0f} ms: {ms:.1f} ms ({'met' if ms <= goal else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
