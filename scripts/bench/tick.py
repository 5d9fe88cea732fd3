"""Benchmark of a tick's Glue reads at 1, 10, 100 and 1,000 managed jobs, 5% of them active.

Run: ``.venv/bin/python -m scripts.bench.tick``. Not a test: it prints figures (and returns them
for ``make bench``'s results.json).

What is timed is the Glue part of a tick as ``tick.orchestrator`` runs it (``tick.coverage.plan``
and ``tick.coverage.read``): the jobs to read (the active jobs, and the period's round-robin slice
of the idle ones unless a tick of the period has read it), their definitions (BatchGetJobs) and
their runs (GetJobRuns in parallel under the client-side rate limit). Two ticks of one slice
period are measured: the period's first tick, which reads the slice and records it, and a later
tick of the period (the "steady tick": ``tick.jobs.<N>.glue_calls`` and ``.seconds``), which reads
only the active jobs. Glue is a fake that takes 50 ms per call; in the throttling run it is also a
token bucket of 10 calls a second (burst 10), as AWS rate limits are, and answers
ThrottlingException when empty. The later tick starts 30 s after the first started (the clocks of
the fake and of the tick's rate limiter skip the pause); the throttling run is also made with no
pause at all (``throttled_back_to_back``), the harshest case. The tick's limiter is kept across the
two ticks, as the capacity handler keeps it. The ledger and EC2 parts of the tick are not in these
figures.

Also counted: the calls of one refresh of the jobs' tags (``aws.declarations.TagReader``, every
``TAG_REFRESH``), on a fake Resource Groups Tagging API whose GetResources answers
``ResourcesPerPage`` (at most 100) tagged jobs a page. Before issue 23 item 1 the reader made one
Glue GetTags a managed job: N calls a refresh (``tag_calls_per_refresh_before``).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from glue_audit.aws import estate
from glue_audit.aws.declarations import SCHEDULE_TAG, TAG_REFRESH, TagReader
from glue_audit.tick import coverage

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CALL_SECONDS = 0.05
ACTIVE_SHARE = 0.05
SIZES = (1, 10, 100, 1000)
TAG_REFRESH_MINUTES = int(TAG_REFRESH.total_seconds() // 60)
GOALS = {"glue_calls": 100, "seconds": 5.0}
LATER = timedelta(seconds=30)  # an event-driven tick of the same slice period


class Clock:
    """Monotonic time that can skip ahead: the pause between two ticks without waiting for it."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped

    def skip_to(self, at: float) -> None:
        self.skipped += max(0.0, at - self())


class FakeGlue:
    """GetJobRuns (one page, one finished run) and BatchGetJobs, each ``CALL_SECONDS`` long."""

    def __init__(self, rate: float | None = None, burst: int = 10, clock: Clock | None = None) -> None:
        self.calls = 0
        self.throttled = 0
        self._lock = threading.Lock()
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self.clock = clock or Clock()
        self._last = self.clock()

    def _call(self, operation: str) -> None:
        with self._lock:
            self.calls += 1
            if self._rate is not None:
                now = self.clock()
                self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
                self._last = now
                if self._tokens < 1:
                    self.throttled += 1
                    raise ClientError(
                        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation
                    )
                self._tokens -= 1
        time.sleep(CALL_SECONDS)

    def get_paginator(self, name: str) -> Any:
        assert name == "get_job_runs"
        glue = self

        class Paginator:
            def paginate(self, JobName: str, PaginationConfig: dict[str, Any]) -> Iterator[dict[str, Any]]:
                glue._call("GetJobRuns")
                yield {"JobRuns": [{"Id": f"jr_{JobName}", "JobName": JobName, "JobRunState": "SUCCEEDED"}]}

        return Paginator()

    def batch_get_jobs(self, JobNames: list[str]) -> dict[str, Any]:
        self._call("BatchGetJobs")
        return {
            "Jobs": [
                {
                    "Name": n,
                    "WorkerType": "G.1X",
                    "NumberOfWorkers": 2,
                    "ExecutionProperty": {"MaxConcurrentRuns": 1},
                }
                for n in JobNames
            ]
        }


class FakeTagging:
    """GetResources over ``jobs`` tagged Glue jobs, ``ResourcesPerPage`` a page, ``CALL_SECONDS`` a call."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.calls = 0

    def get_paginator(self, name: str) -> Any:
        assert name == "get_resources"
        tagging = self

        class Paginator:
            def paginate(
                self, ResourceTypeFilters: list[str], ResourcesPerPage: int
            ) -> Iterator[dict[str, Any]]:
                assert ResourceTypeFilters == ["glue:job"] and 1 <= ResourcesPerPage <= 100
                for start in range(0, tagging.jobs, ResourcesPerPage):
                    tagging.calls += 1
                    time.sleep(CALL_SECONDS)
                    yield {
                        "ResourceTagMappingList": [
                            {
                                "ResourceARN": f"arn:aws:glue:us-east-1:123456789012:job/job-{i:04d}",
                                "Tags": [{"Key": SCHEDULE_TAG, "Value": "rate(1 hour)"}],
                            }
                            for i in range(start, min(start + ResourcesPerPage, tagging.jobs))
                        ]
                    }

        return Paginator()


def tag_refresh(jobs: int) -> tuple[int, float]:
    """The calls and seconds of one refresh of every managed job's declaration."""
    tagging = FakeTagging(jobs)
    managed = [f"job-{i:04d}" for i in range(jobs)]
    started = time.perf_counter()
    read = TagReader(tagging).read(managed, NOW)
    assert not read.unreadable and all(d.schedule is not None for d in read.declarations.values())
    return tagging.calls, time.perf_counter() - started


def one_tick(
    managed: list[str],
    active: list[str],
    glue: FakeGlue,
    limiter: estate.RateLimiter,
    read: coverage.SliceRead | None,
    now: datetime,
) -> tuple[int, float, coverage.SliceRead | None]:
    """One tick's Glue reads: its calls, its seconds, and the slice record it leaves on the lease."""
    calls = glue.calls
    started = time.perf_counter()
    cover = coverage.plan(active, managed, now, read)
    _, views = coverage.read(glue, cover, now, limiter)
    seconds = time.perf_counter() - started
    assert cover.watched >= set(active) and all(v.readable for v in views.values()) == (glue.throttled == 0)
    return glue.calls - calls, seconds, cover.recorded(views) or read


def period_ticks(jobs: int, glue: FakeGlue, pause: bool = True) -> tuple[int, float, int, float]:
    """The calls and seconds of a slice period's first tick, then of a tick ``LATER`` after it
    started (the clocks skip the pause; ``pause=False``: it starts as soon as the first ends)."""
    managed = [f"job-{i:04d}" for i in range(jobs)]
    active = managed[:: int(1 / ACTIVE_SHARE)][: max(1, round(jobs * ACTIVE_SHARE))]
    # Kept across the ticks, as the capacity handler keeps it; on the clock Glue's bucket uses.
    limiter = estate.RateLimiter(estate.GLUE_READS_PER_SECOND, estate.GLUE_READ_BURST, clock=glue.clock)
    started = glue.clock()
    first_calls, first_seconds, read = one_tick(managed, active, glue, limiter, None, NOW)
    if pause:
        glue.clock.skip_to(started + LATER.total_seconds())
    later_calls, later_seconds, _ = one_tick(managed, active, glue, limiter, read, NOW + LATER)
    return first_calls, first_seconds, later_calls, later_seconds


def figures(repeats: int = 3) -> dict[str, float]:
    results: dict[str, float] = {}
    for jobs in SIZES:
        runs = [period_ticks(jobs, FakeGlue()) for _ in range(repeats)]
        results[f"tick.jobs.{jobs}.first_tick_glue_calls"] = runs[0][0]
        results[f"tick.jobs.{jobs}.first_tick_seconds"] = round(statistics.median(r[1] for r in runs), 3)
        results[f"tick.jobs.{jobs}.glue_calls"] = runs[0][2]
        results[f"tick.jobs.{jobs}.seconds"] = round(statistics.median(r[3] for r in runs), 3)
        refreshes = [tag_refresh(jobs) for _ in range(repeats)]
        results[f"tick.jobs.{jobs}.tag_calls_per_refresh"] = refreshes[0][0]
        results[f"tick.jobs.{jobs}.tag_refresh_seconds"] = round(
            statistics.median(r[1] for r in refreshes), 3
        )
    results["tick.jobs.1000.tag_calls_per_refresh_before"] = 1000  # one GetTags a managed job
    throttling = FakeGlue(rate=10.0)
    _, first_seconds, _, seconds = period_ticks(1000, throttling)
    results["tick.jobs.1000.throttled"] = throttling.throttled  # both ticks
    results["tick.jobs.1000.first_tick_seconds_at_10_per_second"] = round(first_seconds, 3)
    results["tick.jobs.1000.seconds_at_10_per_second"] = round(seconds, 3)
    back_to_back = FakeGlue(rate=10.0)
    _, _, _, seconds = period_ticks(1000, back_to_back, pause=False)
    results["tick.jobs.1000.throttled_back_to_back"] = back_to_back.throttled
    results["tick.jobs.1000.seconds_back_to_back"] = round(seconds, 3)
    results["tick.jobs.1000.unseen_bound_s"] = coverage.unseen_bound_seconds(1000)
    return results


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = figures(args.repeats)
    print(f"{ACTIVE_SHARE:.0%} of jobs active, {CALL_SECONDS * 1000:.0f} ms per Glue call, "
          f"{estate.GLUE_READERS} readers, client-side limit {estate.GLUE_READS_PER_SECOND:.0f}/s "
          f"(burst {estate.GLUE_READ_BURST}); "
          f"a period's first tick reads the idle slice, a later tick (steady) does not")  # fmt: skip
    print(
        f"{'jobs':>6} {'first: calls':>12} {'s (median)':>10} {'later: calls':>12} {'s (median)':>10}"
        f" {'tag calls/refresh':>18} {'refresh s':>10}"
    )
    for jobs in SIZES:
        key = f"tick.jobs.{jobs}"
        print(
            f"{jobs:>6} {results[f'{key}.first_tick_glue_calls']:>12.0f} {results[f'{key}.first_tick_seconds']:>10.2f}"
            f" {results[f'{key}.glue_calls']:>12.0f} {results[f'{key}.seconds']:>10.2f}"
            f" {results[f'{key}.tag_calls_per_refresh']:>18.0f} {results[f'{key}.tag_refresh_seconds']:>10.2f}"
        )
    print(f"tags of 1,000 jobs, one refresh (every {TAG_REFRESH_MINUTES} min): "
          f"{results['tick.jobs.1000.tag_calls_per_refresh_before']:.0f} GetTags calls before, "
          f"{results['tick.jobs.1000.tag_calls_per_refresh']:.0f} GetResources calls now")  # fmt: skip
    throttled = results["tick.jobs.1000.throttled"]
    print(f"1,000 jobs, Glue a 10 calls/s bucket (burst 10), the later tick {LATER.total_seconds():.0f} s after "
          f"the first: {throttled:.0f} throttled calls; first tick "
          f"{results['tick.jobs.1000.first_tick_seconds_at_10_per_second']:.2f} s, "
          f"later tick {results['tick.jobs.1000.seconds_at_10_per_second']:.2f} s")  # fmt: skip
    print(f"  the later tick as soon as the first ends (no pause): "
          f"{results['tick.jobs.1000.throttled_back_to_back']:.0f} throttled calls, "
          f"{results['tick.jobs.1000.seconds_back_to_back']:.2f} s")  # fmt: skip
    print(f"an outside run on an idle job is seen within {results['tick.jobs.1000.unseen_bound_s'] / 60:.0f} min "
          "(1,000 managed jobs; CloudTrail's StartJobRun records usually notice it minutes after it starts)")  # fmt: skip
    calls, seconds = results["tick.jobs.1000.glue_calls"], results["tick.jobs.1000.seconds"]
    first_calls, first_seconds = (
        results["tick.jobs.1000.first_tick_glue_calls"],
        results["tick.jobs.1000.first_tick_seconds"],
    )
    throttled += results["tick.jobs.1000.throttled_back_to_back"]
    print(f"goals at 1,000 jobs, steady (later) tick: <= {GOALS['glue_calls']} calls: {calls:.0f} "
          f"({_met(calls <= GOALS['glue_calls'])}); <= {GOALS['seconds']:.0f} s: {seconds:.2f} s "
          f"({_met(seconds <= GOALS['seconds'])}); 0 throttled: {throttled:.0f} ({_met(throttled == 0)})")  # fmt: skip
    print(f"first tick of a period (once per {coverage.SLICE_PERIOD_SECONDS // 60} min): <= {GOALS['glue_calls']} "
          f"calls: {first_calls:.0f} ({_met(first_calls <= GOALS['glue_calls'])}); <= {GOALS['seconds']:.0f} s: "
          f"{first_seconds:.2f} s ({_met(first_seconds <= GOALS['seconds'])})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
