"""A tick's Glue cost follows activity: the jobs with activity every tick, the idle managed jobs in
round-robin slices with a stated bound, parallel reads under a client-side rate limit (issue 23)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glue_audit.aws import estate
from glue_audit.tick import coverage

T0 = datetime(2026, 1, 5, tzinfo=UTC)


@settings(max_examples=40, deadline=None)
@given(
    managed=st.integers(1, 1200),
    started=st.integers(0, 86_400),
    offset=st.integers(0, 299),
    job=st.integers(0, 1199),
)
def test_an_outside_run_on_an_idle_job_is_seen_within_the_stated_bound(
    managed: int, started: int, offset: int, job: int
) -> None:
    """Scheduled ticks every 5 minutes (at any offset): whenever an outside run starts on an idle
    job, a tick reads that job within ``unseen_bound_seconds``."""
    names = [f"job-{i:04d}" for i in range(managed)]
    target = names[job % managed]
    bound = coverage.unseen_bound_seconds(managed)
    start = T0 + timedelta(seconds=started)
    first_tick = start + timedelta(seconds=(offset - started) % 300)
    tick = first_tick
    while target not in coverage.jobs_to_read([], names, tick):
        tick += timedelta(seconds=300)
        assert tick - start <= timedelta(seconds=bound), "unseen past the stated bound"
    assert tick - start <= timedelta(seconds=bound)


def test_a_steady_tick_of_1000_jobs_5_percent_active_reads_at_most_100_jobs() -> None:
    names = [f"job-{i:04d}" for i in range(1000)]
    active = names[::20]
    for minutes in range(0, 200, 5):
        read = coverage.jobs_to_read(active, names, T0 + timedelta(minutes=minutes))
        assert set(active) <= read and len(read) <= 100
    assert coverage.unseen_bound_seconds(1000) == 100 * 60
    # A small estate is read whole every tick, as before.
    assert coverage.jobs_to_read([], names[:30], T0) == frozenset(names[:30])


class CountingGlue:
    """GetJobRuns that takes 20 ms and records when each call starts."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.lock = threading.Lock()
        self.threads: set[str] = set()

    def get_paginator(self, name: str) -> Any:
        glue = self

        class Paginator:
            def paginate(self, JobName: str, PaginationConfig: dict[str, Any]) -> Any:
                with glue.lock:
                    glue.starts.append(time.monotonic())
                    glue.threads.add(threading.current_thread().name)
                time.sleep(0.02)
                yield {"JobRuns": [{"Id": "jr_1", "JobName": JobName, "JobRunState": "RUNNING"}]}

        return Paginator()


def test_reads_run_in_parallel_and_never_faster_than_the_rate_limit() -> None:
    glue = CountingGlue()
    names = [f"job-{i}" for i in range(30)]
    views = estate.read_runs_of_jobs(glue, names, readers=8, limiter=estate.RateLimiter(50.0))
    assert sorted(views) == sorted(names) and all(v.readable and len(v.active) == 1 for v in views.values())
    assert len(glue.threads) > 1, "one reader only"
    starts = sorted(glue.starts)
    # 50 a second: call k starts no sooner than k / 50 s after the first (a little clock slack).
    assert all(at - starts[0] >= k / 50 - 0.005 for k, at in enumerate(starts))


def test_the_rate_limiter_spaces_calls_on_its_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = estate.RateLimiter(10.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        limiter.acquire()
    assert now[0] == 0.4  # two at once (the burst), then one every 100 ms
