"""Benchmark of a steady tick's Glue reads at 1, 10, 100 and 1,000 managed jobs, 5% of them active.

Run: ``.venv/bin/python -m scripts.bench.tick``. Not a test: it prints figures (and returns them
for ``make bench``'s results.json).

What is timed is the Glue part of a tick as ``tick.orchestrator`` runs it: the jobs to read
(``tick.coverage.jobs_to_read``: the active jobs and this period's round-robin slice of the idle
ones), their runs (``aws.estate.read_runs_of_jobs``: GetJobRuns in parallel under the client-side
rate limit) and their definitions (``aws.estate.load_jobs``: BatchGetJobs). Glue is a fake that
takes 50 ms per call; in the throttling run it is also a token bucket of 10 calls a second (burst
10), as AWS rate limits are, and answers ThrottlingException when empty. The ledger and EC2 parts
of the tick are not in these figures.

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
from datetime import UTC, datetime
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


class FakeGlue:
    """GetJobRuns (one page, one finished run) and BatchGetJobs, each ``CALL_SECONDS`` long."""

    def __init__(self, rate: float | None = None, burst: int = 10) -> None:
        self.calls = 0
        self.throttled = 0
        self._lock = threading.Lock()
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()

    def _call(self, operation: str) -> None:
        with self._lock:
            self.calls += 1
            if self._rate is not None:
                now = time.monotonic()
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


def steady_tick(jobs: int, glue: FakeGlue) -> tuple[int, float, int]:
    managed = [f"job-{i:04d}" for i in range(jobs)]
    active = managed[:: int(1 / ACTIVE_SHARE)][: max(1, round(jobs * ACTIVE_SHARE))]
    started = time.perf_counter()
    watched = coverage.jobs_to_read(active, managed, NOW)
    estate.read_runs_of_jobs(glue, watched)
    estate.load_jobs(glue, watched)
    return glue.calls, time.perf_counter() - started, glue.throttled


def figures(repeats: int = 3) -> dict[str, float]:
    results: dict[str, float] = {}
    for jobs in SIZES:
        runs = [steady_tick(jobs, FakeGlue()) for _ in range(repeats)]
        results[f"tick.jobs.{jobs}.glue_calls"] = runs[0][0]
        results[f"tick.jobs.{jobs}.seconds"] = round(statistics.median(r[1] for r in runs), 3)
        refreshes = [tag_refresh(jobs) for _ in range(repeats)]
        results[f"tick.jobs.{jobs}.tag_calls_per_refresh"] = refreshes[0][0]
        results[f"tick.jobs.{jobs}.tag_refresh_seconds"] = round(
            statistics.median(r[1] for r in refreshes), 3
        )
    results["tick.jobs.1000.tag_calls_per_refresh_before"] = 1000  # one GetTags a managed job
    _, seconds, throttled = steady_tick(1000, FakeGlue(rate=10.0))
    results["tick.jobs.1000.throttled"] = throttled
    results["tick.jobs.1000.seconds_at_10_per_second"] = round(seconds, 3)
    results["tick.jobs.1000.unseen_bound_s"] = coverage.unseen_bound_seconds(1000)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = figures(args.repeats)
    print(f"steady tick, {ACTIVE_SHARE:.0%} of jobs active, {CALL_SECONDS * 1000:.0f} ms per Glue call, "
          f"{estate.GLUE_READERS} readers, client-side limit {estate.GLUE_READS_PER_SECOND:.0f}/s")  # fmt: skip
    print(
        f"{'jobs':>6} {'glue calls':>10} {'seconds (median)':>17} {'tag calls/refresh':>18} {'refresh s':>10}"
    )
    for jobs in SIZES:
        print(
            f"{jobs:>6} {results[f'tick.jobs.{jobs}.glue_calls']:>10.0f} {results[f'tick.jobs.{jobs}.seconds']:>17.2f}"
            f" {results[f'tick.jobs.{jobs}.tag_calls_per_refresh']:>18.0f}"
            f" {results[f'tick.jobs.{jobs}.tag_refresh_seconds']:>10.2f}"
        )
    print(f"tags of 1,000 jobs, one refresh (every {TAG_REFRESH_MINUTES} min): "
          f"{results['tick.jobs.1000.tag_calls_per_refresh_before']:.0f} GetTags calls before, "
          f"{results['tick.jobs.1000.tag_calls_per_refresh']:.0f} GetResources calls now")  # fmt: skip
    print(f"1,000 jobs, Glue limited to 10 calls/s: {results['tick.jobs.1000.throttled']:.0f} throttled calls, "
          f"{results['tick.jobs.1000.seconds_at_10_per_second']:.2f} s")  # fmt: skip
    print(f"an outside run on an idle job is seen within {results['tick.jobs.1000.unseen_bound_s'] / 60:.0f} min "
          "(1,000 managed jobs)")  # fmt: skip
    calls, seconds = results["tick.jobs.1000.glue_calls"], results["tick.jobs.1000.seconds"]
    print(f"goal <= {GOALS['glue_calls']} calls per steady tick at 1,000 jobs: {calls:.0f} "
          f"({'met' if calls <= GOALS['glue_calls'] else 'NOT met'}); <= {GOALS['seconds']:.0f} s: {seconds:.2f} s "
          f"({'met' if seconds <= GOALS['seconds'] else 'NOT met'}); 0 throttled: "
          f"{'met' if results['tick.jobs.1000.throttled'] == 0 else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
