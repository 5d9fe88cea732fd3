"""A tick's Glue cost follows activity: the jobs with activity every tick, the idle managed jobs in
round-robin slices with a stated bound, parallel reads under a client-side rate limit (issue 23)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from glue_audit.aws import estate
from glue_audit.aws.glue import RunDetails
from glue_audit.domain.states import RunState
from glue_audit.tick import coverage

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def views_of(
    jobs: frozenset[str], unreadable: frozenset[str] = frozenset(), running: frozenset[str] = frozenset()
) -> dict[str, estate.JobRuns]:
    """What a tick's GetJobRuns reads found: ``running`` jobs with an active run, ``unreadable`` refused."""
    views = {}
    for job in jobs:
        if job in unreadable:
            views[job] = estate.JobRuns(
                job, complete=False, readable=False, calls=1, problem="ThrottlingException"
            )
        else:
            active = (RunDetails(job, f"jr_{job}", RunState.RUNNING),) if job in running else ()
            views[job] = estate.JobRuns(job, active=active, calls=1)
    return views


@settings(max_examples=80, deadline=None)
@given(
    managed=st.integers(1, 1200),
    started=st.integers(0, 86_400),
    offset=st.integers(0, 299),
    job=st.integers(0, 1199),
    event_ticks=st.lists(st.tuples(st.integers(0, 7 * 3600), st.booleans()), max_size=40),
)
# The worst case: an event-driven tick reads the period's slice a second before the run starts,
# and the scheduled ticks come at the end of their periods.
@example(managed=200, started=2, offset=299, job=0, event_ticks=[(301, False)])
def test_an_outside_run_on_an_idle_job_is_seen_within_the_stated_bound(
    managed: int, started: int, offset: int, job: int, event_ticks: list[tuple[int, bool]]
) -> None:
    """Scheduled ticks every 5 minutes (at any offset), and event-driven ticks at any time whose
    slice reads may fail: whenever an outside run starts on an idle job, a
    tick reads that job whole within ``unseen_bound_seconds``, though each period's slice is read
    once."""
    names = [f"job-{i:04d}" for i in range(managed)]
    target = names[job % managed]
    bound = coverage.unseen_bound_seconds(managed)
    start = T0 + timedelta(seconds=started)
    first_period = T0 + timedelta(seconds=started // 300 * 300 - 300)  # the ticks before the start count too
    ticks = sorted(
        [(first_period + timedelta(seconds=300 * k + offset), False) for k in range(bound // 300 + 3)]
        + [(first_period + timedelta(seconds=at), fails) for at, fails in event_ticks]
    )
    read: coverage.SliceRead | None = None
    for now, fails in ticks:
        cover = coverage.plan([], names, now, read)
        if now >= start and target in cover.watched and not fails:
            assert now - start <= timedelta(seconds=bound), "unseen past the stated bound"
            return
        read = cover.recorded(views_of(cover.watched, cover.watched if fails else frozenset())) or read
    raise AssertionError("never read")


def test_the_slice_is_read_once_a_period_and_the_next_period_reads_the_next_slice() -> None:
    names = [f"job-{i:04d}" for i in range(1000)]
    active = names[::20]
    first = coverage.plan(active, names, T0)
    assert len(first.idle) == 50 and first.watched == set(active) | first.idle
    recorded = first.recorded(views_of(first.watched))
    assert recorded is not None

    for seconds in (30, 150, 299):  # event-driven ticks of the same period: the active jobs only
        later = coverage.plan(active, names, T0 + timedelta(seconds=seconds), recorded)
        assert later.watched == set(active) and not later.idle
        assert later.recorded(views_of(later.watched)) is None  # nothing new to record

    following = coverage.plan(active, names, T0 + timedelta(seconds=300), recorded)
    assert len(following.idle) == 50 and not following.idle & first.idle
    assert following.watched == set(active) | following.idle


def test_a_slice_read_that_failed_is_not_recorded_and_is_read_again() -> None:
    names = [f"job-{i:04d}" for i in range(200)]
    first = coverage.plan([], names, T0)
    one_refused = views_of(first.watched, unreadable=frozenset(sorted(first.idle)[:1]))
    assert first.recorded(one_refused) is None
    partial = {job: view for job, view in views_of(first.watched).items() if job != min(first.idle)}
    assert first.recorded(partial) is None  # a job of the slice not read at all

    again = coverage.plan([], names, T0 + timedelta(seconds=30), first.recorded(one_refused))
    assert again.idle == first.idle  # the next tick of the period reads it again
    recorded = again.recorded(views_of(again.watched))
    assert recorded is not None
    assert coverage.plan([], names, T0 + timedelta(seconds=60), recorded).watched == frozenset()


def test_a_slice_job_found_running_is_read_by_the_later_ticks_of_the_period() -> None:
    """A run counted from the slice keeps counting all period, as when every tick re-read the slice."""
    names = [f"job-{i:04d}" for i in range(200)]
    first = coverage.plan(["job-0199"], names, T0)
    outside = min(first.idle)
    recorded = first.recorded(views_of(first.watched, running=frozenset({outside})))
    assert recorded is not None and recorded.running == {outside}
    assert coverage.plan(["job-0199"], names, T0 + timedelta(seconds=30), recorded).watched == {
        "job-0199",
        outside,
    }
    restored = coverage.SliceRead.from_item(recorded.to_item())  # as the lease item stores it
    assert restored == recorded
    assert coverage.SliceRead.from_item(None) is None


def test_a_change_of_the_managed_jobs_mid_period_reads_the_new_slice() -> None:
    names = [f"job-{i:04d}" for i in range(200)]
    first = coverage.plan([], names, T0)
    recorded = first.recorded(views_of(first.watched))
    changed = [*names, "job-new"]  # one more job: the slices shift
    cover = coverage.plan([], changed, T0 + timedelta(seconds=30), recorded)
    assert cover.idle == coverage.idle_slice(changed, T0) and cover.idle


def test_a_steady_tick_of_1000_jobs_5_percent_active_reads_at_most_100_jobs() -> None:
    names = [f"job-{i:04d}" for i in range(1000)]
    active = names[::20]
    for minutes in range(0, 200, 5):
        read = coverage.plan(active, names, T0 + timedelta(minutes=minutes)).watched
        assert set(active) <= read and len(read) <= 100
    assert coverage.unseen_bound_seconds(1000) == 105 * 60
    # A small estate is one slice: read whole on the period's first tick, as before.
    assert coverage.plan([], names[:30], T0).watched == frozenset(names[:30])


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


def throttled_by_glue(burst: int, gaps: list[float]) -> int:
    """Calls asked for ``gaps`` seconds apart, let go by a limiter of GLUE_READS_PER_SECOND and
    ``burst``: how many a server bucket of GLUE_READS_PER_SECOND and GLUE_READ_BURST tokens (full at
    the start, as the bench's Glue) would throttle."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = estate.RateLimiter(estate.GLUE_READS_PER_SECOND, burst, clock=lambda: now[0], sleep=sleep)
    tokens, last, throttled = float(estate.GLUE_READ_BURST), 0.0, 0
    for gap in gaps:
        now[0] += gap
        limiter.acquire()
        tokens = min(float(estate.GLUE_READ_BURST), tokens + (now[0] - last) * estate.GLUE_READS_PER_SECOND)
        last = now[0]
        if tokens < 1 - 1e-9:
            throttled += 1
        else:
            tokens -= 1
    return throttled


@settings(max_examples=80, deadline=None)
@given(gaps=st.lists(st.floats(0.0, 0.5), min_size=1, max_size=120))
def test_the_ticks_limiter_never_sends_more_than_glues_bucket_takes(gaps: list[float]) -> None:
    """Calls asked for at any times (a tick's readers): what the tick's limiter lets go is never
    throttled by a server bucket of the same rate and burst."""
    assert throttled_by_glue(estate.GLUE_READ_BURST, gaps) == 0


def test_a_client_burst_larger_than_glues_bucket_is_throttled() -> None:
    """The control for the test above: one token more than Glue's bucket, asked for at once."""
    assert throttled_by_glue(estate.GLUE_READ_BURST + 1, [0.0] * 30) == 1
    assert throttled_by_glue(estate.GLUE_READ_BURST, [0.0] * 30) == 0
