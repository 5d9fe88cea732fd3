"""``make bench``'s record: the issue-23 figures in ``build/bench/results.json``.

Run: ``.venv/bin/python -m scripts.bench.results [--million]``. Keys: ``tick.jobs.<N>.glue_calls``
and ``tick.jobs.<N>.seconds`` (a steady tick: a later tick of a slice period; N = 1, 10, 100, 1000;
5% active; 50 ms per Glue call), ``tick.jobs.<N>.first_tick_glue_calls`` and
``tick.jobs.<N>.first_tick_seconds`` (the period's first tick, which reads the idle slice),
``tick.jobs.1000.throttled`` and ``tick.jobs.1000.throttled_back_to_back`` (Glue a 10 calls/s bucket
of 10 tokens), ``tick.jobs.<N>.tag_calls_per_refresh`` and
``tick.jobs.<N>.tag_refresh_seconds`` (one refresh of the jobs' tags: GetResources pages of 100),
``tick.jobs.1000.tag_calls_per_refresh_before`` (one GetTags a job, before issue 23 item 1), ``policy.pending_10000_ms`` and
``policy.pending_100000_ms`` (median CPU ms, 500 active runs), ``simulate.requests_100000_cpu_s``
(CPU seconds to simulate 100,000 requests event-driven) and, with ``--million`` (longer than the
two minutes a shared machine allows by default), ``simulate.requests_1000000_cpu_s`` and
``simulate.requests_1000000_maxrss_mb`` (the process's peak resident memory after it, in MiB).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

from glue_audit.simulate import simulate
from glue_audit.simulate.model import Workload
from glue_audit.simulate.presets import estate, standard
from scripts.bench import policy as policy_bench
from scripts.bench import tick as tick_bench

OUT = Path("build/bench/results.json")


def simulate_cpu_seconds(requests: int, seed: int = 1) -> float:
    """CPU seconds to simulate ``requests`` (standard days back to back) under event-driven."""
    day = standard(seed)
    days = max(1, -(-requests // len(day.requests)))
    big = standard(seed, days=days)
    workload = Workload(big.name, big.start, big.requests[:requests])
    started = time.process_time()
    simulate(estate(), workload, "event-driven", seed)
    return round(time.process_time() - started, 2)


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also time 1,000,000 simulated requests")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    results: dict[str, float | str] = {}
    results |= tick_bench.figures()
    results |= policy_bench.figures()
    results["simulate.requests_100000_cpu_s"] = simulate_cpu_seconds(100_000)
    if args.million:
        results["simulate.requests_1000000_cpu_s"] = simulate_cpu_seconds(1_000_000)
        results["simulate.requests_1000000_maxrss_mb"] = peak_rss_mb()
    results["python"] = platform.python_version()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    for key, value in sorted(results.items()):
        print(f"{key}: {value}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
